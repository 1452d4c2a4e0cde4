"""A tiny, safe condition language for ``signoff_when``.

Policies are written by automation teams and read by legal reviewers, so conditions must be
plain and must never run code: this is a hand-written tokenizer and recursive-descent parser,
with no ``eval``, ``compile`` or attribute access. Evaluation only looks up keys in mappings.

Grammar (lowest precedence first)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := operand [("==" | "!=" | "<" | "<=" | ">" | ">=") operand
                           | "in" list | "not" "in" list]
    operand    := literal | name | "(" expr ")"
    list       := "[" [literal ("," literal)* [","]] "]"
    name       := "confidence" | "case" ("." field)+ | "result" ("." field)+

Evaluation is three-valued: a missing or null value, or a comparison of values of different
types, is *unknown* (``None``), and ``and``/``or`` follow Kleene logic. The routing engine
treats unknown as "ask a human", so missing facts never make a case autonomous.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from numbers import Real
from typing import Any

ROOT_NAMES = ("confidence", "case", "result")
_FIELD_ROOTS = ("case", "result")
_COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")
_LITERAL_WORDS: dict[str, Any] = {
    "true": True,
    "false": False,
    "null": None,
    "True": True,
    "False": False,
    "None": None,
}
_KEYWORDS = frozenset({"and", "or", "not", "in"})
_HINTS = {
    "=": " (use == to compare)",
    "&": " (use and)",
    "|": " (use or)",
    "!": " (use not, or != to compare)",
}

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<number>(?:\d(?:_?\d)*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<string>'[^']*'|"[^"]*")
    | (?P<name>[^\W\d]\w*(?:\.[^\W\d]\w*)*)
    | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|-)
    """,
    re.VERBOSE,
)


