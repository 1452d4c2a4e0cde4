"""Read policy files, and turn every mistake in them into a line-numbered, fixable message.

YAML is composed (not just loaded) so each key and value keeps its line; pydantic errors are
mapped back to those lines. All problems of a file are reported at once, sorted by line.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from casework.policy.conditions import Condition, parse_condition
from casework.policy.errors import PolicyError, PolicyProblem
from casework.policy.hearing import PARTY_HEARING_STEP
from casework.policy.model import (
    NAME_PATTERN,
    AiAct,
    AiActExemption,
    FlowPolicy,
    SignoffBy,
    StepPolicy,
)
from casework.policy.rules import (
    Violation,
    flow_violations,
    partial_violations,
    readiness_violations,
)

_POSITIVE_NUMBERS = frozenset({"manual_minutes", "deadline_hours"})
_NUMBER_ERRORS = frozenset({"float_type", "float_parsing", "int_type", "int_parsing"})
_MAPPING_ERRORS = frozenset({"dict_type", "model_type", "model_attributes_type"})
_NAME_RULE = "must be lower case letters, digits and _, starting with a letter"
_YAML_MERGE_TAG = "tag:yaml.org,2002:merge"
SCENARIO_SUFFIXES = (".scenarios.yaml", ".scenarios.yml")  # tests of a policy, not policies


@dataclass(frozen=True, eq=False)
class Policy:
    """A validated policy file. ``hash`` (SHA-256 of the raw bytes) is the version runs record."""

    model: FlowPolicy
    path: Path
    text: str
    hash: str
    conditions: dict[str, list[Condition]]
    lines: Mapping[str, int] = field(repr=False)  # "steps.read_letter.mode" -> line of the key
    root: Node | None = field(default=None, repr=False)  # the YAML nodes, for later messages

    @property
    def flow(self) -> str:
        return self.model.flow

    def step(self, name: str) -> StepPolicy:
        try:
            return self.model.steps[name]
        except KeyError:
            steps = ", ".join(self.model.steps)
            raise KeyError(
                f"policy {display_path(self.path)} has no step '{name}' (its steps: {steps})"
            ) from None


def display_path(path: Path) -> str:
    """The path as people typed it, or relative to the working directory when inside it."""
    path = Path(path)
    if not path.is_absolute():
        return str(path)
    try:
        return str(Path(os.path.abspath(path)).relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(path)


def policy_path(directory: Path, flow: str) -> Path:
    """Where the policy of ``flow`` lives; refuses names that could escape the directory."""
    if not re.fullmatch(NAME_PATTERN, flow):
        raise ValueError(f"invalid flow name {flow!r}: {_NAME_RULE}")
    return Path(directory) / f"{flow}.yaml"


def policy_files(directory: Path) -> list[Path]:
    """The policy files in ``directory`` (``*.yaml``, and ``*.yml`` so they get flagged).

    Scenario files (``<flow>.scenarios.yaml``) live beside the policies and are left out.
    """
    files = [*Path(directory).glob("*.yaml"), *Path(directory).glob("*.yml")]
    return sorted(
        path
        for path in files
        if not path.name.startswith(".") and not path.name.endswith(SCENARIO_SUFFIXES)
    )


def load_policy(path: Path) -> Policy:
    """Load and validate one policy file; raises ``PolicyError`` listing every problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        message = f"cannot read file: {exc.strerror or exc}"
        raise PolicyError([PolicyProblem(display_path(path), None, "", message)]) from None
    return parse_policy(raw, path)


