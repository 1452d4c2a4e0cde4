"""CASEWORK_MUNICIPALITY: set empty (as a deployment template leaves it) it means "none", as
the suggest CLI already reads it; a bad name is refused by name."""

from __future__ import annotations

import pytest

from casework.settings import Settings


def test_an_empty_municipality_means_the_shared_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWORK_MUNICIPALITY", "")
    assert Settings().municipality is None
    monkeypatch.setenv("CASEWORK_MUNICIPALITY", "  ")
    assert Settings().municipality is None
    monkeypatch.setenv("CASEWORK_MUNICIPALITY", "aarhus")
    assert Settings().municipality == "aarhus"


def test_a_municipality_that_is_no_folder_name_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWORK_MUNICIPALITY", "../etc")
    with pytest.raises(ValueError, match="municipality"):
        Settings()
