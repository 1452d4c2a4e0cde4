"""A flow run outside work items waits for a caseworker's decision: pause (in process) or
suspend (the process ends, the run starts again from the top when woken).

Only the sign-off service's wake-up counts, and only because the decision is then in our
database. A run woken any other way — the Resume button in Prefect's UI, ``prefect flow-run
resume``, the API — finds no decision: the resume is audited (``signoff.resumed_outside_inbox``)
and the run waits again under a fresh pause key, so it never finishes without the step and the
inbox's later decision still reaches it.

Pause keys are ``signoff-<task>``, then ``signoff-<task>-1``, ``-2``…: a suspended run that
starts again from the top walks past the keys that already fired (Prefect hands those back at
once) to the first one that did not, and waits there.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run, suspend_flow_run
from sqlalchemy import select

from casework import audit
from casework.db.models import AuditEvent, SignoffTask
from casework.db.session import reading, transaction
from casework.settings import get_settings
from casework.signoff.decisions import signoff_input_for, stored_decision

log = logging.getLogger(__name__)

OUTSIDE_RESUME = "signoff.resumed_outside_inbox"
MAX_WAITS = 100  # a run resumed by hand this often stops waiting (still awaiting, never approved)


def pause_key(task_id: str, attempt: int) -> str:
    return f"signoff-{task_id}" if attempt == 0 else f"signoff-{task_id}-{attempt}"


def wait_for_decision(task_id: str, strategy: str) -> None:
    """Return once the task has a stored decision, or when the wait times out (the task stays
    awaiting: escalation is the deadline handler's job, never approval). ``strategy`` is
    ``pause`` or ``suspend`` (which ends this process while it waits)."""
    with reading() as session:
        task = session.get(SignoffTask, task_id)
        if task is None:
            raise LookupError(f"no sign-off task {task_id}")
        deadline, flow, step, case_ref = task.deadline, task.flow, task.step, task.case_ref
    form = signoff_input_for(task_id)
    for attempt in range(MAX_WAITS):
        key = pause_key(task_id, attempt)
        try:
            if strategy == "suspend":
                suspend_flow_run(wait_for_input=form, timeout=_max_wait(deadline), key=key,
                                 _sync=True)  # type: ignore[call-arg]
            else:
                # _sync: a flow that drives a browser has an event loop in this thread; without
                # it Prefect would hand back an un-awaited coroutine and never wait.
                pause_flow_run(wait_for_input=form, timeout=_max_wait(deadline),
                               poll_interval=1, key=key, _sync=True)  # type: ignore[call-arg]
        except FlowPauseTimeout:
            return
        if stored_decision(task_id) is not None:
            return
        _record_outside_resume(task_id, key, flow=flow, step=step, case_ref=case_ref)
    log.warning("sign-off task %s: the run was resumed outside the inbox %d times; it stops "
                "waiting and the step stays awaiting sign-off", task_id, MAX_WAITS)


def _max_wait(deadline: datetime | None) -> int:
    max_wait = get_settings().signoff_max_wait_hours * 3600
    if deadline is not None:
        deadline = deadline if deadline.tzinfo else deadline.replace(tzinfo=UTC)
        max_wait = max(60.0, (deadline - datetime.now(UTC)).total_seconds())
    return int(max_wait)


def _flow_run_id() -> str | None:
    ctx = FlowRunContext.get()
    return str(ctx.flow_run.id) if ctx and ctx.flow_run else None


def _record_outside_resume(task_id: str, key: str, *, flow: str, step: str,
                           case_ref: str) -> None:
    """Audit a wake-up without a decision, once per pause key (a suspended run walks past the
    keys that fired each time it starts again)."""
    flow_run_id = _flow_run_id()
    with transaction() as session:
        seen = session.scalars(select(AuditEvent.details).where(
            AuditEvent.action == OUTSIDE_RESUME, AuditEvent.case_ref == case_ref,
            AuditEvent.step == step))
        if any((d or {}).get("task_id") == task_id and (d or {}).get("pause_key") == key
               and (d or {}).get("flow_run_id") == flow_run_id for d in seen):
            return
        audit.append(session, actor=f"robot:{flow}", action=OUTSIDE_RESUME, flow=flow,
                     step=step, case_ref=case_ref,
                     details={"flow_run_id": flow_run_id, "task_id": task_id,
                              "pause_key": key, "outcome": "waits again"})
    log.warning("flow run %s was resumed outside the sign-off inbox: task %s has no decision; "
                "the resume is audited and the run waits again", flow_run_id, task_id)
