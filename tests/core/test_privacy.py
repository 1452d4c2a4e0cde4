"""CPR masking and pseudonymised case references."""

from __future__ import annotations

import logging

import pytest

from casework.privacy import install_log_masking, mask_cpr, pseudonymise


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cpr 120379-1234.", "cpr XXXXXX-XXXX."),
        ("CPR-nr.: 0305422468", "CPR-nr.: XXXXXX-XXXX"),
        ("født 030542 2468", "født XXXXXX-XXXX"),
        ("telefon 12345678", "telefon 12345678"),  # 8 digits: not a CPR number
        ("sag 2026-0001", "sag 2026-0001"),
        ("beløb 991399-1234", "beløb 991399-1234"),  # day 99 is no date
    ],
)
def test_mask_cpr(text: str, expected: str) -> None:
    assert mask_cpr(text) == expected


def test_pseudonym_is_stable_keyed_and_not_the_id(casework_env, monkeypatch) -> None:
    from casework.privacy import _key_for
    from casework.settings import reset_settings_cache

    ref = pseudonymise("SAG-2026-0001")
    assert ref == pseudonymise("SAG-2026-0001")
    assert ref.startswith("c_") and "2026" not in ref and len(ref) == 26
    monkeypatch.setenv("CASEWORK_PSEUDONYM_KEY", "another-key")
    reset_settings_cache()
    _key_for.cache_clear()
    assert pseudonymise("SAG-2026-0001") != ref


def test_generated_key_is_kept_in_the_data_dir(casework_env, monkeypatch) -> None:
    from casework.privacy import _key_for
    from casework.settings import reset_settings_cache

    monkeypatch.delenv("CASEWORK_PSEUDONYM_KEY")
    reset_settings_cache()
    _key_for.cache_clear()
    first = pseudonymise("x")
    key_file = casework_env / "pseudonym.key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    _key_for.cache_clear()
    assert pseudonymise("x") == first


def test_log_records_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    install_log_masking()
    install_log_masking()  # idempotent
    with caplog.at_level(logging.INFO):
        logging.getLogger("any.library").info("citizen %s wrote", "120379-1234")
    assert "120379-1234" not in caplog.text
    assert "XXXXXX-XXXX" in caplog.text
