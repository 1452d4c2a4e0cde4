"""Scenario tests for a policy: given these case facts, this step must route like this.

A scenario file sits next to its policy (``policies/<flow>.scenarios.yaml``) and is run through
the real routing engine, so a policy change that would let a sensitive case through on its own
fails before it can be activated.

```yaml
flow: journal_placement
scenarios:
  - name: A sensitive letter waits for a caseworker
    case: {sensitive: true}
    steps:
      suggest_journal:
        confidence: 0.93
        expect: signoff
        reasons: ["signoff_when: case.sensitive"]
```
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from yaml.nodes import Node, ScalarNode

from casework.policy.engine import AgreementStats, route
from casework.policy.errors import PolicyError, PolicyProblem
from casework.policy.hearing import GatheredFact, hearing_required
from casework.policy.loader import (
    Policy,
    _duplicate_keys,
    _line,
    _parse_yaml,
    _problem,
    _show,
    _sorted,
    _walk,
    display_path,
)
from casework.policy.model import Mode, Name, Text

NO_SCENARIOS_MESSAGE = (
    "no scenarios file {name} next to the policy: a policy cannot be activated untested"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ScenarioStep(_Strict):
    """The facts one step sees in a scenario, and how it must route."""

    confidence: float | None = Field(default=None, ge=0, le=1)
    result: dict[str, Any] = Field(default_factory=dict)
    facts_gathered: list[GatheredFact] = Field(default_factory=list)
    expect: Mode
    reasons: list[str] | None = None
    hearing: Literal["required", "not_required"] | None = None
    # Earned autonomy: the measured agreement the step sees, and the audit-sample draw in
    # [0, 1) (default 0.999: not picked for the audit sample).
    agreement: AgreementStats | None = None
    audit_draw: float = Field(default=0.999, ge=0, lt=1)


class Scenario(_Strict):
    name: Text
    case: dict[str, Any] = Field(default_factory=dict)
    steps: dict[Name, ScenarioStep] = Field(min_length=1)


class ScenarioFile(_Strict):
    flow: Name
    scenarios: list[Scenario] = Field(min_length=1)


@dataclass(frozen=True)
class Scenarios:
    """A validated scenario file, with the line of each scenario for the report."""

    model: ScenarioFile
    path: Path
    text: str
    hash: str
    lines: list[int | None]


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    line: int | None
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class ScenarioRun:
    """Every scenario of one policy: ``problems`` when the file itself is unusable."""

    policy: Policy
    path: Path
    results: list[ScenarioResult] = field(default_factory=list)
    problems: list[PolicyProblem] = field(default_factory=list)
    scenarios: Scenarios | None = None

    @property
    def passed(self) -> bool:
        return not self.problems and bool(self.results) and all(r.passed for r in self.results)

    def lines(self) -> list[str]:
        """One line per scenario (or problem), as ``casework policy test`` prints them."""
        shown = display_path(self.path)
        out = [str(problem) for problem in self.problems]
        for result in self.results:
            where = shown if result.line is None else f"{shown}:{result.line}"
            if result.passed:
                out.append(f"pass  {where}  {result.name}")
            else:
                out.append(f"FAIL  {where}  {result.name}: {'; '.join(result.failures)}")
        return out


def scenarios_path(policy_file: Path) -> Path:
    """``policies/x.yaml`` -> ``policies/x.scenarios.yaml``."""
    policy_file = Path(policy_file)
    return policy_file.with_name(f"{policy_file.stem}.scenarios.yaml")


def load_scenarios(path: Path, policy: Policy) -> Scenarios:
    """Read and validate a scenario file against ``policy``; ``PolicyError`` lists problems."""
    path = Path(path)
    shown = display_path(path)

    def fail(message: str, line: int | None = None) -> PolicyError:
        return PolicyError([PolicyProblem(shown, line, "", message)])

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise fail(NO_SCENARIOS_MESSAGE.format(name=path.name)) from None
    except OSError as exc:
        raise fail(f"cannot read file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise fail("cannot read file: not UTF-8 text", raw[: exc.start].count(b"\n") + 1) from None
    root, data = _parse_yaml(text, fail)
    if root is None or (isinstance(root, ScalarNode) and data is None):
        raise fail("the file is empty; a scenario file needs 'flow' and 'scenarios'")
    if not isinstance(data, dict):
        raise fail(f"the top level must be a mapping (flow, scenarios), got {_show(data)}",
                   _line(root))
    problems = _duplicate_keys(root, shown)
    model: ScenarioFile | None = None
    try:
        model = ScenarioFile.model_validate(data)
    except ValidationError as exc:
        problems.extend(_problem(error, root, shown) for error in exc.errors(include_url=False))
    if model is not None:
        problems.extend(_against_policy(model, policy, root, shown))
    if problems or model is None:
        raise PolicyError(_sorted(problems))
    lines = [_line(_walk(root, ("scenarios", index))[2]) for index in range(len(model.scenarios))]
    return Scenarios(model=model, path=path, text=text, hash=hashlib.sha256(raw).hexdigest(),
                     lines=lines)


def _against_policy(
    model: ScenarioFile, policy: Policy, root: Node, shown: str
) -> list[PolicyProblem]:
    problems: list[PolicyProblem] = []
    if model.flow != policy.flow:
        _, key, node = _walk(root, ("flow",))
        problems.append(PolicyProblem(
            shown, _line(node or key), "flow",
            f"flow '{model.flow}' does not match the policy's flow '{policy.flow}'",
        ))
    known = ", ".join(policy.model.steps)
    for index, scenario in enumerate(model.scenarios):
        for step in scenario.steps:
            if step not in policy.model.steps:
                where, key, node = _walk(root, ("scenarios", index, "steps", step))
                problems.append(PolicyProblem(
                    shown, _line(key or node), where,
                    f"the policy has no step '{step}' (its steps: {known})",
                ))
    return problems


def run_scenarios(policy: Policy, path: Path | None = None) -> ScenarioRun:
    """Run the scenarios beside ``policy`` (or at ``path``) through the real ``route``."""
    path = Path(path) if path is not None else scenarios_path(policy.path)
    try:
        scenarios = load_scenarios(path, policy)
    except PolicyError as exc:
        return ScenarioRun(policy=policy, path=path, problems=exc.problems)
    results = [
        ScenarioResult(scenario.name, line, _failures(policy, scenario))
        for scenario, line in zip(scenarios.model.scenarios, scenarios.lines, strict=True)
    ]
    return ScenarioRun(policy=policy, path=path, results=results, scenarios=scenarios)


def _failures(policy: Policy, scenario: Scenario) -> list[str]:
    failures: list[str] = []
    for name, step in scenario.steps.items():
        facts = {"case": scenario.case, "result": step.result, "confidence": step.confidence}
        routed = route(policy, name, facts, agreement=step.agreement,
                       audit_draw=step.audit_draw)
        if routed.mode != step.expect:
            because = f" ({'; '.join(routed.reasons)})" if routed.reasons else ""
            failures.append(f"{name}: expected {step.expect}, got {routed.mode}{because}")
        elif step.reasons is not None and routed.reasons != step.reasons:
            failures.append(f"{name}: expected reasons {step.reasons}, got {routed.reasons}")
        if step.hearing is not None:
            decision = hearing_required(policy.step(name), step.facts_gathered)
            got = "required" if decision.required else "not_required"
            if got != step.hearing:
                failures.append(f"{name}: expected hearing {step.hearing}, got {got} "
                                f"({decision.reason})")
    return failures
