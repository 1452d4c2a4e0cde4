"""Carrying out a party hearing (partshøring, forvaltningsloven § 19) before a decision.

``casework.policy.hearing`` says whether the party must be heard; this module does it, for a
flow that calls ``robot.party_hearing(...)`` before its decision step:

1. the runtime inserts the step ``party_hearing``: a draft letter listing the adverse facts
   from other sources and a reply deadline, always for a caseworker's sign-off (who may amend
   the text);
2. once approved, the letter is handed to the flow's ``send`` (if any) and recorded as sent in
   ``party_hearings`` (its SHA-256, never its text) with the reply deadline;
3. the decision waits until the party's reply is registered (``register_reply``: the CLI or
   the inbox) or the deadline passes (``wake_expired_hearings``, run by the sign-off service).

The database is the source of truth: one hearing per case, flow and decision step, so a re-run
(``CASEWORK_SIGNOFF_WAIT=record``, or a resumed ``suspend``) finds it and never writes or sends
a second letter. A run that pauses is woken through ``hearing_wakeups``, delivered like a
decision by ``casework.signoff.outbox``.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Literal

from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run, suspend_flow_run
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from casework import audit, ledger, letters
from casework.case import Case
from casework.db.models import AuditEvent, HearingWakeup, PartyHearing, SignoffTask
from casework.db.session import reading, transaction
from casework.ledger import Mode, Outcome, StepRecord
from casework.policy.hearing import (
    PARTY_HEARING_STEP,
    GatheredFact,
    HearingDecision,
    facts_to_put,
    hearing_required,
    hearing_step_policy,
)
from casework.settings import get_settings
from casework.signoff.decisions import StoredDecision, mark_consumed, stored_decision
from casework.signoff.tasks import create_signoff_task

if TYPE_CHECKING:
    from casework.runtime import CaseworkFlow

#: Appended to every hearing letter (AI Act Art. 50): prepared with automated help, checked by
#: a caseworker. Put back if a caseworker's amended text dropped it.
HEARING_AI_NOTICE = (
    "Om dette brev: Brevet er forberedt med automatisk hjælp. Et it-system har samlet de "
    "oplysninger, vi har indhentet, og foreslået teksten, og en sagsbehandler har kontrolleret "
    "og godkendt brevet. Du er velkommen til at kontakte os, hvis du har spørgsmål."
)
#: A suspended run's own timeout runs this long past the reply deadline, so that the sign-off
#: service's deadline pass (not Prefect's expiry) is what wakes it.
SUSPEND_GRACE = timedelta(hours=6)
HEARING_OUTSIDE_RESUME = "hearing.resumed_outside_casework"
MAX_WAITS = 100  # resumed by hand this often: the run stops waiting, the decision still waits

log = logging.getLogger(__name__)

HearingStatus = Literal["not_required", "awaiting_letter_signoff", "awaiting_reply",
                        "reply_received", "deadline_passed", "letter_rejected"]
PROCEED = frozenset({"not_required", "reply_received", "deadline_passed"})


class HearingError(ValueError):
    """A reply that cannot be registered; the message says why."""


class HearingDraft(BaseModel):
    """What the flow's ``draft`` gets to write the letter from."""

    model_config = ConfigDict(frozen=True)

    decision_step: str
    facts: list[GatheredFact]  # the adverse, material facts from other sources
    labels: list[str]  # the same, as "name (source)"
    reply_days: int
    reply_deadline: date


class HearingLetter(BaseModel):
    """The suggestion the caseworker signs off; an amendment may change ``text``."""

    text: str = Field(min_length=1)
    facts: list[str]
    reply_days: int
    reply_deadline: date
    why: str


class HearingOutcome(BaseModel):
    """Where the hearing stands; ``proceed`` says whether the decision step may run now."""

    model_config = ConfigDict(frozen=True)

    status: HearingStatus
    case_ref: str
    decision_step: str
    reason: str
    exception: str | None = None
    hearing_id: str | None = None
    signoff_task_id: str | None = None
    sent_at: datetime | None = None
    reply_deadline: datetime | None = None
    reply_received_at: datetime | None = None

    @property
    def proceed(self) -> bool:
        return self.status in PROCEED


