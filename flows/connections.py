"""The open connections of one flow run, kept out of step parameters (Prefect hashes those for
its cache keys and may persist them) and handed to the steps through a context variable."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from connectors.interfaces import CaseSystem
from connectors.registry import RegistryClient


@dataclass(frozen=True)
class Systems:
    """The case system (stand-in REST API or SBSYS: ``CASEWORK_CASE_SYSTEM``) and the registry
    of persons and properties."""

    cases: CaseSystem
    registry: RegistryClient | None = None


_systems: ContextVar[Systems] = ContextVar("casework_systems")


@contextmanager
def using(systems: Systems) -> Iterator[Systems]:
    """Make ``systems`` the connections steps use (a flow, or a plain-Python caller)."""
    token = _systems.set(systems)
    try:
        yield systems
    finally:
        _systems.reset(token)


def connections() -> Systems:
    try:
        return _systems.get()
    except LookupError:
        raise RuntimeError("steps that call outside systems need connections: "
                           "call them inside flows.connections.using(...)") from None


def registry() -> RegistryClient:
    found = connections().registry
    if found is None:
        raise RuntimeError("this step needs the registry: pass it to using(Systems(...))")
    return found
