"""Throughput: letters through intake → routing → journal placement as Prefect flows (governed
steps, ledger and audit rows, policy routing) vs. the same step functions in plain Python.

Both paths talk to the same kind of stand-ins over loopback (a fresh case system with a SQLite
file and a registry knowing one fictitious citizen per letter), so both do the same HTTP work:
each letter comes from a new citizen, gets a new case, is routed and placed, and gets a KLE
suggestion. Letters are taken in batches (one intake, one routing and one journal-placement
flow run per batch).

    .venv/bin/python bench/flow_throughput.py                  # 10,000 letters
    .venv/bin/python bench/flow_throughput.py --letters 500 --batch 250

Prints one JSON object: letters/second for each path and their ratio; with ``--only plain``
or ``--only prefect`` one path alone.
"""

from __future__ import annotations

import argparse
import json
import mailbox
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TOKEN = "bench-token"

BODIES = (  # (subject, text): one per department, new wording (not the training letters)
    ("Ansøgning om carport", "Jeg søger om byggetilladelse til en carport på 28 m² ved huset."),
    ("Nyt pas", "Mit pas er udløbet, og jeg skal bestille et nyt inden sommerferien."),
    ("Storskrald", "Storskraldet blev ikke hentet i sidste uge, selv om det stod ude."),
    ("Hjemmehjælp", "Jeg har brug for hjælp til rengøring efter min operation."),
    ("Vuggestueplads", "Vi søger vuggestueplads til vores søn fra januar."),
    ("Skoleskift", "Vores datter skal skifte skole efter jul, hvad skal vi gøre?"),
)


def fictitious_cpr(n: int) -> str:
    """Unique CPR-shaped numbers with a 7th digit of 5-8 and year 58-99 (born 1858-1899)."""
    day, month, year = 1 + n % 28, 1 + (n // 28) % 12, 58 + (n // 336) % 42
    serial = 5000 + n // 14112
    return f"{day:02d}{month:02d}{year:02d}-{serial:04d}"


def sample_with_citizens(count: int):  # type: ignore[no-untyped-def]
    from standins.sample_data import Sample, SamplePerson, load_sample

    base = load_sample()
    people = [SamplePerson(cpr=fictitious_cpr(n), first_name="Borger", last_name=f"Nr {n}",
                           address=f"Testvej {n % 200 + 1}", postcode="8600", city="Silkeborg",
                           municipality_code="740") for n in range(count)]
    return Sample(about=base.about, persons=[*base.persons, *people],
                  properties=base.properties, cases=base.cases)


def fill_maildir(folder: Path, count: int) -> None:
    from standins.mail_drop import MAIL_DOMAIN, Letter, build_message

    box = mailbox.Maildir(str(folder), create=True)
    start = datetime.now(UTC) - timedelta(days=1)
    for n in range(count):
        subject, text = BODIES[n % len(BODIES)]
        box.add(build_message(Letter(
            sender=f"borger{n}@{MAIL_DOMAIN}", sender_name=f"Borger Nr {n}", subject=subject,
            text=f"{text}\nCPR: {fictitious_cpr(n)}\n\nVenlig hilsen\nBorger Nr {n}",
            message_id=f"<bench-{n}@{MAIL_DOMAIN}>",
            sent_at=start + timedelta(seconds=n))).as_bytes())


@contextmanager
def stand_ins(work: Path, count: int, name: str) -> Iterator[tuple[str, str]]:
    from standins import case_system, registry
    from standins.server import serving

    with (serving(case_system.create_app(str(work / f"{name}-cases.db"), TOKEN)) as cases,
          serving(registry.create_app(TOKEN, sample=sample_with_citizens(count))) as reg):
        yield cases.url, reg.url


def loopback_get_ms(cases_url: str) -> float:
    """The stand-in's answer time for one small GET on this machine, now (context for the
    result: connector calls dominate both paths when the machine is busy)."""
    import httpx

    with httpx.Client(base_url=cases_url, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        c.get("/cases/SAG-2026-0001")
        start = time.perf_counter()
        for _ in range(20):
            c.get("/cases/SAG-2026-0001")
    return round((time.perf_counter() - start) / 20 * 1000, 1)


def journal_letters(client, case_ids: list[str]):  # type: ignore[no-untyped-def]
    """Journal placement's input for the routed cases (its ``Letter`` model)."""
    from flows.journal_placement import Letter
    from flows.routing import routing_input

    letters = []
    for case_id in case_ids:
        case = client.get_case(case_id)
        item = routing_input(client, case_id)
        letters.append(Letter(message_id=case_id, case_id=case_id, department=case.department,
                              subject=case.title, body=item.text))
    return letters


def run_prefect(work: Path, count: int, batch: int, model: Path) -> dict[str, float]:
    from flows.intake import intake
    from flows.journal_placement import journal_placement
    from flows.routing import routing
    from flows.settings import connector_settings

    folder = work / "post-prefect"
    fill_maildir(folder, count)
    with stand_ins(work, count, "prefect") as (cases_url, registry_url):
        os.environ.update({"CASEWORK_CASE_SYSTEM_URL": cases_url,
                           "CASEWORK_REGISTRY_URL": registry_url})
        latency = loopback_get_ms(cases_url)
        filed = routed = placed = 0
        start = time.perf_counter()
        with connector_settings().case_system() as client:
            while True:
                report = intake(mailbox_path=str(folder), limit=batch)
                if not report.results:
                    break
                filed += report.count("filed")
                new = new_cases(client)
                routed_now = routing(case_ids=new, model_dir=str(model))
                routed += sum(r.status == "completed" for r in routed_now)
                placed_now = journal_placement(journal_letters(client, new))
                placed += sum(r.status == "completed" for r in placed_now)
        seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 2), "letters_per_second": round(count / seconds, 2),
            "filed": filed, "routed_autonomously": routed, "journal_autonomously": placed,
            "loopback_get_ms": latency}


