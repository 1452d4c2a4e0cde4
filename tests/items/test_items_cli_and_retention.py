"""``casework items`` for automation teams, and retention reaching work items' payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from casework.cli import app
from casework.db.models import ItemStep, WorkItem
from casework.db.session import reading, transaction
from casework.items import queue
from casework.items.memo import CurrentItem, store_step
from casework.items.queue import NewItem
from casework.rights.retention import apply_retention

pytestmark = pytest.mark.usefixtures("db_engine")
runner = CliRunner()
CPR = "120379-1234"


def test_add_from_a_file_is_idempotent_and_names_bad_lines(tmp_path: Path) -> None:
    good = tmp_path / "letters.jsonl"
    good.write_text(json.dumps({"message_id": "m1", "case_id": "SAG-1", "body": f"cpr {CPR}"})
                    + "\n\n" + json.dumps({"message_id": "m2", "case_id": "SAG-2"}) + "\n")
    args = ["items", "add", "--flow", "journal_placement", "--file", str(good),
            "--key-field", "message_id", "--case-field", "case_id"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0 and "2 new item(s), 0 already queued" in first.output
    again = runner.invoke(app, args)
    assert "0 new item(s), 2 already queued" in again.output

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"message_id": "m3"}) + "\n{not json\n")
    result = runner.invoke(app, ["items", "add", "--flow", "journal_placement", "--file",
                                 str(bad), "--key-field", "message_id"])
    assert result.exit_code == 1 and f"{bad}:2: not JSON" in result.output
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = runner.invoke(app, ["items", "add", "--flow", "x", "--file", str(empty),
                                 "--key-field", "id"])
    assert result.exit_code == 1 and "the file is empty" in result.output


def test_list_show_and_retry(tmp_path: Path) -> None:
    [item_id] = queue.add("journal_placement", [NewItem(
        key="message:m9", payload={"body": f"Mit CPR er {CPR}"})]).ids
    [claimed] = queue.claim("journal_placement", "w1", limit=1, lease_seconds=60)
    queue.fail(item_id, "w1", error=f"boom for {CPR}", retry_seconds=0, case_ref=None)

    listed = runner.invoke(app, ["items", "list", "--flow", "journal_placement"])
    assert listed.exit_code == 0 and item_id in listed.output and "failed" in listed.output
    assert CPR not in listed.output
    shown = runner.invoke(app, ["items", "show", item_id, "--payload"])
    assert shown.exit_code == 0 and "attempts" in shown.output and CPR not in shown.output
    assert "Mit CPR er" in shown.output
    assert runner.invoke(app, ["items", "list", "--state", "bogus"]).exit_code == 1

    retried = runner.invoke(app, ["items", "retry", item_id, "--by", "ops"])
    assert retried.exit_code == 0 and "ready" in retried.output
    refused = runner.invoke(app, ["items", "retry", item_id, "--by", "ops"])
    assert refused.exit_code == 1 and "only failed or manual" in refused.output
    assert runner.invoke(app, ["items", "show", "no-such-id"]).exit_code == 1


def test_retention_erases_finished_items_payloads_and_step_results() -> None:
    old, recent = queue.add("intake", [NewItem(key="message:old", payload={"raw": CPR}),
                                       NewItem(key="message:new", payload={"raw": CPR})]).ids
    queue.claim("intake", "w", limit=2, lease_seconds=60)
    for item_id in (old, recent):
        item = CurrentItem(id=item_id, flow="intake", key="k", flow_run_id="r")
        with transaction() as session:
            store_step(session, item, run_id=f"{item_id[:30]}-s", step="read_letter", call=0,
                       mode="autonomous", reasons=[], result={"cpr": CPR},
                       signoff_task_id=None)
        queue.finish(item_id, "w", state=queue.ItemState.DONE, outcome="filed", result={"x": 1},
                     case_ref=None)
    now = datetime.now(UTC)
    with transaction() as session:
        session.get(WorkItem, old).finished_at = now - timedelta(days=400)

    report = apply_retention(now=now)
    assert report.items_erased == 1
    with reading() as session:
        erased, kept = session.get(WorkItem, old), session.get(WorkItem, recent)
        steps = {s.work_item_id: s.result for s in session.scalars(select(ItemStep))}
    assert erased.payload is None and erased.result is None and erased.payload_erased_at
    assert erased.state == "done"  # still known as done: a re-collected letter adds nothing
    assert steps[old] is None and steps[recent] == {"cpr": CPR}
    assert kept.payload == {"raw": CPR}
    assert queue.add("intake", [NewItem(key="message:old", payload={"raw": "again"})]).new == []
    assert apply_retention(now=now).items_erased == 0


def test_a_letter_added_by_file_and_by_its_robot_is_one_item(tmp_path: Path) -> None:
    from flows.journal_placement import Letter, add_letters

    letter = {"message_id": "<m-77@kommune.dk>", "case_id": "SAG-7", "subject": "Carport",
              "body": "Ansøgning"}
    file = tmp_path / "one.jsonl"
    file.write_text(json.dumps(letter) + "\n")
    added = runner.invoke(app, ["items", "add", "--flow", "journal_placement", "--file",
                                str(file), "--key-field", "message_id"])
    assert "1 new item(s)" in added.output
    assert add_letters([Letter(**letter)]).new == []