def parse_policy(raw: bytes, path: Path) -> Policy:
    """Validate the bytes of a policy file as if read from ``path`` (e.g. a stored version)."""
    path = Path(path)
    shown = display_path(path)

    def fail(message: str, line: int | None = None) -> PolicyError:
        return PolicyError([PolicyProblem(shown, line, "", message)])

    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise fail("cannot read file: not UTF-8 text", line) from None

    root, data = _parse_yaml(text, fail)
    if root is None or (isinstance(root, ScalarNode) and data is None):
        raise fail("the file is empty; a policy needs at least 'flow' and 'steps'")
    if not isinstance(data, dict):
        raise fail(
            f"the top level must be a mapping of fields (flow, steps, ...), got {_show(data)}",
            _line(root),
        )

    problems = _duplicate_keys(root, shown)
    model: FlowPolicy | None = None
    error_fields: set[tuple[Any, ...]] = set()
    try:
        model = FlowPolicy.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            error_fields.add(tuple(error["loc"]))
            problems.append(_problem(error, root, shown))

    violations = flow_violations(model) if model is not None else partial_violations(data)
    problems.extend(violation_problem(violation, root, shown) for violation in violations)

    flow = data.get("flow")
    if isinstance(flow, str) and ("flow",) not in error_fields and flow != path.stem:
        _, key, value = _walk(root, ("flow",))
        problems.append(
            PolicyProblem(
                shown,
                _line(value or key),
                "flow",
                f"flow '{flow}' does not match the file name '{path.name}'",
            )
        )
    if path.suffix != ".yaml":
        problems.append(
            PolicyProblem(
                shown, None, "", f"the file name must end in .yaml (rename it to {path.stem}.yaml)"
            )
        )
    if problems or model is None:
        raise PolicyError(_sorted(problems))

    conditions = {
        name: [parse_condition(text) for text in step.signoff_when]
        for name, step in model.steps.items()
    }
    return Policy(
        model=model,
        path=path,
        text=text,
        hash=hashlib.sha256(raw).hexdigest(),
        conditions=conditions,
        lines=dict(_key_lines(root)),
        root=root,
    )


def readiness_problems(policy: Policy) -> list[PolicyProblem]:
    """What ``policy check`` and activation demand beyond a loadable file (the ai_act block)."""
    shown = display_path(policy.path)
    return [
        violation_problem(violation, policy.root, shown)
        for violation in readiness_violations(policy.model)
    ]


def violation_problem(violation: Violation, root: Node | None, shown: str) -> PolicyProblem:
    """Point a broken legal rule at its field's line, or at its parent's when it is absent."""
    if root is None:
        return PolicyProblem(shown, None, ".".join(map(str, violation.loc)), violation.message)
    where, key, node, found = _walk_found(root, violation.loc)
    line = _line(node or key) if found else _line(key or node)
    return PolicyProblem(shown, line, where, violation.message)


def load_policies(directory: Path) -> dict[str, Policy]:
    """Every policy in ``directory`` by flow name; raises ``PolicyError`` with all problems."""
    directory = Path(directory)
    if not directory.is_dir():
        raise PolicyError(
            [PolicyProblem(display_path(directory), None, "", "cannot read directory: not found")]
        )
    policies: dict[str, Policy] = {}
    problems: list[PolicyProblem] = []
    for path in policy_files(directory):
        try:
            policy = load_policy(path)
        except PolicyError as exc:
            problems.extend(exc.problems)
        else:
            policies[policy.flow] = policy
    if problems:
        raise PolicyError(problems)
    return policies


