"""ReportRequest: validation with clear messages, defaults from settings, period arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from casework.report.cli import describe_validation_error
from casework.report.labels import _DA, _EN
from casework.report.request import ReportRequest
from casework.report.rowsheet import ROW_COLUMNS, SAVED_COLUMN
from casework.settings import reset_settings_cache


def message(**kw: object) -> str:
    with pytest.raises(ValidationError) as info:
        ReportRequest(**kw)
    return describe_validation_error(info.value)


def test_valid_request_and_aliases() -> None:
    req = ReportRequest.model_validate({"from": "2026-01-01", "to": "2026-12-31", "lang": "EN",
                                        "department": "  Borgerservice ", "flow": ""})
    assert (req.date_from, req.date_to) == (date(2026, 1, 1), date(2026, 12, 31))
    assert req.lang == "en" and req.department == "Borgerservice" and req.flow is None


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"date_from": "2026-13-01", "date_to": "2026-12-31"},
         "--from: '2026-13-01' is not a date; use YYYY-MM-DD"),
        ({"date_from": "yesterday", "date_to": "2026-12-31"},
         "--from: 'yesterday' is not a date; use YYYY-MM-DD"),
        ({"date_from": "2026-12-31", "date_to": "2026-01-01"},
         "the period ends (2026-01-01) before it starts (2026-12-31)"),
        ({"date_from": "2000-01-01", "date_to": "2026-01-01"},
         "the period may be at most 10 years"),
        ({"date_from": "2026-01-01", "date_to": "2026-12-31", "lang": "sv"},
         "--lang: Input should be 'da', 'en' or 'nb'"),
        ({"date_from": "2026-01-01", "date_to": "2026-12-31", "hours_per_fte": 0},
         "--hours-per-fte: Input should be greater than 0"),
        ({"date_from": "2026-01-01", "date_to": "2026-12-31", "timezone": "Mars/Olympus"},
         "timezone: unknown time zone 'Mars/Olympus'"),
    ],
)
def test_bad_input_gives_one_clear_line(kw: dict[str, object], expected: str) -> None:
    text = message(**kw)
    assert text == expected
    assert "\n" not in text


def test_defaults_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWORK_LANGUAGE", "en")
    monkeypatch.setenv("CASEWORK_HOURS_PER_FTE", "1600")
    reset_settings_cache()
    try:
        req = ReportRequest(date_from="2026-01-01", date_to="2026-01-31")  # type: ignore[arg-type]
        assert (req.lang, req.hours_per_fte) == ("en", 1600.0)
        monkeypatch.setenv("CASEWORK_LANGUAGE", "sv")  # unsupported: Danish
        reset_settings_cache()
        assert ReportRequest(date_from="2026-01-01", date_to="2026-01-31").lang == "da"  # type: ignore[arg-type]
    finally:
        reset_settings_cache()


def test_period_bounds_are_local_midnights_in_utc() -> None:
    req = ReportRequest(date_from="2026-01-01", date_to="2026-06-30")  # type: ignore[arg-type]
    start, end = req.utc_bounds()
    assert start == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)  # CET
    assert end == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)  # CEST
    months = req.months()
    assert [m[0] for m in months] == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05",
                                      "2026-06"]
    assert months[0][1] == start and months[-1][2] == end
    assert all(a[2] == b[1] for a, b in zip(months, months[1:], strict=False))


def test_partial_months_are_clipped_to_the_period() -> None:
    req = ReportRequest(date_from="2026-01-15", date_to="2026-02-10", timezone="UTC")  # type: ignore[arg-type]
    assert req.months() == [
        ("2026-01", datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)),
        ("2026-02", datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 11, tzinfo=UTC)),
    ]


def test_labels_complete_in_both_languages() -> None:
    assert _EN.keys() == _DA.keys()
    for table in (_EN, _DA):
        for key, text in table.items():
            if key.startswith("sheet_"):
                assert len(text) <= 31 and not set(text) & set("[]:*?/\\"), text
    assert len(ROW_COLUMNS) == 17 and SAVED_COLUMN == "Q"  # the writer's hard-wired letters