class ConditionError(ValueError):
    """A condition that cannot be parsed; the message says what was expected and where."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(f"cannot parse condition {_quote(text)}: {reason}")


def _quote(text: str) -> str:
    return f'"{text}"' if "'" in text and '"' not in text else f"'{text}'"


# --- tokens -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # number | string | name | op | keyword | literal | end
    text: str
    column: int  # 1-based
    value: Any = None


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            char = text[pos]
            if char in "'\"":
                raise ConditionError(text, f"unterminated string at column {pos + 1}")
            hint = _HINTS.get(char, "")
            raise ConditionError(text, f"unexpected character '{char}' at column {pos + 1}{hint}")
        kind = match.lastgroup or ""
        word = match.group()
        column = pos + 1
        pos = match.end()
        if kind == "space":
            continue
        if kind == "name" and pos < len(text) and text[pos] == ".":
            raise ConditionError(text, f"expected a field name after '.' at column {pos + 2}")
        if kind == "number":
            number = word.replace("_", "")
            is_int = not any(c in number for c in ".eE")
            tokens.append(_Token("literal", word, column, int(number) if is_int else float(number)))
        elif kind == "string":
            tokens.append(_Token("literal", word, column, word[1:-1]))
        elif kind == "name" and word in _LITERAL_WORDS:
            tokens.append(_Token("literal", word, column, _LITERAL_WORDS[word]))
        elif kind == "name" and word in _KEYWORDS:
            tokens.append(_Token("keyword", word, column))
        else:
            tokens.append(_Token(kind, word, column))
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


# --- syntax tree ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any


@dataclass(frozen=True, slots=True)
class Name:
    dotted: str  # e.g. "case.address.municipality"


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class In:
    operand: Node
    items: tuple[Any, ...]
    negated: bool = False


Node = Literal | Name | Not | And | Or | Compare | In


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.pos]

    def _advance(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def _at(self, kind: str, text: str | None = None) -> bool:
        token = self.current
        return token.kind == kind and (text is None or token.text == text)

    def _expected(self, what: str) -> ConditionError:
        token = self.current
        got = "" if token.kind == "end" else f" (got {_quote(token.text)})"
        return ConditionError(self.text, f"expected {what} at column {token.column}{got}")

    def parse(self) -> Node:
        node = self._or()
        if not self._at("end"):
            token = self.current
            raise ConditionError(
                self.text, f"unexpected {_quote(token.text)} at column {token.column}"
            )
        return node

    def _or(self) -> Node:
        operands = [self._and()]
        while self._at("keyword", "or"):
            self._advance()
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def _and(self) -> Node:
        operands = [self._not()]
        while self._at("keyword", "and"):
            self._advance()
            operands.append(self._not())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def _not(self) -> Node:
        if self._at("keyword", "not"):
            self._advance()
            return Not(self._not())
        return self._comparison()

    def _comparison(self) -> Node:
        left = self._operand()
        token = self.current
        if token.kind == "op" and token.text in _COMPARISONS:
            self._advance()
            return Compare(token.text, left, self._operand())
        if self._at("keyword", "in"):
            self._advance()
            return In(left, self._list())
        if self._at("keyword", "not"):
            self._advance()
            if not self._at("keyword", "in"):
                raise self._expected("'in' after 'not'")
            self._advance()
            return In(left, self._list(), negated=True)
        return left

    def _operand(self) -> Node:
        token = self.current
        if self._at("op", "("):
            self._advance()
            node = self._or()
            if not self._at("op", ")"):
                raise self._expected("')'")
            self._advance()
            return node
        if token.kind == "name":
            self._advance()
            return self._name(token)
        if token.kind == "literal" or self._at("op", "-"):
            return Literal(self._literal("a value"))
        raise self._expected("a value")

    def _literal(self, what: str) -> Any:
        if self._at("op", "-"):
            self._advance()
            token = self.current
            if token.kind != "literal" or isinstance(token.value, bool | str | None):
                raise self._expected("a number after '-'")
            self._advance()
            return -token.value
        if not self._at("literal"):
            raise self._expected(what)
        return self._advance().value

    def _list(self) -> tuple[Any, ...]:
        if not self._at("op", "["):
            raise self._expected("a list like [1, 2] after 'in'")
        self._advance()
        items: list[Any] = []
        while not self._at("op", "]"):
            items.append(self._literal("a literal value in the list"))
            if self._at("op", ","):
                self._advance()
            elif not self._at("op", "]"):
                raise self._expected("',' or ']'")
        self._advance()
        return tuple(items)

    def _name(self, token: _Token) -> Name:
        root, _, rest = token.text.partition(".")
        if root not in ROOT_NAMES:
            raise ConditionError(
                self.text,
                f"unknown name '{root}' (use confidence, case.<field> or result.<field>)",
            )
        if root == "confidence" and rest:
            raise ConditionError(
                self.text, f"'confidence' is a number and has no fields (got '{token.text}')"
            )
        if root in _FIELD_ROOTS and not rest:
            raise ConditionError(
                self.text, f"'{root}' needs a field, like {root}.<field> (column {token.column})"
            )
        return Name(token.text)


# --- evaluation -------------------------------------------------------------------------------

Facts = Mapping[str, Any]
_Eval = Callable[[Facts], Any]


_KINDS: dict[type, str] = {bool: "bool", int: "number", float: "number", str: "text"}


def _kind(value: Any) -> str:
    """Values of the same kind can be compared; anything else is unknown."""
    kind = _KINDS.get(type(value))
    if kind is not None:
        return kind
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Real | Decimal):
        return "number"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


def _truth(value: Any) -> bool | None:
    if value is None:
        return None
    if value is True or value is False:
        return value
    return bool(value)


_SCALARS = frozenset({"bool", "number", "text"})


def _equal(left: Any, right: Any) -> bool | None:
    if left is None or right is None:
        return None
    kind = _kind(left)
    if kind != _kind(right) or kind not in _SCALARS:
        return None
    return bool(left == right)


_ORDERINGS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _comparison(op: str) -> Callable[[Any, Any], bool | None]:
    """A three-valued comparison: unknown for null or for values of different kinds."""
    if op == "==":
        return _equal
    if op == "!=":

        def not_equal(left: Any, right: Any) -> bool | None:
            same = _equal(left, right)
            return None if same is None else not same

        return not_equal
    ordering = _ORDERINGS[op]

    def ordered(left: Any, right: Any) -> bool | None:
        if left is None or right is None:
            return None
        kind = _kind(left)
        if kind != _kind(right) or kind not in ("number", "text"):
            return None
        try:
            return bool(ordering(left, right))
        except TypeError:
            return None

    return ordered


def _member(value: Any, items: tuple[Any, ...]) -> bool | None:
    if value is None:
        return None
    unknown = False
    for item in items:
        same = _equal(value, item)
        if same:
            return True
        if same is None:
            unknown = True
    return None if unknown else False


def _lookup(dotted: str) -> _Eval:
    root, *parts = dotted.split(".")

    def get(facts: Facts) -> Any:
        value = facts.get(root)
        for part in parts:
            if type(value) is dict or isinstance(value, Mapping):
                value = value.get(part)
            else:
                return None
        return value

    return get


def _value(node: Node) -> _Eval:
    """Compile a node to a function returning its raw value (bool | None for logic nodes)."""
    if isinstance(node, Literal):
        constant = node.value
        return lambda facts: constant
    if isinstance(node, Name):
        return _lookup(node.dotted)
    return _truth_of(node)


def _truth_of(node: Node) -> _Eval:
    """Compile a node to a function returning True, False or None (unknown)."""
    if isinstance(node, Literal | Name):
        get = _value(node)
        return lambda facts: _truth(get(facts))
    if isinstance(node, Not):
        inner = _truth_of(node.operand)

        def negate(facts: Facts) -> bool | None:
            result = inner(facts)
            return None if result is None else not result

        return negate
    if isinstance(node, And):
        parts = tuple(_truth_of(operand) for operand in node.operands)

        def conjunction(facts: Facts) -> bool | None:
            unknown = False
            for part in parts:
                result = part(facts)
                if result is False:
                    return False
                if result is None:
                    unknown = True
            return None if unknown else True

        return conjunction
    if isinstance(node, Or):
        parts = tuple(_truth_of(operand) for operand in node.operands)

        def disjunction(facts: Facts) -> bool | None:
            unknown = False
            for part in parts:
                result = part(facts)
                if result is True:
                    return True
                if result is None:
                    unknown = True
            return None if unknown else False

        return disjunction
    if isinstance(node, Compare):
        left, right, compare = _value(node.left), _value(node.right), _comparison(node.op)
        return lambda facts: compare(left(facts), right(facts))
    if isinstance(node, In):
        get, items, negated = _value(node.operand), node.items, node.negated

        def membership(facts: Facts) -> bool | None:
            result = _member(get(facts), items)
            return None if result is None else result is not negated

        return membership
    raise TypeError(f"unknown condition node {node!r}")  # pragma: no cover


def _names(node: Node) -> set[str]:
    if isinstance(node, Name):
        return {node.dotted}
    if isinstance(node, Not):
        return _names(node.operand)
    if isinstance(node, And | Or):
        return set().union(*(_names(operand) for operand in node.operands))
    if isinstance(node, Compare):
        return _names(node.left) | _names(node.right)
    if isinstance(node, In):
        return _names(node.operand)
    return set()


@dataclass(frozen=True)
class Condition:
    """A parsed ``signoff_when`` condition; immutable, so one parse serves every run."""

    text: str
    node: Node
    names: frozenset[str]
    _evaluate: _Eval = field(repr=False, compare=False)

    def evaluate(self, facts: Facts) -> bool | None:
        """True, False, or None when the facts do not allow an answer. Never raises."""
        try:
            return self._evaluate(facts)
        except Exception:  # a strange fact value must not crash a run; unknown is fail-safe
            return None


@lru_cache(maxsize=2048)
def parse_condition(text: str) -> Condition:
    """Parse ``text`` or raise ``ConditionError`` naming what was expected and the column."""
    if not isinstance(text, str):
        raise ConditionError(str(text), "a condition must be text")
    node = _Parser(text).parse()
    return Condition(text, node, frozenset(_names(node)), _truth_of(node))
