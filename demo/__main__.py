"""The main job on the embedded default: run the journal-placement robot on bundled letters,
then open the sign-off inbox so the prepared work can be approved, amended or rejected.

Prefect runs on its local (ephemeral) server, the ledger in a SQLite file under the data dir.
Prints where the ledger is, the hours the run saved and the inbox's address.
``--no-inbox`` stops after the run (tests use it).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

DATA = Path(__file__).parent / "data" / "letters.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--no-inbox", action="store_true", help="do not start the inbox")
    parser.add_argument("--port", type=int, default=8000, help="inbox port (default 8000)")
    args = parser.parse_args(argv)

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
    if not args.no_inbox:
        serve_inbox(args.port)
    return 0


def serve_inbox(port: int) -> None:
    """The inbox with the development login and demo users, plus the decision deliverer."""
    import secrets

    import uvicorn
    from pydantic import SecretStr

    from casework.inbox.app import create_app
    from casework.inbox.seed import seed_demo_users
    from casework.inbox.settings import InboxSettings
    from casework.signoff.outbox import run_forever

    seed_demo_users()
    threading.Thread(target=run_forever, name="decision-deliverer", daemon=True).start()
    settings = InboxSettings(dev_login=True, cookie_secure=False,
                             secret_key=SecretStr(secrets.token_urlsafe(32)))
    print(f"\nSign-off inbox: http://127.0.0.1:{port}/  (development login: pick a demo user, "
          "e.g. anna.byg for byggeri, karl.borger for borgerservice, mette.chef the manager; "
          "Ctrl-C stops)")
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


def _last_run_id(session) -> str:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from casework.db.models import LedgerEntry

    return session.scalar(select(LedgerEntry.flow_run_id)
                          .order_by(LedgerEntry.started_at.desc()).limit(1)) or ""


if __name__ == "__main__":
    sys.exit(main())
