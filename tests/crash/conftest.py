"""The crash suite's stack: started once for the module of tests that use it, torn down after.
Marked ``crash``; runs in ``make test``. PostgreSQL when CASEWORK_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from crash_stack import CRASH_DIR, FIGURES, REPO, Stack, cli, lap


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if CRASH_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.crash)


def pytest_report_header(config: pytest.Config) -> str:
    backend = "PostgreSQL" if os.environ.get("CASEWORK_TEST_POSTGRES_URL") else "SQLite"
    return f"casework crash suite: databases on {backend}"


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    if not FIGURES:
        return
    terminalreporter.section("crash suite figures")
    for name, figures in FIGURES.items():
        terminalreporter.line(f"{name}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from prefect.settings import PREFECT_API_URL
    from prefect.settings.context import temporary_settings

    from casework.settings import reset_settings_cache

    stack = Stack(tmp_path_factory.mktemp("crash-stack"))
    print(f"\ncrash suite: databases on {stack.backend}")
    try:
        lap("starting")
        stack.start_server()
        lap("prefect server up")
        stack.start_case_system()
        cli(stack, "-m", "casework.cli", "db", "upgrade")
        cli(stack, "-m", "casework.cli", "inbox", "seed-demo-users")
        stack.start_inbox()
        lap("case system, database and inbox up")
        cli(stack, "-m", "prefect", "work-pool", "create", "casework", "--type", "process")
        # The repository's own prefect.yaml deploys as documented. Only journal placement: the
        # scheduled robots need real systems and would take the workers' time here (their
        # entries are checked by tests/core/test_deployment_config.py).
        out = cli(stack, "-m", "prefect", "--no-prompt", "deploy", "--name", "journal-placement",
                  CASEWORK_CHECKOUT=str(REPO), CASEWORK_RELEASE="crash-suite")
        assert "journal-placement" in out
        with pytest.MonkeyPatch.context() as env, \
                temporary_settings({PREFECT_API_URL: stack.api_url}):
            for key, value in stack.env().items():
                if key.startswith(("CASEWORK_", "CRASH_")):
                    env.setenv(key, value)
            reset_settings_cache()
            _deploy_crash_flows()
            lap("deployed")
            yield stack
    except BaseException:
        for proc in [stack.server, stack.inbox, stack.case_system, *stack.workers]:
            print(f"--- {proc.name} ---\n{proc.tail()}")
        raise
    finally:
        stack.stop_all()
        reset_settings_cache()
        from casework.db.session import engine_for

        engine_for.cache_clear()


def _deploy_crash_flows() -> None:
    from prefect import Flow

    # The batch runs without result persistence ('record'), so a retried run really repeats
    # the steps its killed attempt finished; the sign-off flow suspends as production does.
    for name, wait in (("crash_batch", "record"), ("crash_signoff", "suspend"),
                       ("crash_items", "record")):
        flow = Flow.from_source(source=str(CRASH_DIR), entrypoint=f"crash_flows.py:{name}")
        flow.deploy(name=name.replace("_", "-"), work_pool_name="casework", build=False,
                    push=False, print_next_steps=False, ignore_warnings=True,
                    tags=["casework", "crash-suite"],
                    job_variables={"env": {"CASEWORK_SIGNOFF_WAIT": wait}})
