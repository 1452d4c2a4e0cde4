"""The main job on the embedded default: the four casework robots on bundled realistic Danish
sample data, then the sign-off inbox so the prepared work can be approved, amended or rejected.

1. intake: letters from a mail drop → citizen and case identified in the case system, registry
   data gathered and filed (case system, registry and mail drop are local stand-ins);
2. routing: open cases without a department get one (a router trained on bundled letters);
3. journal placement: KLE subjects for the bundled letters in demo/data/letters.jsonl;
4. building screening: building applications checked against the required documents and the
   buildings registered at the property (BBR, a local stand-in), a letter asking for what is
   missing drafted for sign-off.

Prefect runs on its local (ephemeral) server, the ledger in a SQLite file under the data dir.
Prints where the ledger is, the hours the run saved and the inbox's address. Running it again
lets the robots pick up the decisions made in the inbox. ``--no-inbox`` stops after the run.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from casework.ops.prefect_env import quiet_temporary_server

DATA = Path(__file__).parent / "data" / "letters.jsonl"

# The demo's temporary Prefect server sends no usage data (without internet its telemetry logs a
# failure and, racing the server's start, once a locked-database traceback).
quiet_temporary_server()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--no-inbox", action="store_true", help="do not start the inbox")
    parser.add_argument("--port", type=int, default=8000, help="inbox port (default 8000)")
    args = parser.parse_args(argv)

    from casework.db import migrate
    from casework.db.session import get_engine
    from casework.settings import get_settings
    from demo.systems import demo_systems

    settings = get_settings()
    migrate.upgrade(get_engine())
    started = datetime.now(UTC)
    print("Casework robots demo (Prefect local server starting, first time ~15 s)")
    with demo_systems(settings.data_dir) as systems:
        print(f"Stand-ins: case system {systems.case_system.url}, registry "
              f"{systems.registry.url}, DAR/BBR {systems.datafordeler.url}, "
              f"mail drop {systems.mailbox} "
              f"({systems.new_letters} new letters)")
        run_intake_and_routing()
        run_journal_placement()
        run_building_screening()
        print_totals(settings.effective_database_url, started)
        if not args.no_inbox:
            serve_inbox(args.port)
    return 0


def run_intake_and_routing() -> None:
    from flows.intake import intake
    from flows.routing import routing

    report = intake()
    print(f"\n1. Intake: {len(report.rows)} letters to take in ({_counts(report)})")
    for r in report.rows:
        result = r.result or {}
        print(f"   {r.item_id[:8]:<10} {r.outcome or r.state.value:<18} case {r.case_ref or '-'}"
              f"{'  (new case)' if result.get('new_case') else ''}"
              f"{'  ' + r.error if r.error else ''}")
    routed = routing()
    print(f"\n2. Routing: {len(routed.rows)} cases to route ({_counts(routed)})")
    for r in routed.rows:
        result = r.result or {}
        confidence = (f"{result['confidence']:.2f}" if result.get("confidence") is not None
                      else "-")
        print(f"   {r.case_ref or '-':<28} {r.outcome or r.state.value:<18} "
              f"{result.get('department') or '-':<16} confidence {confidence}")


def _counts(report) -> str:  # type: ignore[no-untyped-def]
    """'3 done, 1 awaiting sign-off' — what a run did with its work items."""
    names = {"done": "done", "awaiting_signoff": "awaiting sign-off", "failed": "failed",
             "manual": "handed to a person", "ready": "held"}
    counts = report.counts
    return ", ".join(f"{n} {names.get(state, state)}" for state, n in counts.items()) or "none new"


def run_journal_placement() -> None:
    from demo.systems import with_existing_cases
    from flows.journal_placement import Letter, add_letters, journal_placement

    letters = [Letter.model_validate(json.loads(line))
               for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    added = add_letters(with_existing_cases(letters))
    letter_of = dict(zip(added.ids, letters, strict=True))
    report = journal_placement()
    print(f"\n3. Journal placement: {len(letters)} letters from {DATA.name}, "
          f"{len(added.new)} new; this run: {_counts(report)}")
    print(f"   {'letter':<8} {'subject':<42} {'outcome':<18} {'KLE':<9} confidence")
    rows = sorted(report.rows, key=lambda r: getattr(letter_of.get(r.item_id), "message_id", ""))
    for r in rows:
        letter = letter_of.get(r.item_id)
        kle, confidence = _journal_suggestion(r)
        print(f"   {letter.message_id if letter else r.item_id[:8]:<8} "
              f"{_fit(letter.subject if letter else '-', 42):<42} "
              f"{r.outcome or r.state.value:<18} {kle:<9} {confidence}"
              f"{'  ' + r.error if r.error else ''}")


def _journal_suggestion(row) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """The KLE code a letter got (or was suggested, when it waits for a caseworker) and the
    calibrated confidence of the suggestion, as the caseworker sees it."""
    suggested = _step_result(row.item_id, "suggest_journal")
    kle = (row.result or {}).get("kle") or suggested.get("kle")
    confidence = suggested.get("confidence")
    shown = f"{float(confidence):.0%}" if confidence is not None else "-"
    return kle or "-", shown


def run_building_screening() -> None:
    from flows.building_screening import building_screening

    report = building_screening()
    print(f"\n4. Building screening: {len(report.rows)} building applications to screen "
          f"({_counts(report)})")
    print(f"   {'case (pseudonymised)':<28} {'outcome':<18} {'application':<20} "
          f"{'missing documents':<28} waits at")
    for r in report.rows:
        screening = _step_result(r.item_id, "screen_application")
        missing = ", ".join(m.get("title", "?") for m in screening.get("missing") or []) or "-"
        print(f"   {r.case_ref or '-':<28} {r.outcome or r.state.value:<18} "
              f"{screening.get('application_type') or '-':<20} {_fit(missing, 28):<28} "
              f"{_waiting_step(r)}{'  ' + r.error if r.error else ''}")


def _fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` with an ellipsis, so the next column stays readable."""
    return text if len(text) <= width else text[:width - 1] + "…"


