"""Does a policy's confidence threshold mean what it says? Measured on the step's decisions.

A policy line ``confidence < 0.8`` promises that suggestions at or above 0.8 are right at least
8 times in 10 (the confidence is calibrated). This module checks the promise where people
judged the robot anyway: over the step's last ``window`` sign-offs and audit samples (the same
reader as earned autonomy, ``casework.oversight.autonomy.recent_judgements``), the share kept
unchanged among those whose confidence was at or above the threshold, and among those below.

The threshold comes from the policy in force, read from the database (the activated version,
else the newest version a run used), so the inbox and the report need no policy folder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from casework.db.models import PolicyActivation, PolicyVersion, SignoffTask
from casework.oversight.autonomy import recent_judgements
from casework.policy.conditions import Compare, Condition, Literal, Name, Node, Or
from casework.policy.errors import PolicyError
from casework.policy.loader import Policy, parse_policy

log = logging.getLogger(__name__)

#: Decisions measured for a step whose policy has no earned-autonomy window of its own.
DEFAULT_WINDOW = 200


def confidence_threshold(conditions: list[Condition]) -> float | None:
    """X of a ``confidence < X`` (or ``<=``, or ``X > confidence``) sign-off condition, alone
    or inside an ``or``; the highest when there are several. None: no such condition."""
    found: list[float] = []

    def visit(node: Node) -> None:
        if isinstance(node, Or):
            for operand in node.operands:
                visit(operand)
        elif isinstance(node, Compare):
            left, right = node.left, node.right
            if (node.op in ("<", "<=") and left == Name("confidence")
                    and isinstance(right, Literal) and _number(right.value)):
                found.append(float(right.value))
            elif (node.op in (">", ">=") and right == Name("confidence")
                  and isinstance(left, Literal) and _number(left.value)):
                found.append(float(left.value))

    for condition in conditions:
        visit(condition.node)
    return max(found) if found else None


def _number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


@dataclass(frozen=True)
class ThresholdAccuracy:
    """One step's judged suggestions split at its policy's confidence threshold."""

    flow: str
    step: str
    threshold: float
    window: int
    above: int  # judged suggestions with confidence >= threshold
    above_kept: int
    below: int
    below_kept: int
    unknown: int = 0  # judged, but no confidence was recorded with the suggestion
    unknown_kept: int = 0

    @property
    def decisions(self) -> int:
        """Every judgement in the window (what earned autonomy counts)."""
        return self.above + self.below + self.unknown

    @property
    def kept(self) -> int:
        return self.above_kept + self.below_kept + self.unknown_kept

    @property
    def above_rate(self) -> float | None:
        return self.above_kept / self.above if self.above else None

    @property
    def below_rate(self) -> float | None:
        return self.below_kept / self.below if self.below else None


def threshold_accuracy(db: Session | Connection, flow: str, step: str, threshold: float,
                       window: int) -> ThresholdAccuracy:
    """Kept / judged at or above and below ``threshold`` over the last ``window`` decisions."""
    confidence = SignoffTask.payload["confidence"].as_float()
    counts = {"above": [0, 0], "below": [0, 0], "unknown": [0, 0]}
    for decision, value in db.execute(recent_judgements(flow, step, window,
                                                        SignoffTask.decision, confidence)):
        side = counts["unknown" if value is None else "above" if value >= threshold
                      else "below"]
        side[0] += 1
        side[1] += decision == "approved"
    return ThresholdAccuracy(flow=flow, step=step, threshold=threshold, window=window,
                             above=counts["above"][0], above_kept=counts["above"][1],
                             below=counts["below"][0], below_kept=counts["below"][1],
                             unknown=counts["unknown"][0], unknown_kept=counts["unknown"][1])


def policies_in_force(db: Session | Connection, flow: str | None = None) -> list[Policy]:
    """Each flow's activated policy, or (never activated) the newest version a run used."""
    chosen: dict[str, str] = {}
    versions = select(PolicyVersion.flow, PolicyVersion.hash).order_by(
        PolicyVersion.first_seen_at, PolicyVersion.hash)
    activations = select(PolicyActivation.flow, PolicyActivation.policy_hash).order_by(
        PolicyActivation.id)
    if flow is not None:
        versions = versions.where(PolicyVersion.flow == flow)
        activations = activations.where(PolicyActivation.flow == flow)
    for query in (versions, activations):  # later rows win; an activation beats a newer run
        for name, policy_hash in db.execute(query):
            chosen[name] = policy_hash
    if not chosen:
        return []
    rows = db.execute(select(PolicyVersion.hash, PolicyVersion.path, PolicyVersion.content)
                      .where(PolicyVersion.hash.in_(sorted(set(chosen.values())))))
    texts = {h: (path, content) for h, path, content in rows}
    policies = []
    for name in sorted(chosen):
        path, content = texts[chosen[name]]
        policy = _parsed(chosen[name], path, content)
        if policy is not None:
            policies.append(policy)
    return policies


@lru_cache(maxsize=64)
def _parsed(policy_hash: str, path: str, content: str) -> Policy | None:
    try:
        return parse_policy(content.encode("utf-8"), Path(path))
    except PolicyError as exc:  # a stored version this code no longer reads: leave it out
        log.warning("stored policy %s (sha256 %s) cannot be read: %s", path, policy_hash[:12],
                    exc)
        return None


def threshold_rows(db: Session | Connection, flow: str | None = None) -> list[ThresholdAccuracy]:
    """Every step whose policy in force has a confidence threshold, measured over its window
    (the earned-autonomy window when the step has one, else ``DEFAULT_WINDOW``)."""
    rows = []
    for policy in policies_in_force(db, flow):
        for step, conditions in policy.conditions.items():
            threshold = confidence_threshold(conditions)
            if threshold is None:
                continue
            autonomy = policy.model.steps[step].autonomy
            window = autonomy.window if autonomy is not None else DEFAULT_WINDOW
            rows.append(threshold_accuracy(db, policy.flow, step, threshold, window))
    return rows
