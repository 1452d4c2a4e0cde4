"""Put a policy version into force only after it is checked and its scenarios pass.

An activation records the exact text (``policy_versions``), the scenarios it passed, who
activated it and when (``policy_activations``), and an audit event, in one transaction. A
refused activation writes nothing. The newest activation of a flow is its active version;
``active_policy_hash`` is what the runtime can compare a run's policy file against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from casework import audit
from casework.db.models import PolicyActivation, PolicyVersion
from casework.db.session import reading, transaction
from casework.policy.errors import PolicyError, PolicyProblem
from casework.policy.loader import (
    Policy,
    check_against_flow,
    display_path,
    load_policy,
    readiness_problems,
)
from casework.policy.scenarios import ScenarioRun, run_scenarios

ACTIVATED_ACTION = "policy.activated"


class ActiveVersion(BaseModel):
    """The version in force for one flow."""

    model_config = ConfigDict(frozen=True)

    flow: str
    policy_hash: str
    path: str
    activated_by: str
    activated_at: datetime
    scenarios_passed: int


@dataclass
class ActivationReport:
    """What ``activate`` found: problems and scenario results, and whether it was recorded."""

    path: Path
    policy: Policy | None = None
    problems: list[PolicyProblem] = field(default_factory=list)
    scenarios: ScenarioRun | None = None
    recorded: bool = False
    already_active: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and self.scenarios is not None and self.scenarios.passed


def activate(
    path: Path,
    *,
    by: str,
    engine: Engine | None = None,
    flow_steps: dict[str, dict[str, str]] | None = None,
    now: datetime | None = None,
) -> ActivationReport:
    """Check ``path``, run its scenarios and, only if all pass, record it as the active version.

    ``flow_steps`` (flow -> step -> kind, from the flow code) adds the cross-check that
    ``casework policy check`` does; ``None`` skips it.
    """
    by = by.strip()
    if not by:
        raise ValueError("activation needs the name of the person responsible (by)")
    report = ActivationReport(path=Path(path))
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        report.problems = exc.problems
        return report
    report.policy = policy
    report.problems = readiness_problems(policy)
    if flow_steps is not None:
        report.problems += check_against_flow(
            policy, flow_steps.get(policy.flow, {}), policy.flow in flow_steps
        )
    report.scenarios = run_scenarios(policy)
    if not report.ok:
        return report
    scenarios = report.scenarios.scenarios
    if scenarios is None:  # a passed run always has its file; never record without it
        return report
    with transaction(engine) as session:
        current = _newest(session, policy.flow)
        if current is not None and current.policy_hash == policy.hash:
            report.already_active = True
            return report
        if session.get(PolicyVersion, policy.hash) is None:
            session.add(PolicyVersion(hash=policy.hash, flow=policy.flow,
                                      path=display_path(policy.path), content=policy.text,
                                      first_seen_at=now or datetime.now(UTC)))
            session.flush()
        at = now or datetime.now(UTC)
        session.add(PolicyActivation(
            flow=policy.flow, policy_hash=policy.hash, scenarios_hash=scenarios.hash,
            scenarios_text=scenarios.text, scenarios_passed=len(report.scenarios.results),
            activated_by=by, activated_at=at,
        ))
        audit.append(session, actor=f"user:{by}", action=ACTIVATED_ACTION, flow=policy.flow,
                     at=at, details={
                         "policy_hash": policy.hash,
                         "previous_hash": current.policy_hash if current else None,
                         "scenarios_hash": scenarios.hash,
                         "scenarios_passed": len(report.scenarios.results),
                     })
    report.recorded = True
    return report


def _newest(session: Session, flow: str) -> PolicyActivation | None:
    query = (select(PolicyActivation).where(PolicyActivation.flow == flow)
             .order_by(PolicyActivation.id.desc()).limit(1))
    return session.execute(query).scalar_one_or_none()


def active_policy_hash(engine: Engine | None, flow: str) -> str | None:
    """The SHA-256 of the policy version in force for ``flow``, or ``None`` if none was."""
    with reading(engine) as session:
        newest = _newest(session, flow)
        return newest.policy_hash if newest else None


def active_versions(engine: Engine | None = None) -> list[ActiveVersion]:
    """The version in force for every flow that has one, by flow name."""
    with reading(engine) as session:
        rows = session.execute(
            select(PolicyActivation, PolicyVersion.path)
            .join(PolicyVersion, PolicyVersion.hash == PolicyActivation.policy_hash)
            .order_by(PolicyActivation.flow, PolicyActivation.id.desc())
        ).all()
    newest: dict[str, ActiveVersion] = {}
    for activation, path in rows:
        if activation.flow in newest:
            continue
        newest[activation.flow] = ActiveVersion(
            flow=activation.flow, policy_hash=activation.policy_hash, path=path,
            activated_by=activation.activated_by, activated_at=activation.activated_at,
            scenarios_passed=activation.scenarios_passed,
        )
    return list(newest.values())


def active_policy_texts(engine: Engine | None = None) -> dict[str, tuple[str, str]]:
    """flow -> (path, text) of every active version, as stored (for the documentation)."""
    with reading(engine) as session:
        result: dict[str, tuple[str, str]] = {}
        for version in active_versions(engine):
            stored = session.get(PolicyVersion, version.policy_hash)
            if stored is not None:
                result[version.flow] = (stored.path, stored.content)
        return result
