"""Run the four robots once against the Prefect server in PREFECT_API_URL, as a worker would:
the stand-ins (case system, registry, mail drop) on loopback, the sample citizens' letters in
the drop folder, journal placement fed letters that name them, one caseworker decision taken
through the inbox's code and the continuation run. Prints a JSON summary (counts only).

``python tests/prefect_ui/robots_run.py WORKDIR`` (the caller sets CASEWORK_* and PREFECT_*).
"""

from __future__ import annotations

import json
import mailbox
import os
import sys
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOKEN = "prefect-ui-token"


def main(workdir: Path) -> dict[str, object]:
    from casework.db import migrate
    from casework.db.session import get_engine
    from casework.settings import reset_settings_cache
    from standins import case_system, registry
    from standins.mail_drop import MAIL_DOMAIN, build_message, deliver, sample_letters
    from standins.server import serving

    with (serving(case_system.create_app(None, TOKEN)) as cases,
          serving(registry.create_app(TOKEN)) as people):
        maildir = workdir / "post"
        mailbox.Maildir(str(maildir), create=True)
        os.environ.update({
            "CASEWORK_CASE_SYSTEM_URL": cases.url, "CASEWORK_CASE_SYSTEM_TOKEN": TOKEN,
            "CASEWORK_REGISTRY_URL": people.url, "CASEWORK_REGISTRY_TOKEN": TOKEN,
            "CASEWORK_MAILBOX_PATH": str(maildir), "CASEWORK_CONNECTOR_TIMEOUT": "5",
            "CASEWORK_CONNECTOR_INITIAL_WAIT": "0.01"})
        reset_settings_cache()
        migrate.upgrade(get_engine())
        for number, letter in enumerate(sample_letters(), start=1):
            deliver(maildir, build_message(
                replace(letter, message_id=f"<sample-{number}@{MAIL_DOMAIN}>")))

        summary: dict[str, object] = {}
        from flows.intake import intake

        summary["intake"] = intake().counts

        from flows.routing import routing, train_bundled_router

        router = workdir / "router"
        train_bundled_router(router)
        summary["routing"] = routing(model_dir=str(router)).counts

        from flows.journal_placement import add_letters, journal_placement

        add_letters(_letters_naming_the_citizens(sample_letters()))
        summary["journal_placement"] = journal_placement().counts
        summary["decided"] = _decide_one_in_the_inbox("journal_placement")
        summary["journal_placement_continued"] = journal_placement().counts

        from flows.building_screening import building_screening

        summary["building_screening"] = building_screening().counts
    return summary


def _letters_naming_the_citizens(samples):  # type: ignore[no-untyped-def]
    """Journal placement's letters: the sample letters' text (CPR, names, addresses) on cases of
    the stand-in, one of them sensitive so it waits for a caseworker."""
    from flows.journal_placement import Letter

    cases = ["SAG-2026-0001", "SAG-2026-0002", "SAG-2026-0003", "SAG-2026-0001"]
    letters = []
    for number, (sample, case_id) in enumerate(zip(samples, cases, strict=True), start=1):
        body = sample.text or sample.html or ""
        letters.append(Letter(
            message_id=f"<journal-{number}@example.invalid>", case_id=case_id,
            department="byggeri", sensitive=number == 2,
            subject=f"{sample.subject} ({sample.sender_name})",
            body=f"{body}\nAfsender: {sample.sender_name}, {sample.sender}"))
    return letters


def _decide_one_in_the_inbox(flow: str) -> int:
    """A caseworker approves one parked task of ``flow`` in the inbox; the sign-off service
    delivers it (the item becomes ready for the next run)."""
    from sqlalchemy import select

    from casework.db.models import SignoffTask
    from casework.db.session import get_engine, reading
    from casework.inbox import decisions
    from casework.inbox.identity import load_user
    from casework.inbox.seed import seed_demo_users
    from casework.signoff.outbox import deliver_pending

    engine = get_engine()
    seed_demo_users(engine)
    with reading() as session:
        task = session.scalars(select(SignoffTask).where(
            SignoffTask.flow == flow, SignoffTask.status == "awaiting")).first()
        user = load_user(session, "anna.byg")
    if task is None or user is None:
        return 0
    decisions.decide(engine, user, task.id, decision="approved", version=task.version)
    return deliver_pending().delivered


if __name__ == "__main__":
    sys.path[:0] = [str(REPO)]
    print(json.dumps(main(Path(sys.argv[1]))))
