"""Team lead view: agreement rate and unusually fast approvals per flow and step.

Signals of automation bias (EU AI Act Art. 14): people who approve nearly everything, or
approve faster than anyone could read the case, are not really overseeing the robot.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from casework.db.models import LedgerEntry, SignoffTask
from casework.inbox.identity import User
from casework.oversight.autonomy import AutonomyRow, autonomy_rows
from casework.oversight.threshold_accuracy import ThresholdAccuracy, threshold_rows


@dataclass(frozen=True)
class StepOversight:
    flow: str
    step: str
    decisions: int
    approved: int
    amended: int
    rejected: int
    fast_approvals: int
    avg_review_seconds: float

    @property
    def agreement_rate(self) -> float:
        return self.approved / self.decisions if self.decisions else 0.0


def earned_autonomy(session: Session) -> list[AutonomyRow]:
    """Every step with earned autonomy that has run (autonomy is per step, not per team)."""
    return autonomy_rows(session)


def threshold_accuracy(session: Session) -> list[ThresholdAccuracy]:
    """Per step with a confidence threshold: how often the suggestions people judged were kept,
    at or above the threshold and below it (is the calibrated confidence worth trusting?)."""
    return threshold_rows(session)


def step_oversight(session: Session, user: User, fast_seconds: float) -> list[StepOversight]:
    t, e = SignoffTask, LedgerEntry
    if not user.departments:
        return []
    rows = session.execute(
        select(
            t.flow, t.step, func.count(),
            func.sum(case((t.decision == "approved", 1), else_=0)),
            func.sum(case((t.decision == "amended", 1), else_=0)),
            func.sum(case((t.decision == "rejected", 1), else_=0)),
            func.sum(case(((t.decision == "approved") & (e.human_seconds < fast_seconds), 1),
                          else_=0)),
            func.coalesce(func.avg(e.human_seconds), 0.0),
        )
        .join(e, e.id == t.ledger_entry_id)
        .where(t.status == "decided", t.kind.in_(("signoff", "shadow")),
               t.department.in_(sorted(user.departments)),
               t.decision.in_(("approved", "amended", "rejected")))  # not deadline escalations
        .group_by(t.flow, t.step).order_by(t.flow, t.step)
    ).all()
    return [StepOversight(flow=f, step=s, decisions=n, approved=a or 0, amended=am or 0,
                          rejected=r or 0, fast_approvals=fa or 0, avg_review_seconds=float(avg))
            for f, s, n, a, am, r, fa, avg in rows]
