"""Fixtures for policy tests: a temporary working directory with a ``policies/`` folder."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from policy_helpers import GOOD_POLICY, WritePolicy

from casework import registry


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