def with_notice(text: str) -> str:
    return letters.with_notice(text, HEARING_AI_NOTICE)


def deadline_instant(day: date) -> datetime:
    """The end of the stated day: midnight UTC after it (01:00 or 02:00 Danish time)."""
    return datetime.combine(day + timedelta(days=1), time(0), UTC)


def _aware(when: datetime | None) -> datetime | None:
    return when if when is None or when.tzinfo else when.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- the flow's side


def run_party_hearing(
    robot: CaseworkFlow, case: Case, *, decision_step: str, facts: Iterable[GatheredFact],
    draft: Callable[[HearingDraft], str], send: Callable[[str], None] | None = None,
    wait: str | None = None, now: datetime | None = None,
) -> HearingOutcome:
    """See ``CaseworkFlow.party_hearing``."""
    from casework.runtime import _current_flow_run_id

    facts = list(facts)
    flow_run_id = _current_flow_run_id()
    policy = robot._policy_for_run(flow_run_id)
    decision_policy = policy.step(decision_step)
    if decision_policy.kind != "decision":
        raise ValueError(f"party_hearing: step {decision_step!r} of flow {robot.name!r} is "
                         f"{decision_policy.kind}, not a decision; a hearing precedes decisions")
    decided = hearing_required(decision_policy, facts)
    if not decided.required:
        return HearingOutcome(status="not_required", case_ref=case.ref,
                              decision_step=decision_step, reason=decided.reason,
                              exception=decided.exception)
    strategy = wait or get_settings().signoff_wait
    clock = (lambda: now) if now is not None else (lambda: datetime.now(UTC))
    hearing_id = _find(case.ref, robot.name, decision_step)
    if hearing_id is None:
        hearing_id = _insert(robot, case, decision_step, decided, facts, draft, flow_run_id,
                             clock())
    return _advance(hearing_id, decided.reason, strategy, send, flow_run_id, clock)


def _find(case_ref: str, flow: str, decision_step: str) -> str | None:
    with reading() as session:
        return session.scalar(select(PartyHearing.id).where(
            PartyHearing.case_ref == case_ref, PartyHearing.flow == flow,
            PartyHearing.decision_step == decision_step))


def _insert(robot: CaseworkFlow, case: Case, decision_step: str, decided: HearingDecision,
            facts: list[GatheredFact], draft: Callable[[HearingDraft], str], flow_run_id: str,
            now: datetime) -> str:
    """The inserted step: the draft letter, its ledger row, sign-off task and hearing row."""
    policy = robot._policy_for_run(flow_run_id)
    decision_policy = policy.step(decision_step)
    step_policy = hearing_step_policy(decision_policy)
    reply_days = decided.reply_days or decision_policy.hearing_reply_days
    deadline = letters.off_weekend((now + timedelta(days=reply_days)).date())
    triggering = facts_to_put(facts)
    started = datetime.now(UTC)
    text = draft(HearingDraft(decision_step=decision_step, facts=triggering,
                              labels=decided.facts, reply_days=reply_days,
                              reply_deadline=deadline))
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"party_hearing for {decision_step!r}: draft returned no letter text")
    letter = HearingLetter(text=with_notice(text), facts=decided.facts, reply_days=reply_days,
                           reply_deadline=deadline, why=decided.reason)
    ledger_id = str(uuid.uuid4())
    record = StepRecord(
        id=ledger_id, flow=robot.name, flow_run_id=flow_run_id, step=PARTY_HEARING_STEP,
        step_kind=step_policy.kind, case_ref=case.ref, policy_hash=policy.hash,
        mode=Mode.SIGNOFF, outcome=Outcome.AWAITING_SIGNOFF,
        robot_seconds=(datetime.now(UTC) - started).total_seconds(),
        baseline_minutes=step_policy.manual_minutes,
        department=case.department or policy.model.department, kle_subject=case.kle,
        reasons=[decided.reason], started_at=started, finished_at=datetime.now(UTC))
    hearing_id = str(uuid.uuid4())
    try:
        with transaction() as session:
            ledger.record_step(session, record)
            task = create_signoff_task(
                session, ledger_entry_id=ledger_id, flow=robot.name, flow_run_id=flow_run_id,
                step=PARTY_HEARING_STEP, case_ref=case.ref, department=record.department,
                roles=list(step_policy.signoff_by.roles),
                departments=list(step_policy.signoff_by.departments), suggestion=letter,
                reasons=[decided.reason], case_summary=case.summary,
                deadline_hours=step_policy.deadline_hours, policy_hash=policy.hash,
                on_overdue=step_policy.on_overdue)
            session.flush()
            session.add(PartyHearing(
                id=hearing_id, case_ref=case.ref, flow=robot.name, decision_step=decision_step,
                signoff_task_id=task.id, status="awaiting_letter_signoff",
                reply_days=reply_days, created_at=now))
            robot._audit_step(session, record)
    except IntegrityError:  # another run of the same case inserted it first
        existing = _find(case.ref, robot.name, decision_step)
        if existing is None:
            raise
        return existing
    return hearing_id


