"""Fixtures for policy tests: a temporary working directory with a ``policies/`` folder."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from casework import registry

GOOD_POLICY = """\
flow: {flow}
description: Suggest where an incoming document belongs in the journal (KLE).
department: borgerservice
steps:
  read_letter:
    kind: preparatory
    mode: autonomous
    manual_minutes: 2
  suggest_journal:
    kind: preparatory
    mode: autonomous
    manual_minutes: 6
    description: Suggest a KLE journal number.
    signoff_when:
      - confidence < 0.6
      - case.sensitive
      - case.amount > 50000 or result.kle in ['32.18.04', "27.24.00"]
    signoff_by: {{roles: [caseworker], departments: []}}
    deadline_hours: 72
    on_overdue: remind
    four_eyes: false
  grant_benefit:
    kind: decision
    mode: autonomous
    manual_minutes: 20
    legal_basis: ["Lov om social service § 41"]
    effects: [grants_application]
    facts_relied_on: [the child's diagnosis, the documented extra costs]
    automation_legal_basis: ["Lov om social service § 41 a (automated decisions)"]
ai_act:
  risk: minimal
"""

WritePolicy = Callable[..., Path]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in ``tmp_path`` so messages show the short path ``policies/<name>``."""
    (tmp_path / "policies").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def write_policy(workdir: Path) -> WritePolicy:
    """Write ``text`` to ``policies/<name>`` and return the relative path."""

    def write(text: str, name: str = "journal_placement.yaml") -> Path:
        path = Path("policies") / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def good_text() -> str:
    return GOOD_POLICY.format(flow="journal_placement")


@pytest.fixture
def isolated_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An empty flow registry, and no trace of imported test flow modules afterwards."""
    monkeypatch.setattr(registry, "_FLOW_STEPS", {})
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", "") or "").startswith(str(tmp_path)):
            del sys.modules[name]
