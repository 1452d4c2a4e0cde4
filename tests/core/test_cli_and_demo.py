"""The `casework` command's core parts, and the README's main job (the demo) end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import update
from typer.testing import CliRunner

from casework import audit
from casework.cli import app
from casework.db.models import AuditEvent
from casework.db.session import transaction

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_db_upgrade_and_current(casework_env: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "database at revision" in result.output and str(casework_env) in result.output
    current = runner.invoke(app, ["db", "current"])
    assert current.exit_code == 0 and "current" in current.output


def test_audit_verify_reports_intact_and_broken_chains(db_engine) -> None:
    with transaction() as session:
        for i in range(3):
            audit.append(session, actor="robot:f", action="step.completed", details={"i": i})
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact: 3 events" in ok.output
    with transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="someone"))
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1 and "BROKEN at event 2" in broken.output


def test_signoff_deliver_with_nothing_pending(db_engine) -> None:
    result = runner.invoke(app, ["signoff", "deliver"])
    assert result.exit_code == 0 and "delivered 0" in result.output


def test_repository_policies_pass_the_check(monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    result = runner.invoke(app, ["policy", "check"])
    assert result.exit_code == 0, result.output
    assert "ok    policies/journal_placement.yaml" in result.output


def test_demo_runs_the_main_job(prefect_api: str, tmp_path: Path) -> None:
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "CASEWORK_DATA_DIR": str(tmp_path),
           "CASEWORK_POLICY_DIR": str(REPO / "policies"), "PREFECT_LOGGING_LEVEL": "WARNING"}
    env.pop("CASEWORK_DATABASE_URL", None)
    def demo() -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "demo", "--no-inbox"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "120379-1234" not in done.stdout + done.stderr  # CPR numbers stay masked
        return done

    out = demo().stdout
    assert f"Ledger: sqlite:///{tmp_path.resolve()}/casework.db" in out
    assert "Hours saved by this run:" in out and "Journal placement: 12 letters" in out
    assert "awaiting_signoff" in out and "completed" in out
    counted = counts(tmp_path)
    assert counted[0] > 0 and counted[1] > 0

    # The same mail and cases again, twice, with no decisions: nothing asked twice, nothing
    # credited twice — on all four robots.
    for _ in range(2):
        again = demo().stdout
        assert "Hours saved by this run: 0.00" in again
        assert "1. Intake: 0 letters" in again and "2. Routing: 0 cases" in again
        assert "12 letters from letters.jsonl, 0 new; this run: none new" in again
        assert "4. Building screening: 0 building applications" in again
        assert counts(tmp_path) == counted

    summary = subprocess.run([sys.executable, "-m", "casework.cli", "ledger", "summary"],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert summary.returncode == 0, summary.stderr
    assert "suggest_journal" in summary.stdout and "hours saved in total" in summary.stdout
    assert "review min" in summary.stdout  # caseworkers' measured time, per step


def counts(data_dir: Path) -> tuple[int, int, float]:
    """(sign-off tasks, ledger rows, saved minutes) in the demo's ledger."""
    from sqlalchemy import create_engine, func, select

    from casework.db.models import LedgerEntry, SignoffTask

    engine = create_engine(f"sqlite:///{data_dir / 'casework.db'}")
    try:
        with engine.connect() as conn:
            tasks = conn.scalar(select(func.count()).select_from(SignoffTask))
            rows = conn.scalar(select(func.count()).select_from(LedgerEntry))
            saved = conn.scalar(select(func.sum(LedgerEntry.saved_minutes)))
    finally:
        engine.dispose()
    return int(tasks or 0), int(rows or 0), round(float(saved or 0), 4)