def _advance(hearing_id: str, reason: str, strategy: str, send: Callable[[str], None] | None,
             flow_run_id: str, clock: Callable[[], datetime]) -> HearingOutcome:
    from casework.runtime import _wait_for_decision

    hearing = _load(hearing_id)
    if hearing.status == "awaiting_letter_signoff":
        task_id = hearing.signoff_task_id
        stored = stored_decision(task_id)
        if stored is None and strategy != "record":
            _wait_for_decision(task_id, strategy)
            stored = stored_decision(task_id)
        if stored is None:
            return _outcome(hearing, "awaiting_letter_signoff", reason)
        mark_consumed(task_id)
        if stored.decision in ("rejected", "manual"):
            _mark_rejected(hearing, stored.decided_by, clock())
        else:
            _claim_sending(hearing_id)
        hearing = _load(hearing_id)
    if hearing.status == "sending":
        # Claimed by this run, or by a run that crashed before recording the letter as sent:
        # send (again) rather than never. Sending comes before recording for the same reason.
        text = _final_text(hearing.signoff_task_id, stored_decision(hearing.signoff_task_id))
        if send is not None:
            send(text)
        _mark_sent(hearing, text, clock())
        hearing = _load(hearing_id)
    if hearing.status == "letter_rejected":
        return _outcome(hearing, "letter_rejected",
                        "the hearing letter was not approved: the decision is left to a person")
    status = _reply_status(hearing, clock())
    attempt = 0
    while status == "awaiting_reply" and strategy != "record" and attempt < MAX_WAITS:
        if attempt:  # woken with neither a reply nor a passed deadline: a resume from outside
            _record_outside_resume(hearing, flow_run_id, attempt)
        _wait_for_reply(hearing, strategy, flow_run_id, clock(), attempt)
        hearing = _load(hearing_id)
        status = _reply_status(hearing, clock())
        attempt += 1
    if status == "deadline_passed":
        with transaction() as session:
            _mark_deadline_passed(session, hearing_id, clock())
    return _outcome(_load(hearing_id), status, reason)


def _reply_status(hearing: PartyHearing, now: datetime) -> HearingStatus:
    if hearing.reply_received_at is not None:
        return "reply_received"
    deadline = _aware(hearing.reply_deadline)
    if deadline is not None and now >= deadline:
        return "deadline_passed"
    return "awaiting_reply"


