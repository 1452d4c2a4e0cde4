"""A decision step with ``hearing: auto`` needs its party hearing in the flow's code.

The runtime inserts the hearing only when the flow calls ``robot.party_hearing(case,
decision_step="...")`` before the decision; a flow that never does would decide without ever
asking whether the party must be heard (forvaltningsloven § 19). ``casework policy check``
refuses that policy/flow pair.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Collection
from pathlib import Path

from casework.policy.errors import PolicyProblem
from casework.policy.loader import Policy, display_path
from casework.registry import flow_module


def hearing_problems(policy: Policy, known: Collection[str] | None = None
                     ) -> list[PolicyProblem]:
    """One problem per ``hearing: auto`` decision step the flow's module never hears for
    (nothing when the module's source cannot be found); ``known``: the flow's registered
    steps (a policy step the flow lacks is reported elsewhere)."""
    auto = [name for name, step in policy.model.steps.items()
            if step.effective_hearing == "auto" and (known is None or name in known)]
    if not auto:
        return []
    module = sys.modules.get(flow_module(policy.flow) or "")
    source_file = getattr(module, "__file__", None)
    if not source_file:
        return []
    heard = heard_steps(Path(source_file))
    if heard is None:  # a decision_step the code computes: cannot tell, trust the runtime
        return []
    shown = display_path(Path(source_file))
    return [PolicyProblem(
        display_path(policy.path), policy.lines.get(f"steps.{name}"), f"steps.{name}",
        f"decision step '{name}' has hearing: auto, but {shown} never calls "
        f"robot.party_hearing(case, decision_step=\"{name}\", ...) before it: call it, or set "
        "hearing: exempt with a hearing_exception")
        for name in auto if name not in heard]


def heard_steps(path: Path) -> set[str] | None:
    """The ``decision_step`` names of every ``party_hearing(...)`` call in the file; None if
    one of them is not a plain string."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    heard: set[str] = set()
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        name = call.func.attr if isinstance(call.func, ast.Attribute) else \
            call.func.id if isinstance(call.func, ast.Name) else ""
        if name not in ("party_hearing", "run_party_hearing"):
            continue
        for keyword in call.keywords:
            if keyword.arg == "decision_step":
                if not (isinstance(keyword.value, ast.Constant)
                        and isinstance(keyword.value.value, str)):
                    return None
                heard.add(keyword.value.value)
    return heard
