"""The one department directory: id, display names (da/nb/en) and sign-off e-mail.

Policies, the router and the inbox name departments by id (``byggeri``); people see the
display name in their language. The directory ships in ``casework/data/departments.yaml``;
``CASEWORK_DEPARTMENTS_FILE`` points to a municipality's own (same shape). An id the directory
does not know is shown as it is, so a new department never breaks a page.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

BUNDLED = Path(__file__).parent / "data" / "departments.yaml"
LANGUAGES = ("da", "nb", "en")


class DepartmentError(ValueError):
    """The directory file cannot be read; the message names the file and the entry."""


class Names(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    da: str = Field(min_length=1)
    nb: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Department(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=100)
    names: Names
    signoff_email: str | None = None

    def name(self, language: str) -> str:
        return getattr(self.names, language if language in LANGUAGES else "da")


def load_directory(path: Path) -> dict[str, Department]:
    """The departments in ``path`` by id; ``DepartmentError`` naming the file and entry."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DepartmentError(f"{path}: cannot read the department directory: {exc}") from None
    entries = raw.get("departments") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise DepartmentError(f"{path}: expected a 'departments:' list")
    found: dict[str, Department] = {}
    for i, entry in enumerate(entries):
        try:
            department = Department.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise DepartmentError(f"{path}: departments[{i}].{where}: {first['msg']}") from None
        if department.id in found:
            raise DepartmentError(f"{path}: departments[{i}]: id {department.id!r} twice")
        found[department.id] = department
    return found


@lru_cache(maxsize=4)
def _directory(path: str) -> dict[str, Department]:
    return load_directory(Path(path))


def directory() -> dict[str, Department]:
    return _directory(os.environ.get("CASEWORK_DEPARTMENTS_FILE") or str(BUNDLED))


def display_name(department_id: str | None, language: str) -> str:
    """The department's name in ``language``; an unknown id as it is; None as a dash."""
    if not department_id:
        return "–"
    found = directory().get(department_id)
    return found.name(language) if found else department_id


def signoff_email(department_id: str) -> str | None:
    found = directory().get(department_id)
    return found.signoff_email if found else None