def check_against_flow(
    policy: Policy,
    steps: Mapping[str, str],
    flow_known: bool,
    *,
    flows_label: str = "flows/",
    acts: Collection[str] = (),
) -> list[PolicyProblem]:
    """Compare a policy with the steps (name -> kind) its flow's code registered; ``acts`` are
    the steps that change outside systems (``@robot.act``)."""
    shown = display_path(policy.path)
    flow = policy.flow
    if not flow_known:
        return [
            PolicyProblem(
                shown, policy.lines.get("flow"), "flow", f"no flow named '{flow}' in {flows_label}"
            )
        ]
    known = f"its steps: {', '.join(steps)}" if steps else "it registered no steps"
    problems: list[PolicyProblem] = []
    for name, step in policy.model.steps.items():
        where = f"steps.{name}"
        if name == PARTY_HEARING_STEP:
            problems.append(PolicyProblem(
                shown, policy.lines.get(where), where,
                f"step '{name}' is inserted by the runtime before a decision that needs a "
                "party hearing; its policy follows from the decision step's and cannot be "
                "set here (remove it)"))
        elif name not in steps:
            problems.append(
                PolicyProblem(
                    shown,
                    policy.lines.get(where),
                    where,
                    f"unknown step '{name}': flow '{flow}' has no such step ({known})",
                )
            )
        elif steps[name] != step.kind:
            problems.append(
                PolicyProblem(
                    shown,
                    policy.lines.get(f"{where}.kind"),
                    f"{where}.kind",
                    f"kind '{step.kind}' does not match flow '{flow}', "
                    f"whose code declares step '{name}' as '{steps[name]}'",
                )
            )
    for name in acts:
        step_policy = policy.model.steps.get(name)
        where = f"steps.{name}"
        if step_policy is not None and (step_policy.mode in ("signoff", "shadow")
                                        or step_policy.signoff_when):
            problems.append(PolicyProblem(
                shown, policy.lines.get(f"{where}.mode") or policy.lines.get(where), where,
                f"step '{name}' acts on outside systems with work already approved or allowed; "
                "it cannot wait for sign-off itself (it would act first): put the sign-off on "
                "the step that prepares its input and give this step mode autonomous or manual"))
    for name in steps:
        if name not in policy.model.steps:
            problems.append(
                PolicyProblem(
                    shown,
                    policy.lines.get("steps"),
                    "steps",
                    f"step '{name}' of flow '{flow}' has no policy",
                )
            )
    return _sorted(problems)


# --- YAML -------------------------------------------------------------------------------------


def _parse_yaml(text: str, fail: Any) -> tuple[Node | None, Any]:
    try:
        loader = yaml.SafeLoader(text)  # reads ahead: a binary file fails here already
    except yaml.YAMLError as exc:
        raise fail(f"not a YAML text file ({getattr(exc, 'reason', exc)})") from None
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = ", ".join(part for part in (exc.context, exc.problem) if part) or "invalid"
        raise fail(f"YAML error: {reason}", mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise fail(f"YAML error: {exc}") from None
    except RecursionError:
        raise fail("YAML error: nested too deeply") from None
    finally:
        loader.dispose()
    return root, data


def _line(node: Node | None) -> int | None:
    return None if node is None else node.start_mark.line + 1


def _pairs(node: MappingNode) -> Iterator[tuple[str, Node, Node]]:
    for key, value in node.value:
        if isinstance(key, ScalarNode) and key.tag != _YAML_MERGE_TAG:
            yield key.value, key, value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _duplicate_keys(root: Node, shown: str) -> list[PolicyProblem]:
    """PyYAML silently keeps the last of two equal keys; in a policy that hides a mistake."""
    problems: list[PolicyProblem] = []
    seen_nodes: set[int] = set()

    def visit(node: Node, path: str) -> None:
        if id(node) in seen_nodes:  # aliases can make the node graph cyclic
            return
        seen_nodes.add(id(node))
        if isinstance(node, MappingNode):
            keys: set[str] = set()
            for name, key, value in _pairs(node):
                where = _join(path, name)
                if name in keys:
                    problems.append(
                        PolicyProblem(shown, _line(key), where, f"duplicate key '{name}'")
                    )
                keys.add(name)
                visit(value, where)
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                visit(item, f"{path}[{index}]")

    visit(root, "")
    return problems


def _key_lines(root: Node) -> Iterator[tuple[str, int]]:
    """Line of every mapping key by dotted path, for messages made after loading."""
    stack: list[tuple[Node, str]] = [(root, "")]
    seen_nodes: set[int] = set()
    while stack:
        node, path = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, MappingNode):
            for name, key, value in reversed(list(_pairs(node))):  # the last duplicate wins
                where = _join(path, name)
                yield where, key.start_mark.line + 1
                stack.append((value, where))
        elif isinstance(node, SequenceNode):
            stack.extend((item, f"{path}[{i}]") for i, item in enumerate(node.value))


def _walk(root: Node, loc: tuple[Any, ...]) -> tuple[str, Node | None, Node | None]:
    """Follow a pydantic ``loc`` through the YAML nodes: (field text, key node, value node).

    When the path leaves the YAML (a missing field), the nodes are those of the deepest part
    that exists, so there is always a line to point at.
    """
    path, key_node, node, _ = _walk_found(root, loc)
    return path, key_node, node


