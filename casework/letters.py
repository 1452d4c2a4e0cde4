"""What every letter a robot drafts has in common: the automated-help notice (AI Act Art. 50)
and reply deadlines that never end on a weekend."""

from __future__ import annotations

from datetime import date, timedelta


def with_notice(text: str, notice: str) -> str:
    """``text`` ending with ``notice``; put back if a caseworker's amendment dropped it."""
    body = text.rstrip()
    return body if notice in body else f"{body}\n\n{notice}\n"


def off_weekend(day: date) -> date:
    """A deadline on a Saturday or Sunday moves to the Monday."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day