_seen: set[str] = set()


def new_cases(client) -> list[str]:  # type: ignore[no-untyped-def]
    """Cases intake opened since the last call (the bench's letters each open one)."""
    fresh = [c.id for c in client.list_cases(status="open")
             if c.title.startswith("Henvendelse") and c.id not in _seen]
    _seen.update(fresh)
    return fresh


def run_plain(work: Path, count: int, batch: int, model: Path) -> dict[str, float]:
    """The same step functions, undecorated: no Prefect, no policy, no ledger."""
    from casework.case import Case
    from connectors.mailbox import DropFolderMailbox
    from flows import intake as intake_flow
    from flows import journal_placement as jp
    from flows import routing as routing_flow
    from flows.connections import Systems, using
    from flows.settings import connector_settings

    def raw(step):  # type: ignore[no-untyped-def]
        return step.fn.__wrapped__  # Prefect task -> governed wrapper -> the function itself

    read, identify, open_case = (raw(intake_flow.read_letter), raw(intake_flow.identify_citizen),
                                 raw(intake_flow.open_case))
    gather, file_letter = raw(intake_flow.gather_registry_data), raw(intake_flow.file_letter)
    suggest, place = raw(routing_flow.suggest_department), raw(routing_flow.place_case)
    jp_read, jp_suggest = raw(jp.read_letter), raw(jp.suggest_journal)

    folder = work / "post-plain"
    fill_maildir(folder, count)
    _seen.clear()
    with stand_ins(work, count, "plain") as (cases_url, registry_url):
        os.environ.update({"CASEWORK_CASE_SYSTEM_URL": cases_url,
                           "CASEWORK_REGISTRY_URL": registry_url})
        latency = loopback_get_ms(cases_url)
        settings = connector_settings()
        box = DropFolderMailbox(folder)
        filed = 0
        start = time.perf_counter()
        with (settings.case_system() as client, settings.registry() as reg,
              using(Systems(cases=client, registry=reg))):
            routing_flow.load_router(model)
            while letters := box.fetch_pending(batch):
                for letter in letters:
                    probe = Case(id=f"letter:{letter.message_id}")
                    reading = read(probe, letter)
                    who = identify(probe, letter, reading)
                    case_id = who.case_id or open_case(probe, letter, reading, who).case_id
                    case = Case(id=case_id)
                    file_letter(case, letter, gather(case, letter, reading, who))
                    box.acknowledge(letter.message_id)
                    filed += 1
                new = new_cases(client)
                for case_id in new:
                    item = routing_flow.routing_input(client, case_id)
                    place(Case(id=case_id), suggest(Case(id=case_id), item, str(model))
                          .department)
                for letter in journal_letters(client, new):
                    case = Case(id=letter.case_id, department=letter.department)
                    jp_suggest(case, jp_read(case, letter))
        seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 2), "letters_per_second": round(count / seconds, 2),
            "filed": filed, "loopback_get_ms": latency}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--letters", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=250, help="letters per flow run")
    parser.add_argument("--only", choices=("plain", "prefect"))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="casework-flow-bench-"))
    os.environ.setdefault("CASEWORK_DATA_DIR", str(work / "data"))
    os.environ.setdefault("CASEWORK_PSEUDONYM_KEY", "bench")
    os.environ.setdefault("PREFECT_HOME", str(work / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("PREFECT_CLIENT_MAX_RETRIES", "10")
    os.environ.setdefault("CASEWORK_POLICY_DIR", str(REPO / "policies"))
    os.environ.update({"CASEWORK_CASE_SYSTEM_TOKEN": TOKEN, "CASEWORK_REGISTRY_TOKEN": TOKEN})

    from flows.journal_placement import _kle_suggester
    from flows.routing import train_bundled_router

    model = work / "router"
    train_bundled_router(model)
    _kle_suggester()  # load the KLE labels once, outside both timings

    out: dict[str, object] = {"benchmark": "letters through intake -> routing -> journal "
                              "placement", "letters": args.letters, "batch": args.batch,
                              "stand_ins": "case system (SQLite file) and registry on loopback"}
    if args.only != "prefect":
        out["plain_python"] = run_plain(work, args.letters, args.batch, model)
    if args.only != "plain":
        from prefect.testing.utilities import prefect_test_harness

        _seen.clear()
        with prefect_test_harness(server_startup_timeout=90):
            out["prefect_flows"] = run_prefect(work, args.letters, args.batch, model)
    if "plain_python" in out and "prefect_flows" in out:
        plain = out["plain_python"]["letters_per_second"]  # type: ignore[index]
        governed = out["prefect_flows"]["letters_per_second"]  # type: ignore[index]
        out["ratio_plain_to_prefect"] = round(plain / governed, 2)
        out["projected_seconds_for_10000"] = {
            "plain_python": round(10_000 / plain), "prefect_flows": round(10_000 / governed)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
