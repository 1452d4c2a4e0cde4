"""Acceptance: the four robots run against a real Prefect server (started here, its own home and
database), and nothing Prefect keeps names the sample citizens — no CPR number, name, address
or case number in flow runs (names, parameters, state messages), task runs, logs, artifacts, run
inputs, events, the worker's result storage, or anywhere in the server's database file."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from collections.abc import Iterator

import pytest
from prefect_stack import PSEUDONYM_KEY, PrefectServer

from standins.sample_data import load_sample


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    stack = PrefectServer(tmp_path_factory.mktemp("prefect-ui")).start()
    try:
        yield stack
    finally:
        stack.stop()


def needles() -> dict[str, str]:
    """What would identify a sample citizen, each with where it comes from."""
    sample = load_sample()
    found: dict[str, str] = {}
    for person in sample.persons:
        found[person.cpr] = f"CPR of {person.first_name}"
        found[person.cpr.replace("-", "")] = f"CPR of {person.first_name} (no dash)"
        found[person.name] = "a citizen's name"
        found[person.last_name] = "a citizen's surname"
        found[person.address.split(",")[0]] = "a citizen's address"
    for case in sample.cases:
        found[case.id] = "a case number"
    return found


def pseudonym(case_id: str) -> str:
    """``casework.privacy.pseudonymise`` under the worker's key (this process has another)."""
    return "c_" + hmac.new(PSEUDONYM_KEY.encode(), case_id.encode(),
                           hashlib.sha256).hexdigest()[:24]


def _api(server: PrefectServer, path: str, body: dict | None = None) -> list | dict:
    import httpx

    response = httpx.post(f"{server.api_url}{path}", json=body or {}, timeout=30)
    response.raise_for_status()
    return response.json()


def _everything(server: PrefectServer, path: str) -> list[dict]:
    rows: list[dict] = []
    while True:
        page = _api(server, path, {"limit": 200, "offset": len(rows)})
        assert isinstance(page, list)
        rows += page
        if len(page) < 200:
            return rows


def test_nothing_prefect_keeps_names_a_citizen(server: PrefectServer) -> None:
    summary = server.run_robots()
    # The robots did real work: letters filed, cases routed and screened, items parked.
    assert summary["intake"].get("done", 0) >= 3, summary
    assert sum(summary["routing"].values()) >= 1, summary
    assert summary["journal_placement"].get("awaiting_signoff", 0) >= 1, summary
    assert summary["decided"] == 1 and summary["journal_placement_continued"], summary
    assert sum(summary["building_screening"].values()) >= 1, summary

    flow_runs = _everything(server, "/flow_runs/filter")
    task_runs = _everything(server, "/task_runs/filter")
    logs = _everything(server, "/logs/filter")
    artifacts = _everything(server, "/artifacts/filter")
    names = [r["name"] for r in flow_runs]
    for robot in ("intake", "routing", "journal-placement", "building-screening"):
        assert any(n.startswith(f"{robot}-items-") for n in names), names  # robot and items
    assert len(task_runs) >= 8 and len(logs) >= 20 and len(artifacts) >= 4
    assert any("mode signoff" in entry["message"] for entry in logs)  # our lines reach it
    inputs = []
    for run in flow_runs:
        inputs += _api(server, f"/flow_runs/{run['id']}/input/filter",
                       {"prefix": "", "limit": 100})
    events = _api(server, "/events/filter", {"limit": 50})

    texts = {
        "flow runs": json.dumps(flow_runs, ensure_ascii=False),
        "task runs": json.dumps(task_runs, ensure_ascii=False),
        "logs": json.dumps(logs, ensure_ascii=False),
        "artifacts": json.dumps(artifacts, ensure_ascii=False),
        "run inputs": json.dumps(inputs, ensure_ascii=False),
        "events": json.dumps(events, ensure_ascii=False),
    }
    storage = server.worker_home / "storage"
    for path in storage.rglob("*") if storage.is_dir() else []:
        if path.is_file():
            texts[f"result {path.name}"] = path.read_bytes().decode("utf-8", "replace")
    with sqlite3.connect(server.root / "prefect.db") as db:
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            rows = db.execute(f'SELECT * FROM "{table}"').fetchall()  # noqa: S608
            texts[f"database table {table}"] = "\n".join(
                str(v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
                for row in rows for v in row)

    # The scan reads what the robots wrote: their log lines name cases by pseudonym instead.
    assert pseudonym("SAG-2026-0001") in texts["database table log"]
    hits = [f"{where}: {what} ({needle!r})" for where, text in texts.items()
            for needle, what in needles().items() if needle in text]
    assert hits == [], "\n".join(hits)
