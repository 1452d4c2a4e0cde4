"""Norwegian (bokmål) readers get Norwegian report texts, not Danish ones.

The tables are plain dicts, so these checks are about content: every key present, the texts
that differ between the languages really differ, no Danish spelling slips into bokmål, and the
pieces other code relies on (placeholders, sheet-name rules, names quoted in other texts)
survive the translation.
"""

from __future__ import annotations

import re
import string

import pytest

from casework.report.labels import _DA, _EN, _NB, labels

# Keys whose bokmål text is a different word from the Danish one.
DIFFERENT = (
    "sheet_summary", "sheet_month", "sheet_flow_step", "sheet_department", "sheet_estimate",
    "sheet_autonomy", "sheet_rows", "title", "department", "hours_per_fte", "hours_saved",
    "fte", "step_runs", "col_department", "col_step", "col_runs", "col_signed_off",
    "col_hours_saved", "col_fte", "unknown", "outcome_approved", "outcome_rejected",
    "value_kind_decision", "row_department", "row_human_minutes", "row_saved", "check",
    "method_1", "method_5",
)

# Danish spellings with a different bokmål form (word starts, case-insensitive).
DANISH_ONLY = (
    "Oversigt", "Afdeling", "Godkend", "årsværk", "Række", "ukendt", "Sagsbehandl", "Afgørelse",
    "Afvis", "Afvent", "Sparede", "Trinkørsl", "Udfald", "Udført", "Skøn", "Optjent", "Pr.",
    "politik", "projektmappe", "intet", "Forskel ", "Kører",
)

# Digits, operators and punctuation that carry meaning. Not the apostrophe: Danish writes
# "id'er", bokmål "id-er"; the quoted column name is checked on its own below.
FORMAT_CHARS = set(string.digits) | set("÷−–=:;()%{}")


def _fields(text: str) -> list[str | None]:
    return [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]


def test_every_english_key_exists_in_danish_and_norwegian() -> None:
    assert set(_EN) == set(_DA) == set(_NB)
    assert labels("nb") is _NB
    assert all(text.strip() for text in _NB.values())


@pytest.mark.parametrize("key", DIFFERENT)
def test_norwegian_differs_from_danish_where_the_languages_differ(key: str) -> None:
    assert _NB[key] != _DA[key], key


@pytest.mark.parametrize("word", DANISH_ONLY)
def test_no_danish_spelling_in_norwegian(word: str) -> None:
    pattern = re.compile(rf"(?<!\w){re.escape(word)}", re.IGNORECASE)
    hits = {key: text for key, text in _NB.items() if pattern.search(text)}
    assert not hits, hits


def test_placeholders_and_formatting_are_kept() -> None:
    for key, da in _DA.items():
        nb = _NB[key]
        assert _fields(nb) == _fields(da), key
        assert sorted(c for c in nb if c in FORMAT_CHARS) == sorted(
            c for c in da if c in FORMAT_CHARS), key


@pytest.mark.parametrize("lang", ["en", "da", "nb"])
def test_sheet_names_follow_excel_rules(lang: str) -> None:
    """At most 31 characters (also "Rows (99)" continuation sheets), none of []:*?/\\, no
    leading or trailing apostrophe, unique ignoring case."""
    t = labels(lang)
    names = [text for key, text in t.items() if key.startswith("sheet_")]
    for name in [*names, f"{t['sheet_rows']} (99)"]:
        assert len(name) <= 31 and not set(name) & set("[]:*?/\\"), name
        assert not name.startswith("'") and not name.endswith("'"), name
    assert len({name.casefold() for name in names}) == len(names)


@pytest.mark.parametrize("lang", ["en", "da", "nb"])
def test_texts_name_the_sheet_and_column_they_point_to(lang: str) -> None:
    """The summary's check and method lines tell the reader which sheet and column to re-add."""
    t = labels(lang)
    for key in ("check", "method_1", "method_5"):
        assert t["sheet_rows"] in t[key], (lang, key)
    assert f"'{t['row_saved']}'" in t["check_hours"]


def test_norwegian_keeps_column_headers_apart_where_danish_does() -> None:
    """Excel needs unique headers within a table: two headers the Danish keeps apart must not
    become the same bokmål word."""
    for group in ("col_", "row_"):
        keys = [k for k in _DA if k.startswith(group)]
        for a in keys:
            for b in keys:
                if a < b and _DA[a] != _DA[b]:
                    assert _NB[a] != _NB[b], (a, b)
