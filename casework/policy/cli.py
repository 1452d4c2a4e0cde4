"""``casework policy check``: validate policy files before they reach production (and in CI).

Prints one line per file or per problem, never a traceback, and exits 1 on any problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from casework.policy.errors import PolicyError, PolicyProblem
from casework.policy.loader import (
    check_against_flow,
    display_path,
    load_policy,
    policy_files,
    readiness_problems,
)
from casework.registry import FlowImportError, discover_flows
from casework.settings import get_settings


def register(app: typer.Typer) -> None:
    """Mount the ``policy`` command group on the main CLI."""
    policy_app = typer.Typer(help="Check policy files.", no_args_is_help=True)
    policy_app.command("check")(check)
    app.add_typer(policy_app, name="policy")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {' '.join(message.split())}")
    return typer.Exit(1)


def check(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Policy files to check (default: every *.yaml in CASEWORK_POLICY_DIR).",
            show_default=False,
        ),
    ] = None,
    flows: Annotated[
        Path,
        typer.Option("--flows", help="Folder of flow code to cross-check against, when it exists."),
    ] = Path("flows"),
) -> None:
    """Validate policy files and, if the flow code is present, compare them with it."""
    directory: Path | None = None
    if files:
        paths = list(files)
    else:
        try:
            directory = get_settings().policy_dir
        except ValidationError as exc:
            raise _fail(f"invalid CASEWORK_ settings: {exc.errors()[0]['msg']}") from None
        if not directory.is_dir():
            raise _fail(f"no policy folder at {display_path(directory)} (set CASEWORK_POLICY_DIR)")
        paths = policy_files(directory)

    registry: dict[str, dict[str, str]] | None = None
    if flows.is_dir():
        try:
            registry = discover_flows(flows)
        except FlowImportError as exc:
            raise _fail(str(exc)) from None
    flows_label = f"{display_path(flows)}/"

    problem_count = 0
    for path in paths:
        try:
            policy = load_policy(path)
        except PolicyError as exc:
            problems = exc.problems
        else:
            problems = readiness_problems(policy)
            if registry is not None:
                problems += check_against_flow(
                    policy,
                    registry.get(policy.flow, {}),
                    policy.flow in registry,
                    flows_label=flows_label,
                )
                problems.sort(key=lambda problem: problem.line or 0)
            if not problems:
                steps = _plural(len(policy.model.steps), "step")
                typer.echo(f"ok    {display_path(path)}  ({steps}, sha256 {policy.hash[:8]})")
        for problem in problems:
            typer.echo(str(problem))
        problem_count += len(problems)

    if directory is not None and registry is not None:
        have = {path.stem for path in paths}
        for flow in sorted(set(registry) - have):
            problem = PolicyProblem(
                display_path(directory / f"{flow}.yaml"),
                None,
                "",
                f"flow '{flow}' in {flows_label} has no policy file",
            )
            typer.echo(str(problem))
            problem_count += 1

    summary = f"checked {_plural(len(paths), 'file')}: "
    summary += _plural(problem_count, "problem") if problem_count else "all ok"
    if registry is None:
        summary += f" (flow code not cross-checked: no {flows_label} folder)"
    typer.echo(summary)
    if problem_count:
        raise typer.Exit(1)