def _record_outside_resume(hearing: PartyHearing, flow_run_id: str, attempt: int) -> None:
    """Audit a wake-up with no reply and no passed deadline (the Resume button in Prefect's UI),
    once per wait key: the run waits again; only a registered reply or the deadline moves it."""
    key = _reply_key(hearing.id, attempt - 1)
    with transaction() as session:
        seen = session.scalars(select(AuditEvent.details).where(
            AuditEvent.action == HEARING_OUTSIDE_RESUME,
            AuditEvent.case_ref == hearing.case_ref))
        if any((d or {}).get("pause_key") == key and (d or {}).get("flow_run_id") == flow_run_id
               for d in seen):
            return
        audit.append(session, actor=f"robot:{hearing.flow}", action=HEARING_OUTSIDE_RESUME,
                     flow=hearing.flow, step=PARTY_HEARING_STEP, case_ref=hearing.case_ref,
                     details={"flow_run_id": flow_run_id, "hearing_id": hearing.id,
                              "pause_key": key, "outcome": "waits again"})
    log.warning("flow run %s was resumed outside the casework system while its party hearing "
                "awaits the reply; the resume is audited and the run waits again", flow_run_id)


def _reply_key(hearing_id: str, attempt: int) -> str:
    return f"hearing-{hearing_id}" if attempt == 0 else f"hearing-{hearing_id}-{attempt}"


def _wait_for_reply(hearing: PartyHearing, strategy: str, flow_run_id: str,
                    now: datetime, attempt: int = 0) -> None:
    """Pause (or suspend) until the reply is registered or the deadline passes (or someone
    resumes the run by hand: the caller then waits again under the next key)."""
    deadline = _aware(hearing.reply_deadline)
    assert deadline is not None
    with transaction() as session:
        session.execute(update(PartyHearing).where(PartyHearing.id == hearing.id)
                        .values(waiting_run_id=flow_run_id))
    seconds = max(1, int((deadline - now).total_seconds()) + 1)
    key = _reply_key(hearing.id, attempt)
    try:
        if strategy == "suspend":
            suspend_flow_run(timeout=seconds + int(SUSPEND_GRACE.total_seconds()), key=key,
                             _sync=True)  # type: ignore[call-arg]
        else:
            pause_flow_run(timeout=seconds, poll_interval=1, key=key,
                           _sync=True)  # type: ignore[call-arg]
    except FlowPauseTimeout:
        pass  # the deadline passed: the caller reads the row again
    with transaction() as session:
        session.execute(update(PartyHearing).where(PartyHearing.id == hearing.id,
                                                   PartyHearing.waiting_run_id == flow_run_id)
                        .values(waiting_run_id=None))


def _claim_sending(hearing_id: str) -> None:
    """Approved: only the first run to get here moves the hearing on to sending."""
    with transaction() as session:
        session.execute(update(PartyHearing)
                        .where(PartyHearing.id == hearing_id,
                               PartyHearing.status == "awaiting_letter_signoff")
                        .values(status="sending"))


def _final_text(task_id: str, stored: StoredDecision | None) -> str:
    """The approved letter: the draft, or the caseworker's amended text, with the notice."""
    amended = stored.value if stored is not None and stored.decision == "amended" else None
    with reading() as session:
        task = session.get(SignoffTask, task_id)
        assert task is not None
        suggestion = dict((task.payload or {}).get("suggestion") or {})
    if amended:
        suggestion |= {k: v for k, v in amended.items() if k in HearingLetter.model_fields}
    return with_notice(HearingLetter.model_validate(suggestion).text)


