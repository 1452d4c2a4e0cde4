"""What happened to a case, explained to the citizen it concerns.

GDPR Art. 15(1)(h) (as read by the Court in C-203/22), AI Act Art. 86 and Norwegian
forvaltningsloven § 12 give a person the right to meaningful information about automated
processing of their case. ``explain_case`` gathers it from what the system already keeps: the
ledger (which steps ran, how they were routed), the sign-off tasks (what the robot suggested and
who decided), the audit log (every act, in order) and the policy versions the runs used (what
data a step relies on, on what legal basis). It never shows raw CPR numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from casework.db.models import (
    AuditEvent,
    InboxUser,
    InboxUserRole,
    LedgerEntry,
    PolicyVersion,
    SignoffTask,
)
from casework.db.session import reading
from casework.policy.errors import PolicyError
from casework.policy.hearing import PARTY_HEARING_STEP, hearing_step_policy
from casework.policy.loader import Policy, parse_policy
from casework.privacy import mask_cpr, pseudonymise

Language = Literal["da", "nb", "en"]
#: ``keep(ledger_entry, its_signoff_task_or_None)``: may this reader see the step?
KeepStep = Callable[[LedgerEntry, SignoffTask | None], bool]
LANGUAGES: tuple[Language, ...] = ("da", "nb", "en")
CASE_REF = re.compile(r"^c_[0-9a-f]{24}$")
ROLE_ORDER = ("manager", "team_lead", "caseworker", "automation_admin")

# Fields of a robot's result that explain it rather than being it.
_NOT_THE_RESULT = frozenset({"confidence", "why", "alternatives", "sources", "evidence", "reason",
                             "amended_from"})


class CaseNotFound(LookupError):
    """No step of this case is recorded (wrong id, another installation's key, or no run)."""


class Person(BaseModel):
    """Who decided: a person's name and role, or the system (deadline handling)."""

    name: str
    role: str | None = None  # caseworker | team_lead | manager | automation_admin
    is_system: bool = False


class StepExplanation(BaseModel):
    """One step that touched the case, in the terms a citizen can be told."""

    flow: str
    step: str
    kind: str  # preparatory (no decision) | decision
    review: bool = False  # a person's review of an automated step, on the citizen's request
    when: datetime
    mode: str  # autonomous | signoff | manual
    outcome: str
    description: str | None = None
    effects: list[str] = []
    data_used: list[str] = []
    main_considerations: list[str] = []
    suggested: str | None = None  # the robot's result in plain words, when it is stored
    # The result and the person's value themselves, for a reader that can name their fields
    # in the citizen's language (the inbox); never serialised.
    suggested_raw: Any = Field(default=None, exclude=True)
    decided_raw: Any = Field(default=None, exclude=True)
    decision: str | None = None  # approved | amended | rejected | manual
    decided_by: Person | None = None
    decided_at: datetime | None = None
    decided_value: str | None = None  # what the person changed the result to
    decision_reason: str | None = None
    legal_basis: list[str] = []
    automation_legal_basis: list[str] = []
    policy_hash: str
    policy_stored: bool = True
    erased: bool = False  # the details were deleted after the retention period

    @property
    def automated(self) -> bool:
        return not self.review and self.mode in ("autonomous", "signoff")


class HistoryEvent(BaseModel):
    """One act from the audit log (who is a role or a name, never a case id)."""

    seq: int
    at: datetime
    action: str
    actor: str


class Explanation(BaseModel):
    case_ref: str
    language: Language
    steps: list[StepExplanation]
    history: list[HistoryEvent]
    text: str = ""  # the plain-language letter in ``language`` (plain text)

    def render(self, format: Literal["text", "md", "html"] = "text", *,
               titles: Callable[[str, str], str] | None = None,
               describe: Callable[[Any], list[tuple[str, str]]] | None = None,
               case_number: str | None = None) -> str:
        """The letter; ``titles(flow, step)`` names steps, ``describe(value)`` gives a result's
        (label, text) rows, both in the explanation's language; ``case_number`` (for a reader
        who may see the case) replaces the pseudonymous reference."""
        from casework.rights.explain_render import render

        return render(self, format, titles=titles, describe=describe,
                      case_number=case_number)


def case_ref_of(case_id_or_ref: str) -> str:
    """A ``c_…`` reference is used as given; anything else is a case id to pseudonymise."""
    value = case_id_or_ref.strip()
    if not value:
        raise CaseNotFound("no case id given")
    return value if CASE_REF.match(value) else pseudonymise(value)


def explain_case(case_id_or_ref: str, *, language: Language = "da",
                 engine: Engine | None = None, keep: KeepStep | None = None) -> Explanation:
    """Everything automated that touched the case, with a plain-language text in ``language``;
    ``keep`` limits it to the steps a reader may see (the inbox's department scope)."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    case_ref = case_ref_of(case_id_or_ref)
    with reading(engine) as session:
        explanation = gather(session, case_ref, language, keep=keep)
    from casework.rights.explain_render import render

    explanation.text = render(explanation, "text")
    return explanation


def gather(session: Session, case_ref: str, language: Language = "da",
           keep: KeepStep | None = None) -> Explanation:
    """The explanation's facts, read in one session (no text yet); with ``keep``, only the
    steps it keeps and the history events of those steps."""
    entries = session.scalars(select(LedgerEntry).where(LedgerEntry.case_ref == case_ref)
                              .order_by(LedgerEntry.started_at, LedgerEntry.id)).all()
    if not entries:
        raise CaseNotFound(f"no recorded step for case {case_ref}")
    tasks = {t.ledger_entry_id: t for t in session.scalars(
        select(SignoffTask).where(SignoffTask.case_ref == case_ref))}
    events = session.scalars(select(AuditEvent).where(AuditEvent.case_ref == case_ref)
                             .order_by(AuditEvent.seq)).all()
    if keep is not None:
        entries = [e for e in entries if keep(e, tasks.get(e.id))]
        shown = {(e.flow, e.step) for e in entries}
        tasks = {k: v for k, v in tasks.items() if k in {e.id for e in entries}}
        events = [e for e in events if (e.flow, e.step) in shown]
    policies = stored_policies(session, {e.policy_hash for e in entries})
    people = _people(session, {t.decided_by for t in tasks.values() if t.decided_by}
                     | {e.actor for e in events})
    steps = [_step(entry, tasks.get(entry.id), policies.get(entry.policy_hash), people)
             for entry in entries]
    history = [HistoryEvent(seq=e.seq, at=_aware(e.at), action=e.action,
                            actor=_actor_label(e.actor, people)) for e in events]
    return Explanation(case_ref=case_ref, language=language, steps=steps, history=history)


def _step(entry: LedgerEntry, task: SignoffTask | None, policy: Policy | None,
          people: dict[str, Person]) -> StepExplanation:
    step_policy = policy.model.steps.get(entry.step) if policy else None
    if step_policy is None and policy is not None and entry.step == PARTY_HEARING_STEP:
        step_policy = hearing_step_policy()  # inserted by the runtime, not in the file
    review = task is not None and task.kind == "review"
    values: dict[str, Any] = {
        "flow": entry.flow, "step": entry.step, "kind": entry.step_kind, "review": review,
        "when": _aware(entry.started_at), "mode": entry.mode, "outcome": entry.outcome,
        "policy_hash": entry.policy_hash, "policy_stored": policy is not None,
    }
    if step_policy is not None:
        values |= {
            "description": step_policy.description,
            "effects": list(step_policy.effects),
            "data_used": list(step_policy.facts_relied_on) or (
                [step_policy.description] if step_policy.description else []),
            "main_considerations": list(step_policy.main_considerations),
            "legal_basis": list(step_policy.legal_basis),
            "automation_legal_basis": list(step_policy.automation_legal_basis),
        }
    if task is not None:
        payload = task.payload or {}
        erased = "erased" in payload
        values |= {
            "erased": erased,
            # A shadow task's person answers without the robot's answer: not shown until then.
            "suggested": None if erased or review or (
                task.kind == "shadow" and task.status == "awaiting")
            else plain(payload.get("suggestion")),
            "decision": task.decision,
            "decided_by": people.get(task.decided_by) if task.decided_by else None,
            "decided_at": _aware(task.decided_at) if task.decided_at else None,
            "decided_value": None if erased else plain(task.decision_value),
            "suggested_raw": None if erased or review or (
                task.kind == "shadow" and task.status == "awaiting")
            else payload.get("suggestion"),
            "decided_raw": None if erased else task.decision_value,
            "decision_reason": None if erased or not task.decision_reason
            else mask_cpr(task.decision_reason),
        }
    elif entry.mode == "autonomous" and entry.kle_subject:
        values["suggested"] = entry.kle_subject  # the one result the ledger keeps
    return StepExplanation(**values)


def plain(value: Any) -> str | None:
    """A robot's result (or a person's amendment) in a few plain words, CPR numbers masked."""
    if value is None:
        return None
    if isinstance(value, dict):
        if "kle" in value:
            text = f"{value.get('kle')} {value.get('title') or ''}".strip()
        else:  # readers that can name the fields pass ``describe`` to ``render`` instead
            parts = [f"{key}: {item}" for key, item in value.items()
                     if key not in _NOT_THE_RESULT and isinstance(item, str | int | float | bool)]
            text = "; ".join(parts)
    elif isinstance(value, list):
        text = ", ".join(str(v) for v in value)
    else:
        text = str(value)
    text = mask_cpr(text).strip()
    return (text[:297] + "...") if len(text) > 300 else (text or None)


def stored_policies(session: Session, hashes: set[str]) -> dict[str, Policy]:
    """The stored policy versions, parsed; a version that no longer parses is left out."""
    found: dict[str, Policy] = {}
    for version in session.scalars(select(PolicyVersion).where(PolicyVersion.hash.in_(hashes))):
        try:
            found[version.hash] = parse_policy(version.content.encode(), Path(version.path))
        except PolicyError:
            continue  # an older version the current schema refuses: its legal fields are unknown
    return found


def _people(session: Session, ids: set[str]) -> dict[str, Person]:
    """Names and main role of the people among ``ids``; robots and the system by label."""
    people: dict[str, Person] = {}
    humans = {i for i in ids if i and not i.startswith(("robot:", "system:"))}
    if humans:
        roles: dict[str, set[str]] = {}
        for uid, role in session.execute(select(InboxUserRole.user_id, InboxUserRole.role)
                                         .where(InboxUserRole.user_id.in_(humans))):
            roles.setdefault(uid, set()).add(role)
        for uid, name in session.execute(select(InboxUser.id, InboxUser.display_name)
                                         .where(InboxUser.id.in_(humans))):
            main = next((r for r in ROLE_ORDER if r in roles.get(uid, set())), None)
            people[uid] = Person(name=name, role=main)
        for uid in humans - people.keys():  # a person since removed from the inbox
            people[uid] = Person(name=uid)
    for uid in ids:
        if uid and uid.startswith("system:"):
            people[uid] = Person(name=uid, is_system=True)
    return people


def _actor_label(actor: str, people: dict[str, Person]) -> str:
    if actor.startswith("robot:"):
        return actor
    person = people.get(actor)
    return person.name if person else actor


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)