def _walk_found(
    root: Node, loc: tuple[Any, ...]
) -> tuple[str, Node | None, Node | None, bool]:
    """``_walk``, and whether the whole path exists in the YAML."""
    path, key_node, node = "", None, root
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(node, MappingNode):
            match = None
            for name, key, value in _pairs(node):
                if name == str(part):
                    match = (key, value)  # the last duplicate wins, as in PyYAML
            path = _join(path, str(part))
            if match is None:
                return path, key_node, node, False
            key_node, node = match
        elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
            path = f"{path}[{part}]"
            key_node, node = None, node.value[part]
        else:
            path = f"{path}[{part}]" if isinstance(part, int) else _join(path, str(part))
            return path, key_node, node, False
    return path, key_node, node, True


# --- pydantic errors -> problems --------------------------------------------------------------


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    if not loc:
        return FlowPolicy
    if len(loc) == 2 and loc[0] == "steps":
        return StepPolicy
    if len(loc) == 3 and loc[0] == "steps" and loc[2] == "signoff_by":
        return SignoffBy
    if len(loc) == 3 and loc[0] == "steps" and loc[2] == "ai_act_exemption":
        return AiActExemption
    if loc == ("ai_act",):
        return AiAct
    return None


def _problem(error: ErrorDetails, root: Node, shown: str) -> PolicyProblem:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "missing":
        where, key, node = _walk(root, loc[:-1])
        return PolicyProblem(
            shown, _line(key or node), where, f"missing required field '{loc[-1]}'"
        )
    where, key, node = _walk(root, loc)
    if kind == "extra_forbidden":
        name = str(loc[-1])
        model = _model_at(loc[:-1])
        close = difflib.get_close_matches(name, list(model.model_fields) if model else [], 1, 0.7)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return PolicyProblem(shown, _line(key), where, f"unknown field '{name}'{hint}")
    if loc and loc[-1] == "[key]":
        message = f"invalid step name {_show(error['input'])}: {_NAME_RULE}"
        return PolicyProblem(shown, _line(key or node), where, message)
    return PolicyProblem(shown, _line(node or key), where, _message(error, loc))


def _message(error: ErrorDetails, loc: tuple[Any, ...]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    got = f" (got {_show(error['input'])})"
    name = next((str(part) for part in reversed(loc) if isinstance(part, str)), "")
    if name == "hearing_reply_days" and (
        kind in _NUMBER_ERRORS or kind in ("greater_than", "less_than_equal")
    ):
        return f"must be a whole number of days from 1 to 365{got}"
    if kind == "string_pattern_mismatch" and name == "annex_iii_point":
        return f"must be an Annex III point such as '5(a)'{got}"
    if kind == "literal_error":
        values = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return f"must be one of {', '.join(values)}{got}"
    if kind == "greater_than" or (kind in _NUMBER_ERRORS and name in _POSITIVE_NUMBERS):
        return f"must be a number greater than {_show(ctx.get('gt', 0))}{got}"
    if kind in _NUMBER_ERRORS:
        return f"must be a number{got}"
    if kind == "finite_number":
        return f"must be a finite number{got}"
    if kind == "string_type":
        return f"must be text{got}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_pattern_mismatch":
        return f"{_NAME_RULE}{got}"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false{got}"
    if kind == "list_type":
        return f"must be a list{got}"
    if kind in _MAPPING_ERRORS:
        return f"must be a mapping of fields{got}"
    if kind == "too_short":
        if name == "steps":
            return "must have at least one step"
        if name == "roles":
            return "must list at least one role"
        return "must not be empty"
    return error["msg"]


def _show(value: Any) -> str:
    """A value as a policy author would recognise it from their YAML."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return f"'{value if len(value) <= 60 else value[:57] + '...'}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return str(value)


def _sorted(problems: list[PolicyProblem]) -> list[PolicyProblem]:
    return sorted(problems, key=lambda problem: problem.line or 0)