def _step_result(item_id: str, step: str) -> dict:
    """What one step of a work item produced (its stored, typed result), or {}."""
    from sqlalchemy import select

    from casework.db.models import ItemStep
    from casework.db.session import reading

    with reading() as session:
        result = session.scalars(select(ItemStep.result).where(
            ItemStep.work_item_id == item_id, ItemStep.step == step)).first()
    return result if isinstance(result, dict) else {}


def _waiting_step(row) -> str:  # type: ignore[no-untyped-def]
    """The step an item waits at for a caseworker, or '-'."""
    from casework.db.models import SignoffTask
    from casework.db.session import reading

    if not row.signoff_task_id:
        return "-"
    with reading() as session:
        task = session.get(SignoffTask, row.signoff_task_id)
        return task.step if task else "-"


def print_totals(database_url: str, started: datetime) -> None:
    from sqlalchemy import func, select

    from casework import ledger
    from casework.db.models import LedgerEntry, SignoffTask
    from casework.db.session import reading

    with reading() as session:
        run_saved = session.scalar(select(func.coalesce(func.sum(LedgerEntry.saved_minutes), 0.0))
                                   .where(LedgerEntry.started_at >= started))
        waiting = session.scalar(select(func.count()).select_from(SignoffTask)
                                 .where(SignoffTask.status == "awaiting"))
        total = ledger.total_saved_hours(session)
    print(f"\nLedger: {database_url}")
    print(f"Hours saved by this run: {float(run_saved or 0) / 60:.2f} "
          f"(all runs so far: {total:.2f}); sign-off tasks awaiting a caseworker: {waiting}")


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


if __name__ == "__main__":
    sys.exit(main())
