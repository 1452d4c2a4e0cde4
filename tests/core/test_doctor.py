"""``casework doctor``: one line per check, a hint for anything short of ok, exit 1 on FAIL.
Real SQLite, a real Prefect API (the session's), real files."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from casework.cli import app
from casework.db import migrate
from casework.db.session import get_engine
from casework.ops import doctor
from casework.settings import Settings, reset_settings_cache

REPO = Path(__file__).resolve().parents[2]


def test_unmigrated_database_fails_with_the_upgrade_hint(casework_env: Path) -> None:
    check = doctor.check_database(Settings())
    assert check.status == "FAIL" and "casework db upgrade" in (check.hint or "")
    assert not (casework_env / "casework.db").exists()  # the doctor creates nothing
    migrate.upgrade(get_engine())
    check = doctor.check_database(Settings())
    assert check.status == "ok" and migrate.head_revision() in check.detail


def test_unreachable_database_server_fails_without_the_password(
        casework_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWORK_DATABASE_URL",
                       "postgresql+psycopg://robot:s3cret@127.0.0.1:9/casework")
    check = doctor.check_database(Settings())
    assert check.status == "FAIL" and "cannot connect" in check.detail
    assert "s3cret" not in check.line()


def test_invalid_setting_names_the_variable(casework_env: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWORK_SIGNOFF_WAIT", "forever")
    check, settings = doctor.check_settings()
    assert settings is None and check.status == "FAIL"
    assert "CASEWORK_SIGNOFF_WAIT" in check.detail


def test_policies_valid_and_broken(casework_env: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ok = doctor.check_policies(Settings(), REPO / "flows")
    assert ok.status == "ok", ok.line()
    broken = tmp_path / "policies"
    broken.mkdir()
    (broken / "journal_placement.yaml").write_text("flow: journal_placement\nsteps: [1, 2\n")
    monkeypatch.setenv("CASEWORK_POLICY_DIR", str(broken))
    check = doctor.check_policies(Settings(), tmp_path / "no-flows")
    assert check.status == "FAIL" and "journal_placement.yaml" in check.detail
    assert "casework policy check" in (check.hint or "")


def test_inbox_login_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DEV_LOGIN", "OIDC_ISSUER", "OIDC_CLIENT_ID", "SECRET_KEY", "COOKIE_SECURE"):
        monkeypatch.delenv(f"CASEWORK_INBOX_{name}", raising=False)
    assert doctor.check_inbox_login().status == "warn"  # nobody can log in
    monkeypatch.setenv("CASEWORK_INBOX_DEV_LOGIN", "true")
    check = doctor.check_inbox_login()
    assert check.status == "warn" and "development login" in check.detail
    monkeypatch.setenv("CASEWORK_INBOX_OIDC_ISSUER", "https://login.example.dk/tenant")
    assert doctor.check_inbox_login().status == "FAIL"  # dev login beside the real one
    monkeypatch.delenv("CASEWORK_INBOX_DEV_LOGIN")
    monkeypatch.setenv("CASEWORK_INBOX_OIDC_CLIENT_ID", "casework-inbox")
    assert doctor.check_inbox_login().status == "warn"  # no session key
    monkeypatch.setenv("CASEWORK_INBOX_SECRET_KEY", "x" * 40)
    assert doctor.check_inbox_login().status == "ok"


def test_pseudonym_key_lines(casework_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CASEWORK_PSEUDONYM_KEY")
    assert doctor.check_pseudonym_key(Settings()).status == "warn"
    monkeypatch.setenv("CASEWORK_PSEUDONYM_KEY", "dev")
    assert doctor.check_pseudonym_key(Settings()).status == "warn"
    monkeypatch.setenv("CASEWORK_PSEUDONYM_KEY", "9f1c" * 16)
    assert doctor.check_pseudonym_key(Settings()).status == "ok"


def test_browser_lines(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CASEWORK_BROWSER_PATH", str(tmp_path / "missing-chromium"))
    assert doctor.check_browser().status == "FAIL"
    monkeypatch.setenv("CASEWORK_BROWSER_PATH", "/bin/sh")
    assert doctor.check_browser().status == "ok"


def test_prefect_api_pool_and_limits(prefect_api: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, WorkPoolCreate

    assert doctor.check_prefect_api(None).status == "warn"  # embedded
    down = doctor.check_prefect_api("http://127.0.0.1:9/api")
    assert down.status == "FAIL" and "unreachable" in down.detail
    assert doctor.check_prefect_api(prefect_api.rstrip("/")).status == "ok"

    pool = "doctor-pool"
    assert doctor.check_work_pool(pool).status == "warn"
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name="doctor-legacy", limit=2))
    check = doctor.check_work_pool(pool)
    assert check.status == "warn" and "0 worker(s) online" in check.detail
    limits = doctor.check_concurrency_limits()
    assert limits.status == "ok" and "doctor-legacy=2" in limits.detail


def test_cli_prints_one_line_per_check_and_exits_1_on_failure(
        casework_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWORK_INBOX_DEV_LOGIN", "true")
    reset_settings_cache()
    result = CliRunner().invoke(app, ["doctor", "--flows", str(REPO / "flows")])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("FAIL  database") for line in lines)
    for name in ("settings", "policies", "prefect api", "browser", "inbox login",
                 "pseudonym key"):
        assert any(line[6:].startswith(name) for line in lines), name
    assert "Traceback" not in result.output

    migrate.upgrade(get_engine())
    result = CliRunner().invoke(app, ["doctor", "--flows", str(REPO / "flows")])
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output.splitlines()[-1]
