"""The sign-off service says what it delivered: one log line per delivery (task, run, outcome)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import pytest

from casework.db.models import DecisionOutbox
from casework.db.session import transaction
from casework.signoff.outbox import deliver_pending


@pytest.mark.usefixtures("prefect_api", "db_engine")
def test_each_delivery_is_one_log_line(caplog: pytest.LogCaptureFixture, db_engine) -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "inbox"))
    from inbox_helpers import make_task

    task_id, run_id = make_task(db_engine), str(uuid.uuid4())  # a run Prefect never had
    with transaction() as s:
        s.execute(DecisionOutbox.__table__.insert().values(
            id=str(uuid.uuid4()), signoff_task_id=task_id, flow_run_id=run_id,
            run_input={"decision": "approved"}, status="pending", attempts=0,
            created_at=datetime.now(UTC)))
    with caplog.at_level(logging.INFO, logger="casework.signoff.outbox"):
        report = deliver_pending()
    assert report.failed == 1
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("delivery:")]
    assert lines == [f"delivery: task {task_id}, run {run_id}, outcome failed "
                     "(flow run no longer exists)"]
