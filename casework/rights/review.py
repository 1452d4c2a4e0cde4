"""A citizen's request for human review of an automated step (GDPR Art. 22(3)).

The request becomes a sign-off task of its own (``kind = "review"``) for the reviewed step,
carrying the case's full history (the explanation), and is given to a person of the case's
department who may sign off that step and who took no part in the case: not the decider of any
of its tasks, not someone who claimed one. Nobody eligible? It waits unassigned in the team's
queue, and the audit event says so. The inbox refuses a participant's decision on it.

The review gets a ledger row of its own (mode ``manual``, baseline 0), so the person's review
time shows as what it is: a cost of the automation, never a saving.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import Engine, and_, func, select
from sqlalchemy.orm import Session

from casework import audit, ledger
from casework.db.models import (
    AuditEvent,
    InboxUser,
    InboxUserDepartment,
    InboxUserRole,
    LedgerEntry,
    SignoffTask,
)
from casework.db.session import transaction
from casework.ledger import Mode, Outcome, StepRecord
from casework.privacy import mask_cpr
from casework.rights.explain import CaseNotFound, case_ref_of, gather, stored_policies
from casework.rights.explain_render import render
from casework.settings import get_settings
from casework.signoff.tasks import create_signoff_task, to_jsonable

RequestedVia = Literal["letter", "email", "digital_post", "phone", "in_person", "self_service"]
REQUESTED_VIA: tuple[str, ...] = RequestedVia.__args__  # type: ignore[attr-defined]
REVIEW_REASON = "the citizen asked for human review of an automated step (GDPR Art. 22(3))"
REVIEW_DEADLINE_HOURS = 30 * 24  # answer within a month (GDPR Art. 12(3))
NOBODY_ELIGIBLE = "no active person of the department who may sign off this step took no part"


class ReviewError(ValueError):
    """The request cannot be registered as given (unknown step, nothing automated)."""


def request_review(case_ref_or_id: str, *, step: str | None, requested_via: str, reason: str,
                   registered_by: str = "system:cli", engine: Engine | None = None,
                   now: datetime | None = None) -> SignoffTask:
    """Register the request; returns the new review task (``claimed_by`` = the reviewer)."""
    if requested_via not in REQUESTED_VIA:
        raise ReviewError(f"requested_via must be one of {', '.join(REQUESTED_VIA)}, "
                          f"not {requested_via!r}")
    reason = mask_cpr(reason.strip())
    if not reason:
        raise ReviewError("a review request needs the citizen's reason (what they disagree with)")
    case_ref = case_ref_of(case_ref_or_id)
    now = now or datetime.now(UTC)
    with transaction(engine) as session:
        target = _reviewed_entry(session, case_ref, step)
        reviewed = session.scalar(select(SignoffTask)
                                  .where(SignoffTask.ledger_entry_id == target.id))
        department = (reviewed.department if reviewed else None) or target.department
        if department is None:
            raise ReviewError(f"step {target.step!r} of case {case_ref} has no department, so "
                              "no team can review it")
        roles = _signoff_roles(session, target, reviewed)
        reviewer = pick_reviewer(session, case_ref, department, roles)
        explanation = gather(session, case_ref, get_settings().language)  # type: ignore[arg-type]
        explanation.text = render(explanation, "text")
        task = _store(session, target, reviewed, department, roles, now)
        task.claimed_by, task.claimed_at = reviewer, (now if reviewer else None)
        task.payload = {
            **task.payload,
            "review_of": {"ledger_id": target.id, "step": target.step,
                          "signoff_task_id": reviewed.id if reviewed else None,
                          "whole_case": step is None},
            "request": {"requested_via": requested_via, "reason": reason,
                        "registered_by": registered_by},
            "history": explanation.model_dump(mode="json", exclude={"text"}),
            "explanation_text": explanation.text,
        }
        audit.append(session, actor=registered_by, action="review.requested", flow=target.flow,
                     step=target.step, case_ref=case_ref, at=now, details={
                         "signoff_task_id": task.id, "reviewed_ledger_id": target.id,
                         "requested_via": requested_via, "assigned_to": reviewer,
                         "unassigned_reason": None if reviewer else NOBODY_ELIGIBLE})
    return task


def _reviewed_entry(session: Session, case_ref: str, step: str | None) -> LedgerEntry:
    """The step run under review: the named step's latest automated run, else the case's
    latest automated decision, else its latest automated step."""
    reviews = select(SignoffTask.ledger_entry_id).where(SignoffTask.case_ref == case_ref,
                                                        SignoffTask.kind == "review")
    entries = session.scalars(
        select(LedgerEntry).where(LedgerEntry.case_ref == case_ref,
                                  LedgerEntry.mode.in_(("autonomous", "signoff")),
                                  LedgerEntry.id.not_in(reviews))
        .order_by(LedgerEntry.started_at.desc())).all()
    if not entries:
        if session.scalar(select(LedgerEntry.id).where(LedgerEntry.case_ref == case_ref)
                          .limit(1)) is None:
            raise CaseNotFound(f"no recorded step for case {case_ref}")
        raise ReviewError(f"case {case_ref} has no automated step to review")
    if step is not None:
        for entry in entries:
            if entry.step == step:
                return entry
        names = ", ".join(sorted({e.step for e in entries}))
        raise ReviewError(f"case {case_ref} has no automated step {step!r} (its automated "
                          f"steps: {names})")
    return next((e for e in entries if e.step_kind == "decision"), entries[0])


def _signoff_roles(session: Session, entry: LedgerEntry, task: SignoffTask | None) -> list[str]:
    """Who may sign off the reviewed step: its task's roles, else its policy's."""
    if task is not None and task.signoff_roles:
        return list(task.signoff_roles)
    policy = stored_policies(session, {entry.policy_hash}).get(entry.policy_hash)
    step_policy = policy.model.steps.get(entry.step) if policy else None
    return list(step_policy.signoff_by.roles) if step_policy else ["caseworker"]


def participants(session: Session, case_ref: str, *, exclude_task_id: str | None = None
                 ) -> set[str]:
    """People who took part in the case: deciders of its tasks and anyone who claimed,
    released, reassigned or decided one (from the audit log). Robots and the system are not
    people and are left out."""
    people = set(session.scalars(select(SignoffTask.decided_by).where(
        SignoffTask.case_ref == case_ref, SignoffTask.decided_by.is_not(None),
        SignoffTask.id != (exclude_task_id or ""))))
    for actor, action, details in session.execute(
            select(AuditEvent.actor, AuditEvent.action, AuditEvent.details)
            .where(AuditEvent.case_ref == case_ref)):
        if not action.startswith(("signoff.", "review.")) or action == "review.requested":
            continue
        if exclude_task_id and (details or {}).get("signoff_task_id") == exclude_task_id:
            continue
        people.add(actor)
    return {p for p in people if p and not p.startswith(("robot:", "system:"))}


def pick_reviewer(session: Session, case_ref: str, department: str, roles: list[str]
                  ) -> str | None:
    """The eligible person with the fewest open tasks claimed (ties: by id), or None."""
    taken_part = participants(session, case_ref)
    open_tasks = (select(SignoffTask.claimed_by, func.count().label("n"))
                  .where(SignoffTask.status == "awaiting", SignoffTask.claimed_by.is_not(None))
                  .group_by(SignoffTask.claimed_by).subquery())
    rows = session.execute(
        select(InboxUser.id, func.coalesce(open_tasks.c.n, 0))
        .join(InboxUserDepartment, and_(InboxUserDepartment.user_id == InboxUser.id,
                                        InboxUserDepartment.department == department))
        .join(InboxUserRole, and_(InboxUserRole.user_id == InboxUser.id,
                                  InboxUserRole.role.in_(roles)))
        .outerjoin(open_tasks, open_tasks.c.claimed_by == InboxUser.id)
        .where(InboxUser.active.is_(True))
        .distinct()
    ).all()
    eligible = sorted((n, uid) for uid, n in rows
                      if uid not in taken_part and not uid.startswith(("robot:", "system:")))
    return eligible[0][1] if eligible else None


def is_review(task: SignoffTask) -> bool:
    return task.kind == "review"


def _store(session: Session, entry: LedgerEntry, reviewed: SignoffTask | None, department: str,
           roles: list[str], now: datetime) -> SignoffTask:
    """The review's own ledger row (a person's work: baseline 0) and its task."""
    ledger_id = str(uuid.uuid4())
    ledger.record_step(session, StepRecord(
        id=ledger_id, flow=entry.flow, flow_run_id=entry.flow_run_id, step=entry.step,
        step_kind=entry.step_kind, case_ref=entry.case_ref, policy_hash=entry.policy_hash,
        mode=Mode.MANUAL, outcome=Outcome.AWAITING_SIGNOFF, robot_seconds=0.0,
        baseline_minutes=0.0, department=department, kle_subject=entry.kle_subject,
        reasons=[REVIEW_REASON], started_at=now))
    session.flush()
    payload = (reviewed.payload or {}) if reviewed else {}
    used = reviewed.decision_value if reviewed and reviewed.decision == "amended" else (
        payload.get("suggestion") if reviewed else
        ({"kle": entry.kle_subject} if entry.kle_subject else None))
    task = create_signoff_task(
        session, ledger_entry_id=ledger_id, flow=entry.flow, flow_run_id=entry.flow_run_id,
        step=entry.step, case_ref=entry.case_ref, department=department,
        roles=sorted(set(roles) | {"team_lead"}), departments=[department],
        suggestion=to_jsonable(used), reasons=[REVIEW_REASON],
        case_summary=payload.get("case_summary"), deadline_hours=REVIEW_DEADLINE_HOURS,
        policy_hash=entry.policy_hash, now=now)
    task.kind = "review"
    return task
