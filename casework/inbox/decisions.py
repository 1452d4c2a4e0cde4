"""Deciding, claiming and releasing sign-off tasks: one transaction each, race-safe.

A decision is a conditional ``UPDATE ... WHERE status='awaiting' AND version=:v`` (and not
claimed by someone else); of two concurrent decisions exactly one changes a row. In the same
transaction: the ledger row gets the human time and savings, the audit chain gets the event,
and the ``decision_outbox`` row for the paused flow run is inserted. The response is sent after
the commit, so a decision the user sees as saved is durable.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session

from casework import audit
from casework.db.models import DecisionOutbox, SignoffTask
from casework.db.session import transaction
from casework.inbox import review_time
from casework.inbox.identity import User, can_see, get_visible_task
from casework.inbox.queue import invalidate_counts
from casework.inbox.values import ValueRefused, check_text, check_value
from casework.ledger import Outcome, record_decision
from casework.privacy import mask_cpr
from casework.rights.review import participants

Decision = Literal["approved", "amended", "rejected"]
OUTCOMES: dict[str, Outcome] = {
    "approved": Outcome.APPROVED, "amended": Outcome.AMENDED, "rejected": Outcome.REJECTED,
}


class NotFound(Exception):
    """No such task for this user (also when it exists in another department)."""


class Refused(Exception):
    """The decision was not taken; ``key`` names the message, ``values`` fill it in."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key, self.values = key, values


@dataclass(frozen=True)
class DecisionResult:
    task_id: str
    decision: str
    human_seconds: float
    outbox_id: str | None  # None for a review task: no flow run waits for it



def _awaiting_task(s: Session, user: User, task_id: str) -> SignoffTask:
    """The task, if this user may see it (404 otherwise) and nobody has decided it yet."""
    task = get_visible_task(s, user, task_id)
    if task is None:
        raise NotFound(task_id)
    if task.status != "awaiting":
        raise Refused("already_decided", decided_by=task.decided_by or "?",
                      decision=task.decision or task.status)
    return task

