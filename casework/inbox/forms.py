"""The amend form, generated from the step's result model (its JSON schema on the task,
``payload.result_schema``): text areas for letter text, selects with display names for
departments and enumerations, check boxes, numbers, dates, one line per item for lists of text,
and the KLE picker for a ``kle`` field. The robot's own bookkeeping (confidence, reasons,
alternatives, sources) and nested records are shown, not edited.

``parse`` turns the posted fields back into a value, field by field, with a message next to
each field that is wrong; the caller then checks the whole value against the same schema
(``casework.inbox.values.check_value``). What she typed is handed back on every error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from casework import departments
from casework.inbox.present import Present
from casework.inbox.values import MAX_TEXT

#: Fields the robot fills for the caseworker's information, never amended by hand.
READ_ONLY = frozenset({"confidence", "why", "alternatives", "sources", "model", "reference",
                       "requirements_version", "citizen_key", "amended_from", "evidence",
                       "application_type", "conflicts"})
LONG_TEXT = frozenset({"text", "note", "body", "letter"})
PREFIX = "f."
_NUMBER = re.compile(r"^-?\d+([.,]\d+)?$")


@dataclass
class FormField:
    """One input of the amend form. ``value`` is what the input shows (what she typed after an
    error, else the robot's value); ``error`` a translated message for this field."""

    name: str
    kind: str  # text | textarea | integer | number | checkbox | select | date | lines | kle
    label: str
    value: str = ""
    checked: bool = False
    required: bool = False
    max_length: int | None = None
    options: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None

    @property
    def input_name(self) -> str:
        return PREFIX + self.name

    @property
    def input_id(self) -> str:
        return "field-" + self.name.replace("_", "-")


def _resolve(schema: Mapping[str, Any], prop: Mapping[str, Any]) -> dict[str, Any]:
    """The property's own schema: ``$ref`` followed, ``anyOf [X, null]`` unwrapped."""
    prop = dict(prop)
    ref = prop.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        prop = {**(schema.get("$defs") or {}).get(ref.split("/")[-1], {}), **prop}
    options = prop.get("anyOf")
    if isinstance(options, list):
        real = [o for o in options if isinstance(o, dict) and o.get("type") != "null"]
        if len(real) == 1:
            prop = {**_resolve(schema, real[0]), "nullable": True,
                    **{k: v for k, v in prop.items() if k not in ("anyOf",)}}
    return prop


def _kind(name: str, prop: Mapping[str, Any], current: Any) -> str | None:
    if name == "kle":
        return "kle"
    if name == "department":
        return "select"
    if "enum" in prop or "const" in prop:
        return "select"
    kind = prop.get("type")
    if kind == "boolean":
        return "checkbox"
    if kind == "integer":
        return "integer"
    if kind == "number":
        return "number"
    if kind == "string":
        if prop.get("format") == "date":
            return "date"
        if name in LONG_TEXT or (prop.get("maxLength") or 0) > 300 or \
                (isinstance(current, str) and "\n" in current):
            return "textarea"
        return "text"
    if kind == "array":
        items = _resolve({}, prop.get("items") or {})
        return "lines" if items.get("type") == "string" else None
    return None


def editable(schema: Mapping[str, Any] | None, suggestion: Any) -> list[tuple[str, str,
                                                                              dict[str, Any]]]:
    """(name, kind, resolved schema) of every field a person may amend, in model order."""
    if not isinstance(schema, Mapping) or not isinstance(suggestion, dict):
        return []
    found = []
    for name, raw in (schema.get("properties") or {}).items():
        if name in READ_ONLY or (name == "title" and "kle" in suggestion):
            continue  # a KLE subject's title comes with its code
        prop = _resolve(schema, raw)
        kind = _kind(name, prop, suggestion.get(name))
        if kind is not None:
            found.append((name, kind, prop))
    return found


def _shown(kind: str, value: Any, fmt: Present) -> str:
    if value is None:
        return ""
    if kind == "lines" and isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if kind == "number" and isinstance(value, int | float) and fmt.lang != "en":
        return str(value).replace(".", ",")  # the decimal comma; parse() takes both
    return str(value)


def build(schema: Mapping[str, Any] | None, suggestion: Any, fmt: Present, *,
          typed: Mapping[str, str] | None = None,
          errors: Mapping[str, str] | None = None) -> list[FormField]:
    """The form's fields, filled with what she typed (``typed``) or else the robot's value."""
    typed = typed or {}
    errors = errors or {}
    fields = []
    required = set((schema or {}).get("required") or [])
    for name, kind, prop in editable(schema, suggestion):
        current = suggestion.get(name)
        f = FormField(name=name, kind=kind, label=schema_label(prop, fmt) or fmt.fact_label(name),
                      required=name in required and not prop.get("nullable"),
                      max_length=min(prop.get("maxLength") or MAX_TEXT, MAX_TEXT)
                      if kind in ("text", "textarea", "lines") else None,
                      error=errors.get(name))
        if kind == "checkbox":
            f.checked = (typed.get(f.input_name) == "on") if typed else bool(current)
        else:
            f.value = typed.get(f.input_name, _shown(kind, current, fmt)) if typed \
                else _shown(kind, current, fmt)
        if kind == "select":
            f.options = _options(name, prop, current, fmt)
        fields.append(f)
    return fields


def _options(name: str, prop: Mapping[str, Any], current: Any,
             fmt: Present) -> list[tuple[str, str]]:
    if name == "department":
        ids = list(departments.directory())
        if isinstance(current, str) and current not in ids:
            ids.append(current)
        return sorted(((d, fmt.department(d)) for d in ids), key=lambda o: o[1])
    values = list(prop.get("enum") or [prop.get("const")])
    return [(str(v), fmt.value(name, v)) for v in values if v is not None]


@dataclass
class Parsed:
    value: dict[str, Any]
    errors: dict[str, tuple[str, dict[str, Any]]]  # field → (message key, values)


def parse(schema: Mapping[str, Any] | None, suggestion: Any,
          form: Mapping[str, str]) -> Parsed:
    """The amended value from the posted fields; per-field errors (message keys)."""
    value: dict[str, Any] = {}
    errors: dict[str, tuple[str, dict[str, Any]]] = {}
    required = set((schema or {}).get("required") or [])
    for name, kind, prop in editable(schema, suggestion):
        if kind == "kle":
            continue  # the picker posts ``kle_code``; the caller resolves it
        raw = form.get(PREFIX + name)
        nullable = bool(prop.get("nullable"))
        if kind == "checkbox":
            value[name] = raw == "on"
            continue
        text = (raw or "").replace("\r\n", "\n")
        if kind not in ("textarea", "lines"):
            text = text.strip()
        if len(text) > MAX_TEXT:
            errors[name] = ("field_too_long", {"max": MAX_TEXT})
            continue
        if not text.strip():
            if kind == "lines":
                value[name] = []
            elif nullable or name not in required:
                value[name] = None
            else:
                errors[name] = ("field_required", {})
            continue
        if kind == "integer":
            if not re.fullmatch(r"-?\d{1,15}", text):
                errors[name] = ("field_not_integer", {})
                continue
            value[name] = int(text)
        elif kind == "number":
            if not _NUMBER.match(text):
                errors[name] = ("field_not_number", {})
                continue
            value[name] = float(text.replace(",", "."))
        elif kind == "date":
            try:
                value[name] = date.fromisoformat(text).isoformat()
            except ValueError:
                errors[name] = ("field_not_date", {})
        elif kind == "select":
            allowed = {o for o, _ in _options(name, prop, suggestion.get(name),
                                               Present("da"))}
            if text not in allowed:
                errors[name] = ("field_choose", {})
                continue
            value[name] = text
        elif kind == "lines":
            value[name] = [line.strip() for line in text.split("\n") if line.strip()]
        else:
            value[name] = text
    return Parsed(value=value, errors=errors)


def field_of(path: str, names: set[str]) -> str | None:
    """The form field a schema error's path (``missing.0``) belongs to, if any."""
    head = path.split(".", 1)[0]
    return head if head in names else None


#: Shown elsewhere on the page (confidence, words, alternatives) or only bookkeeping.
NOT_DESCRIBED = READ_ONLY | {"title", "application_type"}


def schema_label(prop: Mapping[str, Any] | None, fmt: Present) -> str | None:
    """The field's name in the reader's language, as the robot's result model gives it
    (``casework.case.labels``), or None."""
    found = (prop or {}).get("labels")
    label = found.get(fmt.lang) if isinstance(found, Mapping) else None
    return label if isinstance(label, str) and label.strip() else None


def _label(name: str, schema: Mapping[str, Any] | None, fmt: Present) -> str:
    props = (schema or {}).get("properties") if isinstance(schema, Mapping) else None
    prop = props.get(name) if isinstance(props, Mapping) else None
    return schema_label(prop if isinstance(prop, Mapping) else None, fmt) or fmt.fact_label(name)


def describe(value: Any, fmt: Present, schema: Mapping[str, Any] | None = None,
             ) -> list[tuple[str, str]]:
    """(label, text) rows of a result for a reader: the robot's suggestion, or the value a
    person decided. No field names, no JSON: a field is named by the result model's labels
    (``schema``), else by the inbox's own words for the bundled robots' fields."""
    if not isinstance(value, dict):
        return [] if value is None else [(fmt.t("fact_value"), fmt.value("value", value))]
    rows = []
    if "kle" in value:
        rows.append((fmt.fact_label("kle"), f"{value.get('kle')} {value.get('title') or ''}"
                     .strip()))
    for name, item in value.items():
        if name in NOT_DESCRIBED or name == "kle":
            continue
        if isinstance(item, list) and item and all(isinstance(i, dict) for i in item):
            text = "; ".join(str(i.get("title") or i.get("address") or fmt.value(name, i))
                             for i in item)
        else:
            text = fmt.value(name, item)
        rows.append((_label(name, schema, fmt), text))
    return rows
