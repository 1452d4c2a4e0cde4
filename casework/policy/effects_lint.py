"""Prepare, then act — checked statically: a step that may wait for sign-off must not change an
outside system, because its function runs *before* anyone approved.

The lint reads a flow module's source and reports every ``@robot.step`` function that calls a
method whose name says it writes (``create_…``, ``add_document``, ``set_…``, ``send…``, …).
Such work belongs in an ``@robot.act`` step that takes the approved ``Decision``. It sees what
the source shows; a write hidden behind a helper function is caught at run time instead, by the
act step refusing unapproved work.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

from casework.policy.errors import PolicyProblem
from casework.policy.loader import display_path
from casework.registry import flow_module

WRITES = re.compile(
    r"^((create|add|set|update|delete|remove|file|journali[sz]e|register|close|assign)_\w+"
    r"|(send|move|acknowledge|post|put|patch|upload|submit|journalise|journalize)(_\w+)?)$")


def effect_problems(flow: str) -> list[PolicyProblem]:
    """Problems for the flow's module (empty when its source cannot be found)."""
    module = sys.modules.get(flow_module(flow) or "")
    source_file = getattr(module, "__file__", None)
    if not source_file:
        return []
    return lint_source(Path(source_file))


def lint_source(path: Path) -> list[PolicyProblem]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    shown = display_path(path)
    problems = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not any(_is_step_decorator(d) for d in node.decorator_list):
            continue
        for call in ast.walk(node):
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and WRITES.match(call.func.attr)):
                problems.append(PolicyProblem(
                    shown, call.lineno, f"step {node.name}",
                    f"calls {ast.unparse(call.func)}(), which changes an outside system, in a "
                    "step that may wait for sign-off (its function runs before anyone "
                    "approved): move the write into an @robot.act step that takes the approved "
                    "Decision"))
    return problems


def _is_step_decorator(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Attribute) and target.attr == "step"