def _mark_sent(hearing: PartyHearing, text: str, now: datetime) -> None:
    stated = letters.off_weekend(max((now + timedelta(days=hearing.reply_days)).date(),
                             _letter_deadline(hearing.signoff_task_id)))
    deadline = deadline_instant(stated)
    digest = hashlib.sha256(text.encode()).hexdigest()
    with transaction() as session:
        changed = session.execute(
            update(PartyHearing)
            .where(PartyHearing.id == hearing.id, PartyHearing.status == "sending")
            .values(status="sent", sent_at=now, reply_deadline=deadline, letter_sha256=digest)
        ).rowcount
        if changed == 1:
            audit.append(session, actor=f"robot:{hearing.flow}", action="hearing.sent",
                         flow=hearing.flow, step=PARTY_HEARING_STEP, case_ref=hearing.case_ref,
                         at=now, details={"hearing_id": hearing.id,
                                          "decision_step": hearing.decision_step,
                                          "signoff_task_id": hearing.signoff_task_id,
                                          "letter_sha256": digest,
                                          "reply_deadline": deadline.isoformat()})


def _letter_deadline(task_id: str) -> date:
    """The deadline the letter states (a later approval never shortens the party's time)."""
    with reading() as session:
        task = session.get(SignoffTask, task_id)
        suggestion = (task.payload or {}).get("suggestion") if task else None
    return date.fromisoformat(suggestion["reply_deadline"]) if suggestion else date.min


def _mark_rejected(hearing: PartyHearing, decided_by: str | None, now: datetime) -> None:
    with transaction() as session:
        changed = session.execute(
            update(PartyHearing).where(PartyHearing.id == hearing.id,
                                       PartyHearing.status == "awaiting_letter_signoff")
            .values(status="letter_rejected")
        ).rowcount
        if changed == 1:
            audit.append(session, actor=decided_by or "system", action="hearing.letter_rejected",
                         flow=hearing.flow, step=PARTY_HEARING_STEP, case_ref=hearing.case_ref,
                         at=now, details={"hearing_id": hearing.id,
                                          "decision_step": hearing.decision_step})


