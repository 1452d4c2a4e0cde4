"""What a report asks for (validated) and what it found (returned to the caller)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from casework.report.labels import Lang
from casework.settings import get_settings

SUPPORTED_LANGS: tuple[str, ...] = ("da", "en", "nb")
MAX_YEARS = 10


class ReportError(ValueError):
    """A report cannot be built as asked; the message is one line meant for the user."""


def _default_lang() -> str:
    lang = get_settings().language.strip().lower()
    return lang if lang in SUPPORTED_LANGS else "da"


def _default_hours_per_fte() -> float:
    return get_settings().hours_per_fte


class ReportRequest(BaseModel):
    """Period (both dates inclusive, local calendar days in ``timezone``) and filters.

    ``from``/``to`` are accepted as aliases so a web handler can validate query parameters
    directly: ``ReportRequest.model_validate(dict(request.query_params))``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    date_from: date = Field(
        validation_alias=AliasChoices("date_from", "from"),
        ge=date(1900, 1, 1),
        le=date(9998, 12, 31),
    )
    date_to: date = Field(
        validation_alias=AliasChoices("date_to", "to"), ge=date(1900, 1, 1), le=date(9998, 12, 31)
    )
    department: str | None = None
    flow: str | None = None
    lang: Lang = Field(default_factory=_default_lang)  # type: ignore[arg-type]
    hours_per_fte: float = Field(default_factory=_default_hours_per_fte, gt=0, le=8784)
    timezone: str = "Europe/Copenhagen"

    @field_validator("date_from", "date_to", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"'{value}' is not a date; use YYYY-MM-DD") from None
        if isinstance(value, datetime):  # a datetime is a date subclass; keep only the day
            return value.date()
        return value

    @field_validator("department", "flow", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("lang", mode="before")
    @classmethod
    def _lang(cls, value: Any) -> Any:
        if value is None:
            return _default_lang()
        if isinstance(value, str):
            return value.strip().lower()
        return value

    @field_validator("hours_per_fte", mode="before")
    @classmethod
    def _fte_default(cls, value: Any) -> Any:
        return _default_hours_per_fte() if value is None else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}'") from None
        return value

    @model_validator(mode="after")
    def _period(self) -> ReportRequest:
        if self.date_to < self.date_from:
            raise ValueError(
                f"the period ends ({self.date_to}) before it starts ({self.date_from})"
            )
        if self.date_to >= _add_years(self.date_from, MAX_YEARS):
            raise ValueError(f"the period may be at most {MAX_YEARS} years")
        return self

    # ---- derived values -------------------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[start, end) in UTC: local midnight of date_from to local midnight after date_to."""
        return self._utc_midnight(self.date_from), self._utc_midnight(
            self.date_to + timedelta(days=1)
        )

    def months(self) -> list[tuple[str, datetime, datetime]]:
        """Every calendar month touching the period: (``YYYY-MM``, start UTC, end UTC),
        clipped to the period, in order."""
        out: list[tuple[str, datetime, datetime]] = []
        start = self.date_from
        last = self.date_to + timedelta(days=1)
        while start < last:
            nxt = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
            end = min(nxt, last)
            out.append((f"{start.year:04d}-{start.month:02d}", self._utc_midnight(start),
                        self._utc_midnight(end)))
            start = end
        return out

    def _utc_midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.zone).astimezone(UTC)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class ReportSummary(BaseModel):
    """The headline figures of a built report (the same numbers as its Summary sheet)."""

    date_from: date
    date_to: date
    department: str | None
    flow: str | None
    lang: str
    timezone: str
    hours_per_fte: float
    step_runs: int
    cases: int
    saved_minutes: float
    hours_saved: float
    fte: float
    autonomous: int
    signed_off: int
    rejected: int
    awaiting_signoff: int
    share_autonomous: float | None
    share_signed_off: float | None
    rejection_rate: float | None
    rows_sheets: list[str]
    empty: bool
