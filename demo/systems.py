"""The demo's outside systems: the case-system, registry, mail-drop and Datafordeleren (DAR
address + BBR building) stand-ins on loopback, with their data under the data dir so a second
demo run continues where the first ended."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from standins import bbr, case_system, registry
from standins.mail_drop import MAIL_DOMAIN, Letter, build_message, deliver, sample_letters
from standins.server import LoopbackServer, serving

#: Two more letters than the shared sample: a citizen with a protected address (navne- og
#: adressebeskyttelse) and a sender nobody can identify. Both need a caseworker at intake.
EXTRA_LETTERS = (
    Letter(sender=f"jok@{MAIL_DOMAIN}", sender_name="Jens Ove Kristiansen",
           subject="Ændring af betalingsaftale for ejendomsskat",
           text=("Kære kommune\n\nJeg vil gerne ændre min betalingsaftale for ejendomsskatten "
                 "til månedlige rater.\nCPR 170692-7348\n\nVenlig hilsen\nJens Ove Kristiansen")),
    Letter(sender=f"ukendt@{MAIL_DOMAIN}", sender_name="A. Nielsen",
           subject="Spørgsmål om storskrald",
           text=("Hej\n\nHvornår bliver der hentet storskrald i vores område? Vi har et gammelt "
                 "køleskab, der skal væk.\n\nHilsen A. Nielsen")),
)


@dataclass(frozen=True)
class DemoSystems:
    case_system: LoopbackServer
    registry: LoopbackServer
    datafordeler: LoopbackServer
    mailbox: Path
    new_letters: int


@contextmanager
def demo_systems(data_dir: Path) -> Iterator[DemoSystems]:
    """Start the stand-ins, post the sample letters once, and point the flows at them."""
    folder = data_dir / "standins"
    folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(16)
    mailbox = folder / "post"
    posted = 0
    if not mailbox.exists():  # a second demo run finds the letters already taken in
        for letter in (*sample_letters(), *EXTRA_LETTERS):
            deliver(mailbox, build_message(letter if letter.sent_at else _now_sent(letter)))
            posted += 1
    with ExitStack() as stack:
        cases = stack.enter_context(serving(case_system.create_app(
            str(folder / "case_system.db"), token)))
        people = stack.enter_context(serving(registry.create_app(token)))
        # Building screening checks applications against the registered buildings.
        buildings = stack.enter_context(serving(bbr.create_app()))
        os.environ.update({
            "CASEWORK_BBR_GRAPHQL_URL": f"{buildings.url}/BBR/v1",
            "CASEWORK_BBR_REST_URL": f"{buildings.url}/BBR/BBRPublic/1/rest",
            "CASEWORK_DAR_GRAPHQL_URL": f"{buildings.url}/DAR/v1",
            "CASEWORK_BBR_API_KEY": bbr.API_KEY,
            "CASEWORK_CASE_SYSTEM_URL": cases.url, "CASEWORK_CASE_SYSTEM_TOKEN": token,
            "CASEWORK_REGISTRY_URL": people.url, "CASEWORK_REGISTRY_TOKEN": token,
            "CASEWORK_MAILBOX_PATH": str(mailbox),
        })
        yield DemoSystems(case_system=cases, registry=people, datafordeler=buildings,
                          mailbox=mailbox,
                          new_letters=posted)


def with_existing_cases(letters: list[Any]) -> list[Any]:
    """The bundled journal-placement letters belong to existing cases: open each once in the
    case-system stand-in (idempotent, so a second demo run finds them) and use its case id."""
    from connectors.case_system import NewCase
    from flows.settings import connector_settings

    placed = []
    with connector_settings().case_system() as client:
        for letter in letters:
            case = client.create_case(
                NewCase(title=letter.subject, case_type="general", department=letter.department),
                idempotency_key=f"demo:existing-case:{letter.message_id}")
            placed.append(letter.model_copy(update={"case_id": case.id}))
    return placed


def _now_sent(letter: Letter) -> Letter:
    from dataclasses import replace

    return replace(letter, sent_at=datetime.now(UTC))
