"""The condition language: parsing, precedence, three-valued evaluation, and safety."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import pytest

from casework.policy import conditions
from casework.policy.conditions import (
    And,
    Compare,
    ConditionError,
    In,
    Literal,
    Name,
    Not,
    Or,
    parse_condition,
)

FACTS: dict[str, Any] = {
    "confidence": 0.5,
    "case": {
        "sensitive": True,
        "amount": 60000,
        "tags": [],
        "address": {"zip": "8000"},
        "beløb": 10,
    },
    "result": {"kle": "32.18.04", "ok": False},
}


def test_parse_builds_the_expected_tree_and_names() -> None:
    condition = parse_condition("case.amount > 50000 or result.kle in ['32.18.04', \"27.24.00\"]")
    assert condition.node == Or(
        (
            Compare(">", Name("case.amount"), Literal(50000)),
            In(Name("result.kle"), ("32.18.04", "27.24.00")),
        )
    )
    assert condition.names == {"case.amount", "result.kle"}
    assert condition.text == "case.amount > 50000 or result.kle in ['32.18.04', \"27.24.00\"]"


def test_precedence_not_binds_tighter_than_and_than_or() -> None:
    node = parse_condition("not case.a and case.b or case.c").node
    assert node == Or((And((Not(Name("case.a")), Name("case.b"))), Name("case.c")))
    node = parse_condition("case.a or case.b and case.c").node
    assert node == Or((Name("case.a"), And((Name("case.b"), Name("case.c")))))
    node = parse_condition("(case.a or case.b) and not (confidence < 1)").node
    assert node == And(
        (Or((Name("case.a"), Name("case.b"))), Not(Compare("<", Name("confidence"), Literal(1))))
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("case.x == true", True),
        ("case.x == True", True),
        ("case.x == false", False),
        ("case.x == False", False),
        ("case.x == 3", 3),
        ("case.x == -3", -3),
        ("case.x == 2.5", 2.5),
        ("case.x == 50_000", 50000),
        ('case.x == "it\'s"', "it's"),
        ("case.x == 'say \"hi\"'", 'say "hi"'),
    ],
)
def test_literals(text: str, value: Any) -> None:
    node = parse_condition(text).node
    assert isinstance(node, Compare)
    assert node.right == Literal(value)
    assert type(node.right.value) is type(value)


def test_null_literals_parse() -> None:
    assert parse_condition("case.x == null").node == Compare("==", Name("case.x"), Literal(None))
    assert parse_condition("case.x != None").node == Compare("!=", Name("case.x"), Literal(None))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("confidence < 0.6", True),
        ("confidence >= 0.5", True),
        ("confidence > 0.5", False),
        ("confidence <= 0.4", False),
        ("case.sensitive", True),
        ("not case.sensitive", False),
        ("case.tags", False),
        ("result.ok", False),
        ("case.amount > 50000", True),
        ("case.amount == 60000.0", True),
        ("case.amount != 60000", False),
        ("case.address.zip == '8000'", True),
        ("result.kle in ['32.18.04', \"27.24.00\"]", True),
        ("result.kle not in ['32.18.04']", False),
        ("result.kle in []", False),
        ("case.amount in [1, 60000,]", True),
        ("case.sensitive == true", True),
        ("result.kle > '30'", True),
        ("(confidence < 0.6) == true", True),
        ("true", True),
        ("case.amount > 100 and confidence < 0.6 and not result.ok", True),
        ("case.beløb > 5", True),
        ("case.gebyr > 5", None),
    ],
)
def test_evaluate(text: str, expected: bool | None) -> None:
    assert parse_condition(text).evaluate(FACTS) is expected


@pytest.mark.parametrize(
    "text",
    [
        "case.missing",
        "case.missing > 3",
        "case.address.zip.deeper",
        "result.missing == 'x'",
        "case.missing in [1, 2]",
        "case.missing not in [1, 2]",
        "not case.missing",
        "case.x == null",
        "null",
        "case.amount > '5'",  # number vs text: incomparable
        "result.kle == 32",
        "case.sensitive == 1",  # bool is not a number here
        "case.tags < 3",
        "case.address > 3",
        "case.address == case.address",  # mappings are not comparable values
        "result.kle in [1, 2]",
    ],
)
def test_missing_values_and_incomparable_types_are_unknown(text: str) -> None:
    assert parse_condition(text).evaluate(FACTS) is None


def test_confidence_none_is_unknown() -> None:
    condition = parse_condition("confidence < 0.6")
    assert condition.evaluate({"confidence": None, "case": {}, "result": {}}) is None
    assert condition.evaluate({}) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("case.yes and case.unknown", None),
        ("case.no and case.unknown", False),
        ("case.unknown and case.no", False),
        ("case.yes or case.unknown", True),
        ("case.unknown or case.yes", True),
        ("case.no or case.unknown", None),
        ("not case.unknown", None),
        ("case.yes and case.yes", True),
        ("case.no or case.no", False),
        ("case.unknown in [1] or case.yes", True),
        ("case.unknown in [1] and case.no", False),
    ],
)
def test_three_valued_logic(text: str, expected: bool | None) -> None:
    facts = {"case": {"yes": True, "no": False, "unknown": None}}
    assert parse_condition(text).evaluate(facts) is expected


@pytest.mark.parametrize(
    "facts",
    [None, [], "text", {"case": "not a mapping"}, {"case": [1, 2]}, {"case": {"amount": object()}}],
)
def test_evaluate_never_raises(facts: Any) -> None:
    assert parse_condition("case.amount > 3 or case.amount.x").evaluate(facts) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("confidence <", "cannot parse condition 'confidence <': expected a value at column 13"),
        ("", "cannot parse condition '': expected a value at column 1"),
        (
            "confidence < )",
            "cannot parse condition 'confidence < )': expected a value at column 14 (got ')')",
        ),
        (
            "(confidence < 1",
            "cannot parse condition '(confidence < 1': expected ')' at column 16",
        ),
        (
            "x > 1",
            "cannot parse condition 'x > 1': unknown name 'x' "
            "(use confidence, case.<field> or result.<field>)",
        ),
        (
            "__import__('os')",
            "cannot parse condition \"__import__('os')\": unknown name '__import__' "
            "(use confidence, case.<field> or result.<field>)",
        ),
        (
            "case.__class__ or open('x')",
            "cannot parse condition \"case.__class__ or open('x')\": unknown name 'open' "
            "(use confidence, case.<field> or result.<field>)",
        ),
        (
            "case.a = 1",
            "cannot parse condition 'case.a = 1': unexpected character '=' at column 8 "
            "(use == to compare)",
        ),
        (
            "case.a && case.b",
            "cannot parse condition 'case.a && case.b': unexpected character '&' at column 8 "
            "(use and)",
        ),
        (
            "case.a == 'x",
            'cannot parse condition "case.a == \'x": unterminated string at column 11',
        ),
        (
            "case.a in 'x'",
            "cannot parse condition \"case.a in 'x'\": expected a list like [1, 2] after 'in' "
            "at column 11 (got \"'x'\")",
        ),
        (
            "case.a in [case.b]",
            "cannot parse condition 'case.a in [case.b]': expected a literal value in the list "
            "at column 12 (got 'case.b')",
        ),
        (
            "case.a in [1 2]",
            "cannot parse condition 'case.a in [1 2]': expected ',' or ']' at column 14 (got '2')",
        ),
        (
            "case.a not 3",
            "cannot parse condition 'case.a not 3': expected 'in' after 'not' at column 12 "
            "(got '3')",
        ),
        (
            "case.a case.b",
            "cannot parse condition 'case.a case.b': unexpected 'case.b' at column 8",
        ),
        (
            "confidence < 1 < 2",
            "cannot parse condition 'confidence < 1 < 2': unexpected '<' at column 16",
        ),
        (
            "confidence.x > 1",
            "cannot parse condition 'confidence.x > 1': 'confidence' is a number and has no "
            "fields (got 'confidence.x')",
        ),
        (
            "case == 1",
            "cannot parse condition 'case == 1': 'case' needs a field, like case.<field> "
            "(column 1)",
        ),
        (
            "case. sensitive",
            "cannot parse condition 'case. sensitive': expected a field name after '.' at column 6",
        ),
        (
            "confidence < -'x'",
            "cannot parse condition \"confidence < -'x'\": expected a number after '-' "
            "at column 15 (got \"'x'\")",
        ),
        (
            "case.a; import os",
            "cannot parse condition 'case.a; import os': unexpected character ';' at column 7",
        ),
    ],
)
def test_parse_errors_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(ConditionError) as caught:
        parse_condition(text)
    assert str(caught.value) == message


def test_never_uses_eval_or_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("eval/exec/compile must not be used")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, forbidden)
    parse_condition.cache_clear()
    condition = parse_condition("not (case.a in [1, 'x', true] or confidence >= -0.5e1)")
    assert condition.evaluate({"case": {"a": 2}, "confidence": 0.1}) is False
    source = Path(conditions.__file__).read_text(encoding="utf-8")
    for word in ("eval(", "exec(", "literal_eval", "getattr(", "__import__("):
        assert word not in source
    assert source.count("compile(") == source.count("re.compile(") == 1


def test_conditions_are_parsed_once_and_immutable() -> None:
    first = parse_condition("confidence < 0.6")
    assert parse_condition("confidence < 0.6") is first
    with pytest.raises(AttributeError):
        first.text = "true"  # type: ignore[misc]
