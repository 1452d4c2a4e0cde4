"""The automation admin's page: which flows exist and their stop switches.

Known flows are those with a policy file, those that have run (``policy_versions``) and those
that were ever switched, so a flow can be stopped before its first run.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.db.models import FlowSwitch, PolicyVersion
from casework.inbox.identity import User

ADMIN_ROLE = "automation_admin"


class FlowRow(BaseModel):
    flow: str
    stopped: bool = False
    reason: str | None = None
    changed_by: str | None = None
    changed_at: str | None = None


def may_switch(user: User) -> bool:
    return ADMIN_ROLE in user.roles


def known_flows(session: Session, policy_dir: Path) -> list[FlowRow]:
    names = {p.stem for p in policy_dir.glob("*.yaml") if not p.stem.endswith(".scenarios")}
    names |= set(session.scalars(select(PolicyVersion.flow).distinct()))
    switches = {s.flow: s for s in session.scalars(select(FlowSwitch))}
    names |= set(switches)
    rows = []
    for name in sorted(names):
        switch = switches.get(name)
        rows.append(FlowRow(flow=name) if switch is None else FlowRow(
            flow=name, stopped=switch.stopped, reason=switch.reason,
            changed_by=switch.changed_by,
            changed_at=switch.changed_at.isoformat(timespec="minutes")))
    return rows