def _mark_deadline_passed(session: Session, hearing_id: str, now: datetime) -> bool:
    """Record once that the deadline passed without a reply; wake a run that waits for it."""
    changed = session.execute(
        update(PartyHearing)
        .where(PartyHearing.id == hearing_id, PartyHearing.status == "sent",
               PartyHearing.reply_received_at.is_(None),
               PartyHearing.deadline_passed_at.is_(None), PartyHearing.reply_deadline <= now)
        .values(deadline_passed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        return False
    hearing = session.get(PartyHearing, hearing_id)
    assert hearing is not None
    audit.append(session, actor="system:deadline", action="hearing.deadline_passed",
                 flow=hearing.flow, step=PARTY_HEARING_STEP, case_ref=hearing.case_ref, at=now,
                 details={"hearing_id": hearing.id, "decision_step": hearing.decision_step,
                          "reply_deadline": _aware(hearing.reply_deadline).isoformat()})  # type: ignore[union-attr]
    _wake(session, hearing, "deadline_passed", now)
    return True


def _wake(session: Session, hearing: PartyHearing, event: str, now: datetime) -> None:
    if hearing.waiting_run_id:
        session.add(HearingWakeup(id=str(uuid.uuid4()), hearing_id=hearing.id,
                                  flow_run_id=hearing.waiting_run_id, run_input=None,
                                  status="pending", attempts=0, created_at=now))


def _load(hearing_id: str) -> PartyHearing:
    with reading() as session:
        hearing = session.get(PartyHearing, hearing_id)
        assert hearing is not None
        session.expunge(hearing)
        return hearing


def _outcome(hearing: PartyHearing, status: HearingStatus, reason: str) -> HearingOutcome:
    return HearingOutcome(
        status=status, case_ref=hearing.case_ref, decision_step=hearing.decision_step,
        reason=reason, hearing_id=hearing.id, signoff_task_id=hearing.signoff_task_id,
        sent_at=_aware(hearing.sent_at), reply_deadline=_aware(hearing.reply_deadline),
        reply_received_at=_aware(hearing.reply_received_at))


# --------------------------------------------------------------------------- the office's side


class RegisteredReply(BaseModel):
    hearing_id: str
    case_ref: str
    flow: str
    decision_step: str
    received_at: datetime
    after_deadline: bool
    wakes_run: bool


def register_reply(case_id_or_ref: str, *, by: str, note: str | None = None,
                   decision_step: str | None = None, hearing_id: str | None = None,
                   now: datetime | None = None, engine: Engine | None = None
                   ) -> RegisteredReply:
    """Record that the party replied to the hearing letter; a waiting run is woken.

    A reply after the deadline is recorded too (and says so). The hearing is the case's only
    sent, unanswered one, or the one of ``decision_step`` / ``hearing_id``.
    """
    from casework.rights.explain import case_ref_of

    by = by.strip()
    if not by:
        raise HearingError("say who registers the reply (--by)")
    now = now or datetime.now(UTC)
    case_ref = case_ref_of(case_id_or_ref)
    with transaction(engine) as session:
        query = select(PartyHearing).where(PartyHearing.case_ref == case_ref)
        if hearing_id:
            query = query.where(PartyHearing.id == hearing_id)
        if decision_step:
            query = query.where(PartyHearing.decision_step == decision_step)
        hearings = list(session.scalars(query))
        sent = [h for h in hearings if h.status == "sent"]
        open_ = [h for h in sent if h.reply_received_at is None]
        if not sent:
            raise HearingError(f"case {case_ref} has no sent hearing letter"
                               + (f" for step {decision_step!r}" if decision_step else "")
                               + " to reply to")
        if not open_:
            done = sent[0]
            raise HearingError(f"the reply to the hearing before {done.decision_step!r} was "
                               f"already registered by {done.reply_registered_by} on "
                               f"{_aware(done.reply_received_at):%Y-%m-%d %H:%M} UTC")
        if len(open_) > 1:
            steps = ", ".join(sorted(h.decision_step for h in open_))
            raise HearingError(f"case {case_ref} awaits replies before several steps "
                               f"({steps}): name one with --step")
        hearing = open_[0]
        changed = session.execute(
            update(PartyHearing)
            .where(PartyHearing.id == hearing.id, PartyHearing.reply_received_at.is_(None))
            .values(reply_received_at=now, reply_registered_by=by[:100],
                    reply_note=(note or "").strip() or None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            raise HearingError("the reply was registered by someone else meanwhile")
        deadline = _aware(hearing.reply_deadline)
        late = deadline is not None and now > deadline
        audit.append(session, actor=by[:100], action="hearing.reply_registered",
                     flow=hearing.flow, step=PARTY_HEARING_STEP, case_ref=case_ref, at=now,
                     details={"hearing_id": hearing.id, "decision_step": hearing.decision_step,
                              "after_deadline": late, "note_given": bool(note and note.strip())})
        _wake(session, hearing, "reply_received", now)
        return RegisteredReply(hearing_id=hearing.id, case_ref=case_ref, flow=hearing.flow,
                               decision_step=hearing.decision_step, received_at=now,
                               after_deadline=late, wakes_run=bool(hearing.waiting_run_id))


def hearing_for_task(session: Session, task_id: str) -> PartyHearing | None:
    """The hearing whose letter is this sign-off task (for the inbox's task page)."""
    return session.scalar(select(PartyHearing).where(PartyHearing.signoff_task_id == task_id))


def wake_expired_hearings(engine: Engine | None = None, *, now: datetime | None = None,
                          limit: int = 500) -> int:
    """The sign-off service's deadline pass: record each passed deadline once and wake the
    run waiting for it. Returns how many deadlines it recorded."""
    now = now or datetime.now(UTC)
    with reading(engine) as session:
        due = session.scalars(
            select(PartyHearing.id)
            .where(PartyHearing.status == "sent", PartyHearing.reply_received_at.is_(None),
                   PartyHearing.deadline_passed_at.is_(None), PartyHearing.reply_deadline <= now)
            .order_by(PartyHearing.reply_deadline).limit(limit)).all()
    count = 0
    for hearing_id in due:
        with transaction(engine) as session:
            count += _mark_deadline_passed(session, hearing_id, now)
    return count
