"""Streaming JSON-lines input and output for the suggestion CLIs.

Input is read one line at a time and output written (and flushed) per batch, so a file of a
million letters never sits in memory. Every problem names the source and line number.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from casework.suggest.errors import InputError

STDIO = "-"


class TextItem(BaseModel):
    """One input line: ``{"id": ..., "text": ...}`` (extra keys are ignored). The id is echoed
    back unchanged, so a numeric id stays a number."""

    model_config = ConfigDict(extra="ignore")

    id: str | int
    text: str

    @field_validator("id", mode="before")
    @classmethod
    def _plain_id(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
            raise ValueError("must be a non-empty string or an integer")
        return value


class LabelledItem(TextItem):
    """One confirmed choice: ``{"id", "text", "code"}``."""

    code: str = Field(min_length=1)


class GoldItem(TextItem):
    """One evaluation line: ``{"id", "text", "code"}``; ``code`` may be a list of accepted
    codes, and ``NN.NN.*`` accepts every code starting with ``NN.NN.``."""

    code: str | list[str]

    @field_validator("code")
    @classmethod
    def _some_code(cls, value: str | list[str]) -> str | list[str]:
        codes = [value] if isinstance(value, str) else value
        if not codes or any(not isinstance(c, str) or not c.strip() for c in codes):
            raise ValueError("must be a code or a non-empty list of codes")
        return value

    def codes(self) -> list[str]:
        return [self.code] if isinstance(self.code, str) else list(self.code)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = str(err["loc"][0]) if err["loc"] else "line"
    return f"{where}: {err['msg'].removeprefix('Value error, ')}"


@contextmanager
def open_input(path: str | Path) -> Iterator[tuple[IO[str], str]]:
    """(stream, display name); ``-`` is stdin."""
    if str(path) == STDIO:
        yield sys.stdin, "<stdin>"
        return
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such input file")
    with p.open(encoding="utf-8-sig") as fh:
        yield fh, str(p)


def parse_line(line: str, lineno: int, name: str, model: type[TextItem] = TextItem) -> TextItem:
    """One JSON line into ``model``; ``InputError`` names the source and line."""
    try:
        data: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name} line {lineno}: not valid JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise InputError(f"{name} line {lineno}: expected a JSON object with 'id' and 'text'")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{name} line {lineno}: {_first_error(exc)}") from exc


def iter_items(stream: Iterable[str], name: str, model: type[TextItem] = TextItem,
               on_error: Callable[[InputError], None] | None = None
               ) -> Iterator[tuple[int, TextItem]]:
    """(line number, item) per non-blank line. A bad line raises ``InputError`` unless
    ``on_error`` is given, which then receives it and reading goes on."""
    for lineno, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            item = parse_line(line, lineno, name, model)
        except InputError as exc:
            if on_error is None:
                raise
            on_error(exc)
            continue
        yield lineno, item


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@contextmanager
def open_output(path: str | Path | None) -> Iterator[IO[str]]:
    """A text stream for results; ``None`` or ``-`` is stdout."""
    if path is None or str(path) == STDIO:
        yield sys.stdout
        sys.stdout.flush()
        return
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w", encoding="utf-8") as fh:
        yield fh


def write_line(stream: IO[str], obj: dict[str, Any]) -> None:
    stream.write(json.dumps(obj, ensure_ascii=False) + "\n")
