"""Fixtures for flow tests: the case-system and registry stand-ins on loopback, a drop folder
of sample letters, connection settings in the environment, and a router trained once."""

from __future__ import annotations

import mailbox
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flow_helpers import TOKEN, admin

from standins import case_system, registry
from standins.mail_drop import MAIL_DOMAIN, Letter, build_message, deliver, sample_letters
from standins.server import LoopbackServer, serving


@pytest.fixture
def case_server() -> Iterator[LoopbackServer]:
    with serving(case_system.create_app(None, TOKEN)) as server:
        yield server


@pytest.fixture
def registry_server() -> Iterator[LoopbackServer]:
    with serving(registry.create_app(TOKEN)) as server:
        yield server


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    """An empty maildir (``new/``, ``cur/``, ``tmp/``), as the mail system keeps it."""
    folder = tmp_path / "post"
    mailbox.Maildir(str(folder), create=True)
    return folder


@pytest.fixture
def systems_env(db_engine: Any, case_server: LoopbackServer, registry_server: LoopbackServer,
                maildir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Connection settings as a deployment would set them: environment only, quick retries."""
    env = {"CASEWORK_CASE_SYSTEM_URL": case_server.url, "CASEWORK_CASE_SYSTEM_TOKEN": TOKEN,
           "CASEWORK_REGISTRY_URL": registry_server.url, "CASEWORK_REGISTRY_TOKEN": TOKEN,
           "CASEWORK_MAILBOX_PATH": str(maildir), "CASEWORK_CONNECTOR_TIMEOUT": "3",
           "CASEWORK_CONNECTOR_ATTEMPTS": "3", "CASEWORK_CONNECTOR_INITIAL_WAIT": "0.01"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def stats() -> Callable[[LoopbackServer], dict[str, int]]:
    return lambda server: admin(server, "GET", "/admin/stats")


@pytest.fixture
def inject() -> Callable[[LoopbackServer, list[dict[str, Any]]], None]:
    """``inject(server, [{"path": "/cases/*", "status": 503, "times": 2}])``."""
    return lambda server, faults: admin(server, "POST", "/_faults", json=faults)


@pytest.fixture
def deliver_samples(maildir: Path) -> Callable[[], list[Letter]]:
    """Deliver the four sample letters (Karen, Mads, Lise, Peter) into the maildir."""

    def run() -> list[Letter]:
        letters = sample_letters()
        for number, letter in enumerate(letters, start=1):
            deliver(maildir, build_message(
                replace(letter, message_id=f"<sample-{number}@{MAIL_DOMAIN}>")))
        return letters

    return run


@pytest.fixture(scope="session")
def router_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The router trained once per session on the bundled letters (TF-IDF, seconds)."""
    from flows.routing import train_bundled_router

    folder = tmp_path_factory.mktemp("router") / "model"
    train_bundled_router(folder)
    return folder
