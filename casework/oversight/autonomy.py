"""Earned autonomy: measure how often caseworkers keep a step's suggestion, and record when the
step earns (or loses) the right to run on its own.

Agreement is measured over the step's last ``window`` sign-off decisions (approve, amend,
reject; deadline escalations are not judgements and do not count): the share approved
unchanged. The policy engine turns the numbers into a route; this module reads them and keeps
``autonomy_states`` current, writing an audit event with the numbers whenever the earned state
changes (in the transaction of the step that noticed it).

The same decisions, split by the calibrated confidence the robot gave (``threshold_accuracy``),
show whether a policy's ``confidence < X`` line means what it says: of the suggestions at or
above X that a person saw anyway (sensitive cases, audit samples), how many were kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from casework import audit
from casework.db.models import AutonomyState, SignoffTask
from casework.policy.engine import AgreementStats
from casework.policy.model import EarnedAutonomy

JUDGEMENTS = ("approved", "amended", "rejected")


def recent_judgements(flow: str, step: str, window: int, *columns: Any) -> Select[Any]:
    """The step's last ``window`` judgements (newest first, by decision time): ``columns`` of
    each, by default its decision. One reader for agreement and for threshold accuracy."""
    return (
        select(*(columns or (SignoffTask.decision,)))
        .where(SignoffTask.flow == flow, SignoffTask.step == step,
               SignoffTask.status == "decided", SignoffTask.decision.in_(JUDGEMENTS),
               # a citizen's review request is not agreement; shadow answers are
               SignoffTask.kind.in_(("signoff", "shadow")))
        .order_by(SignoffTask.decided_at.desc())
        .limit(window)
    )


def agreement_stats(session: Session, flow: str, step: str, window: int) -> AgreementStats:
    """Agreement over the step's last ``window`` decisions (newest first, by decision time)."""
    decisions = list(session.scalars(recent_judgements(flow, step, window)))
    return AgreementStats(decisions=len(decisions),
                          kept=sum(1 for d in decisions if d == "approved"))


def record_state(session: Session, *, flow: str, step: str, earned: bool,
                 stats: AgreementStats, autonomy: EarnedAutonomy,
                 now: datetime | None = None) -> bool:
    """Keep the step's state current; True (and an audit event) when ``earned`` changed.

    A step starts out not earned. The row is created race-free (insert or ignore) and locked
    while it is read and updated, so two workers never both report the same switch."""
    now = now or datetime.now(UTC)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(AutonomyState).values(
        flow=flow, step=step, earned=False, decisions=0, kept=0,
        min_agreement=autonomy.min_agreement, window=autonomy.window, changed_at=now,
        measured_at=now).on_conflict_do_nothing(index_elements=["flow", "step"]))
    row = session.execute(select(AutonomyState)
                          .where(AutonomyState.flow == flow, AutonomyState.step == step)
                          .with_for_update().execution_options(populate_existing=True)
                          ).scalar_one()
    changed = row.earned != earned
    if changed:
        row.earned, row.changed_at = earned, now
        audit.append(
            session, actor=f"robot:{flow}",
            action="autonomy.earned" if earned else "autonomy.withdrawn",
            flow=flow, step=step, at=now,
            details={"decisions": stats.decisions, "kept": stats.kept,
                     "agreement": round(stats.rate, 4),
                     "min_agreement": autonomy.min_agreement, "window": autonomy.window,
                     "audit_sample": autonomy.audit_sample},
        )
    row.decisions, row.kept = stats.decisions, stats.kept
    row.min_agreement, row.window, row.measured_at = autonomy.min_agreement, autonomy.window, now
    return changed


@dataclass(frozen=True)
class AutonomyRow:
    """A step with earned autonomy: its current mode and the window it was measured on (for
    the team lead's oversight page and the report's sheet)."""

    flow: str
    step: str
    earned: bool
    decisions: int
    kept: int
    min_agreement: float
    window: int
    changed_at: datetime

    @property
    def agreement_rate(self) -> float:
        return self.kept / self.decisions if self.decisions else 0.0


def autonomy_rows(db: Session | Connection, flow: str | None = None) -> list[AutonomyRow]:
    """Every step with earned autonomy that has run (per step, so not by department)."""
    a = AutonomyState.__table__.c
    query = select(a.flow, a.step, a.earned, a.decisions, a.kept, a.min_agreement, a.window,
                   a.changed_at).order_by(a.flow, a.step)
    if flow is not None:
        query = query.where(a.flow == flow)
    return [AutonomyRow(flow=r.flow, step=r.step, earned=bool(r.earned),
                        decisions=int(r.decisions), kept=int(r.kept),
                        min_agreement=float(r.min_agreement), window=int(r.window),
                        changed_at=r.changed_at) for r in db.execute(query)]
