"""Which steps each flow has, so policies can be checked against the code that runs them.

Flows register themselves when their module is imported (see ``casework.runtime``). The core
never imports ``flows/`` statically; ``discover_flows`` loads flow modules by file path.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from casework.policy.hearing import PARTY_HEARING_STEP

_FLOW_STEPS: dict[str, dict[str, str]] = {}  # flow name -> {step name: step kind}
_FLOW_MODULES: dict[str, str] = {}  # flow name -> module that defines it
_ACT_STEPS: dict[str, set[str]] = {}  # flow name -> steps that act on outside systems


# inserted by the runtime (casework.rights.hearing)
RESERVED_STEPS = frozenset({PARTY_HEARING_STEP})


def register_step(flow: str, step: str, kind: str, *, effect: bool = False) -> None:
    if step in RESERVED_STEPS:
        raise ValueError(f"flow {flow!r}: step name {step!r} is reserved for the step the "
                         "runtime inserts; choose another name")
    _FLOW_STEPS.setdefault(flow, {})[step] = kind
    if effect:
        _ACT_STEPS.setdefault(flow, set()).add(step)
    else:
        _ACT_STEPS.get(flow, set()).discard(step)
    _FLOW_MODULES.setdefault(flow, _caller_module())


def register_flow(flow: str, module: str | None = None) -> None:
    """``module``: the module defining the flow (default: the caller's)."""
    _FLOW_STEPS.setdefault(flow, {})
    _FLOW_MODULES[flow] = module or _caller_module()


def _caller_module() -> str:
    return str(sys._getframe(2).f_globals.get("__name__", ""))


def act_steps(flow: str) -> frozenset[str]:
    """The steps of ``flow`` declared with ``@robot.act`` (they change outside systems)."""
    return frozenset(_ACT_STEPS.get(flow, ()))


def flow_module(flow: str) -> str | None:
    return _FLOW_MODULES.get(flow)


def flow_steps() -> dict[str, dict[str, str]]:
    """A copy of the registry: flow name -> {step name: kind}."""
    return {flow: dict(steps) for flow, steps in _FLOW_STEPS.items()}


class FlowImportError(Exception):
    """A flow module could not be imported; the message names the file."""


def discover_flows(flows_dir: Path) -> dict[str, dict[str, str]]:
    """Import every module in ``flows_dir`` and return the steps they registered."""
    root = flows_dir.resolve().parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    package = flows_dir.name
    for path in sorted(flows_dir.glob("*.py")):
        if path.name.startswith("_"):
            continue
        module_name = f"{package}.{path.stem}"
        if module_name in sys.modules:
            continue
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise FlowImportError(f"{path}: not a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # surfaced as one clear line by the CLI
            del sys.modules[module_name]
            raise FlowImportError(f"{path}: cannot import: {type(exc).__name__}: {exc}") from exc
    # Only flows defined in this folder: the process may hold others (tests, notebooks).
    return {flow: steps for flow, steps in flow_steps().items()
            if _FLOW_MODULES.get(flow, "").startswith(f"{package}.")}
