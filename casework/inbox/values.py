"""What a caseworker may store as a decision: checked before anything is written.

An amended value (or a shadow answer) must be strict JSON (no ``NaN``/``Infinity``), an object,
within size limits, merge with the robot's result into something the step's result model
accepts (its JSON schema is stored on the task at creation, ``payload.result_schema``; older
tasks without one are held to the JSON types of the suggestion's fields), and name only known
KLE subjects in fields called ``kle``. Otherwise the flow would fail later on a value that was
already audited. Free text (reasons, notes) is capped with a clear message, never cut silently.
"""

from __future__ import annotations

import json
import math
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from casework.inbox import kle

MAX_VALUE_JSON = 20_000  # characters of the edited JSON
MAX_TEXT = 2_000  # a reason, a note, a string inside the value
#: Keys the inbox itself adds to an amended value.
INBOX_KEYS = frozenset({"amended_from"})


class ValueRefused(Exception):
    """``key`` names the message (casework/inbox/i18n.py), ``values`` fill it in."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key, self.values = key, values


def check_text(text: str | None, limit: int = MAX_TEXT) -> str:
    """Free text within ``limit`` characters, else ``ValueRefused("text_too_long")``."""
    text = text or ""
    if len(text) > limit:
        raise ValueRefused("text_too_long", max=limit)
    return text


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e400 would become Infinity
        raise ValueError("number out of range")
    return number


def parse_value(text: str) -> dict[str, Any]:
    """The caseworker's JSON: strict, an object, not too big."""
    check_text(text, MAX_VALUE_JSON)
    if not text.strip():
        raise ValueRefused("invalid_json")
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except (ValueError, RecursionError):
        raise ValueRefused("invalid_json") from None
    if not isinstance(value, dict):  # the flow receives a JSON object (SignoffDecision.value)
        raise ValueRefused("invalid_json")
    return value


def _walk(value: Any, path: str) -> None:
    """Strings capped, numbers finite, ``kle`` fields known subjects."""
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueRefused("value_field_invalid", field=path or "-")
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key == "kle" and item is not None and (
                    not isinstance(item, str) or item not in kle.subjects()):
                raise ValueRefused("unknown_kle")
            _walk(item, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, f"{path}[{i}]")


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "null")


def check_value(payload: dict[str, Any], value: dict[str, Any]) -> dict[str, Any]:
    """``value`` if the step's result model accepts it merged into the suggestion."""
    _walk(value, "")
    suggestion = payload.get("suggestion")
    base = suggestion if isinstance(suggestion, dict) else {}
    schema = payload.get("result_schema")
    if isinstance(schema, dict):
        known = set((schema.get("properties") or {}).keys()) | INBOX_KEYS
        for key in value:
            if key not in known:
                raise ValueRefused("value_field_unknown", field=key)
        merged = {k: v for k, v in {**base, **value}.items() if k not in INBOX_KEYS}
        try:
            errors = sorted(Draft202012Validator(schema).iter_errors(merged),
                            key=lambda e: list(e.absolute_path))
        except SchemaError:
            errors = []
        if errors:
            field = ".".join(str(p) for p in errors[0].absolute_path) or "-"
            raise ValueRefused("value_field_invalid", field=field)
        return value
    # A task from before result schemas were stored: keep each field's JSON type.
    for key, item in value.items():
        if key in base and base[key] is not None and item is not None \
                and _json_kind(base[key]) != _json_kind(item):
            raise ValueRefused("value_field_invalid", field=key)
    return value