def _masked(value: Any) -> Any:
    """The same JSON with every CPR number masked (audit details never hold one)."""
    if isinstance(value, str):
        return mask_cpr(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


#: Decisions a four-eyes rule refuses to the first round's decider: everything that lets the
#: robot's (or their own) work go on. Rejecting sends it back and stays open to them.
FOUR_EYES_REFUSED = frozenset({"approved", "amended"})  # a shadow answer is stored as these


def four_eyes_excluded(session: Session, task: SignoffTask, user_id: str) -> bool:
    """Four-eyes (the one definition, policies/README.md): on a ``four_eyes`` task, whoever
    decided (approved, amended or answered) an earlier sign-off of the same case may neither
    approve nor amend it, so a second person signs off."""
    if not task.four_eyes:
        return False
    return session.scalar(
        select(SignoffTask.id).where(
            SignoffTask.case_ref == task.case_ref, SignoffTask.id != task.id,
            SignoffTask.status == "decided", SignoffTask.kind != "review",
            SignoffTask.decision.in_(("approved", "amended")),
            SignoffTask.decided_by == user_id,
        ).limit(1)
    ) is not None


def _refusal_for(session: Session, task_id: str, user: User) -> Refused:
    """Why a conditional update changed nothing, read after the fact."""
    current = session.execute(select(SignoffTask).where(SignoffTask.id == task_id)
                              .execution_options(populate_existing=True)).scalar_one()
    if current.status != "awaiting":
        return Refused("already_decided", decided_by=current.decided_by or "?",
                       decision=current.decision or current.status)
    if current.claimed_by and current.claimed_by != user.id:
        return Refused("claimed_by_other", claimed_by=current.claimed_by)
    return Refused("stale")


ANSWER = "answer"  # a person's own answer to a shadow task


def same_answer(suggested: Any, answer: Any) -> bool:
    """Did the person reach the robot's answer? KLE steps compare the subject code; other
    steps every field the person gave."""
    if not isinstance(suggested, dict) or not isinstance(answer, dict):
        return suggested == answer
    if "kle" in suggested:
        return suggested.get("kle") == answer.get("kle")
    return all(suggested.get(key) == val for key, val in answer.items()
               if key not in ("amended_from",))


def decide(engine: Engine, user: User, task_id: str, *, decision: str, version: int,
           reason: str | None = None, value: Any = None, idle_cap_seconds: float = 120.0,
           now: datetime | None = None) -> DecisionResult:
    if decision not in OUTCOMES and decision != ANSWER:
        raise Refused("bad_request")
    try:
        reason = check_text(reason).strip() or None
    except ValueRefused as exc:
        raise Refused(exc.key, **exc.values) from None
    if decision in ("amended", "rejected") and not reason:
        raise Refused("reason_required")
    if decision in ("amended", ANSWER) and value is None:
        raise Refused("invalid_json")
    now = now or datetime.now(UTC)
    with transaction(engine) as s:
        task = _awaiting_task(s, user, task_id)
        review = task.kind == "review"
        shadow = task.kind == "shadow"
        if shadow != (decision == ANSWER):  # a shadow task takes the person's own answer only
            raise Refused("bad_request")
        if value is not None:
            # Checked against the step's result model before anything is stored or audited.
            if not isinstance(value, dict):
                raise Refused("invalid_json")
            try:
                value = check_value(task.payload or {}, value)
            except ValueRefused as exc:
                raise Refused(exc.key, **exc.values) from None
        suggested = (task.payload or {}).get("suggestion")
        if shadow:
            # Stored as agreement with the robot: "approved" if the answers match.
            decision = "approved" if same_answer(suggested, value) else "amended"
        if review:
            _refuse_participant(s, task, user.id)
        if task.claimed_by and task.claimed_by != user.id:
            raise Refused("claimed_by_other", claimed_by=task.claimed_by)
        if decision in FOUR_EYES_REFUSED and four_eyes_excluded(s, task, user.id):
            raise Refused("four_eyes_refused")
        seconds = review_time.human_seconds(s, task.id, now, idle_cap_seconds)
        stored_value = value if decision == "amended" else None
        changed = s.execute(
            update(SignoffTask)
            .where(SignoffTask.id == task.id, SignoffTask.status == "awaiting",
                   SignoffTask.version == version,
                   or_(SignoffTask.claimed_by.is_(None), SignoffTask.claimed_by == user.id))
            .values(status="decided", decision=decision, decision_value=stored_value,
                    decision_reason=reason, decided_by=user.id, decided_at=now,
                    version=SignoffTask.version + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            raise _refusal_for(s, task.id, user)
        record_decision(s, task.ledger_entry_id,
                        Outcome.DONE_BY_PERSON if shadow else OUTCOMES[decision], seconds,
                        decided_at=now)
        audit.append(
            s, actor=user.id,
            action=(f"review.{decision}" if review else
                    f"shadow.{'agreed' if decision == 'approved' else 'differed'}" if shadow
                    else f"signoff.{decision}"),
            flow=task.flow, step=task.step,
            case_ref=task.case_ref, at=now,
            details=_masked({
                "signoff_task_id": task.id,
                "suggested": (task.payload or {}).get("suggestion"),
                "decided": stored_value if decision == "amended" else
                (task.payload or {}).get("suggestion") if decision == "approved" else None,
                "reason": reason,
                "human_seconds": seconds,
                "four_eyes": task.four_eyes,
            }),
        )
        outbox_id: str | None = None
        if not review:  # a reviewed run ended long ago: nothing to resume
            outbox_id = str(uuid.uuid4())
            s.add(DecisionOutbox(
                id=outbox_id, signoff_task_id=task.id, flow_run_id=task.flow_run_id,
                run_input={"decision": decision, "value": stored_value, "reason": reason,
                           "decided_by": user.id, "human_seconds": seconds},
                status="pending", attempts=0, created_at=now,
            ))
    invalidate_counts()  # the badges show this decision at once
    return DecisionResult(task_id=task_id, decision=decision, human_seconds=seconds,
                          outbox_id=outbox_id)


def claim(engine: Engine, user: User, task_id: str, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    with transaction(engine) as s:
        task = get_visible_task(s, user, task_id)
        if task is None:
            raise NotFound(task_id)
        if task.kind == "review":
            _refuse_participant(s, task, user.id)
        if four_eyes_excluded(s, task, user.id):  # holding it would only block the second person
            raise Refused("four_eyes_refused")
        changed = s.execute(
            update(SignoffTask)
            .where(SignoffTask.id == task_id, SignoffTask.status == "awaiting",
                   or_(SignoffTask.claimed_by.is_(None), SignoffTask.claimed_by == user.id))
            .values(claimed_by=user.id, claimed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            raise _refusal_for(s, task_id, user)
        audit.append(s, actor=user.id, action="signoff.claimed", flow=task.flow, step=task.step,
                     case_ref=task.case_ref, at=now, details={"signoff_task_id": task_id})


def release(engine: Engine, user: User, task_id: str, *, reassign_to: User | None = None,
            now: datetime | None = None) -> None:
    """The holder releases; a team lead may release or reassign anyone's claim."""
    now = now or datetime.now(UTC)
    with transaction(engine) as s:
        task = _awaiting_task(s, user, task_id)
        holder_is_me = task.claimed_by == user.id
        if (reassign_to is not None or not holder_is_me) and not user.is_lead:
            raise Refused("forbidden")
        if reassign_to is not None and not can_see(reassign_to, task):
            raise Refused("bad_request")
        if reassign_to is not None and task.kind == "review":
            _refuse_participant(s, task, reassign_to.id)
        if reassign_to is not None and four_eyes_excluded(s, task, reassign_to.id):
            raise Refused("four_eyes_refused")
        new_holder = reassign_to.id if reassign_to else None
        s.execute(update(SignoffTask).where(SignoffTask.id == task_id,
                                            SignoffTask.status == "awaiting")
                  .values(claimed_by=new_holder, claimed_at=now if new_holder else None)
                  .execution_options(synchronize_session=False))
        audit.append(s, actor=user.id,
                     action="signoff.reassigned" if new_holder else "signoff.released",
                     flow=task.flow, step=task.step, case_ref=task.case_ref, at=now,
                     details={"signoff_task_id": task_id, "previous": task.claimed_by,
                              "to": new_holder})


def _refuse_participant(s: Session, task: SignoffTask, user_id: str) -> None:
    """A review is done by someone who took no part in the case (GDPR Art. 22(3))."""
    if user_id in participants(s, task.case_ref, exclude_task_id=task.id):
        raise Refused("review_participant_refused")
