"""The main job on the embedded default: run the journal-placement robot on bundled letters.

Prefect runs on its local (ephemeral) server, the ledger in a SQLite file under the data dir.
Prints where the ledger is and the hours the run saved.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DATA = Path(__file__).parent / "data" / "letters.jsonl"


def main() -> int:
    from sqlalchemy import func, select

    from casework import ledger
    from casework.db import migrate
    from casework.db.models import LedgerEntry, SignoffTask
    from casework.db.session import get_engine, reading
    from casework.settings import get_settings
    from flows.journal_placement import Letter, journal_placement

    settings = get_settings()
    migrate.upgrade(get_engine())
    letters = [Letter.model_validate(json.loads(line))
               for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    print(f"Journal placement robot: {len(letters)} letters from {DATA.name} "
          "(Prefect local server starting, first time ~15 s)")
    results = journal_placement(letters)

    print(f"\n{'letter':<8} {'case (pseudonymised)':<28} {'outcome':<18} KLE")
    for r in results:
        print(f"{r.message_id:<8} {r.case_ref:<28} {r.status:<18} {r.kle or '-'}")

    run_ids = {r.case_ref for r in results}
    with reading() as session:
        run_saved = session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.saved_minutes), 0.0))
            .where(LedgerEntry.case_ref.in_(run_ids))
            .where(LedgerEntry.flow_run_id == _last_run_id(session))
        )
        waiting = session.scalar(select(func.count()).select_from(SignoffTask)
                                 .where(SignoffTask.status == "awaiting"))
        total = ledger.total_saved_hours(session)
    print(f"\nLedger: {settings.effective_database_url}")
    print(f"Hours saved by this run: {float(run_saved or 0) / 60:.2f} "
          f"(all runs so far: {total:.2f}); sign-off tasks awaiting a caseworker: {waiting}")
    return 0


def _last_run_id(session) -> str:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from casework.db.models import LedgerEntry

    return session.scalar(select(LedgerEntry.flow_run_id)
                          .order_by(LedgerEntry.started_at.desc()).limit(1)) or ""


if __name__ == "__main__":
    sys.exit(main())
