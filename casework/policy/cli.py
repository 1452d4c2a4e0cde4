"""``casework policy``: check, test, activate and document policy files.

``check`` validates files before they reach production (and in CI); ``test`` runs each
policy's scenarios; ``activate`` puts a checked and tested version into force; ``status`` lists
the versions in force; ``docs`` renders their legal content. Every command prints one line per
file, problem or scenario, never a traceback, and exits 1 on any problem.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from casework.policy.effects_lint import effect_problems
from casework.policy.errors import PolicyError, PolicyProblem
from casework.policy.hearing_lint import hearing_problems
from casework.policy.loader import (
    check_against_flow,
    display_path,
    load_policy,
    parse_policy,
    policy_files,
    policy_path,
    readiness_problems,
)
from casework.policy.scenarios import run_scenarios
from casework.registry import FlowImportError, act_steps, discover_flows
from casework.settings import get_settings


def register(app: typer.Typer) -> None:
    """Mount the ``policy`` command group on the main CLI."""
    policy_app = typer.Typer(help="Check, test, activate and document policy files.",
                             no_args_is_help=True)
    policy_app.command("check")(check)
    policy_app.command("test")(test)
    policy_app.command("activate")(activate)
    policy_app.command("status")(status)
    policy_app.command("docs")(docs)
    app.add_typer(policy_app, name="policy")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {' '.join(message.split())}")
    return typer.Exit(1)


def _policy_paths(files: list[Path] | None) -> list[Path]:
    if files:
        return list(files)
    try:
        directory = get_settings().policy_dir
    except ValidationError as exc:
        raise _fail(f"invalid CASEWORK_ settings: {exc.errors()[0]['msg']}") from None
    if not directory.is_dir():
        raise _fail(f"no policy folder at {display_path(directory)} (set CASEWORK_POLICY_DIR)")
    return policy_files(directory)


def _database() -> Engine:
    """The configured database, migrated when flows would migrate it too."""
    from casework.db import migrate
    from casework.db.session import get_engine

    try:
        engine = get_engine()
        if get_settings().auto_migrate:
            migrate.ensure_schema(engine)
    except (ValidationError, SQLAlchemyError) as exc:
        raise _fail(f"cannot open the database: {type(exc).__name__}: {exc}") from None
    return engine


def check(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Policy files to check (default: every *.yaml in CASEWORK_POLICY_DIR).",
            show_default=False,
        ),
    ] = None,
    flows: Annotated[
        Path | None,
        typer.Option("--flows", help="Folder of flow code to cross-check against (default: "
                     "flows/, when it exists).", show_default=False),
    ] = None,
) -> None:
    """Validate policy files and, if the flow code is present, compare them with it."""
    directory: Path | None = None
    if flows is not None and not flows.is_dir():
        raise _fail(f"--flows {flows}: no such folder")
    flows = flows or Path("flows")
    if files:
        paths = []
        for given in files:
            if given.is_dir():  # a folder: every policy file in it
                paths += policy_files(given)
            else:
                paths.append(given)
        if not paths:
            raise _fail(f"no policy files in {', '.join(str(f) for f in files)}")
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
                    acts=act_steps(policy.flow),
                )
                problems += effect_problems(policy.flow)
                problems += hearing_problems(policy, registry.get(policy.flow, {}))
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


def test(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Policy files whose scenarios to run (default: every policy in "
            "CASEWORK_POLICY_DIR); scenarios are read from <flow>.scenarios.yaml beside each.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run each policy's scenarios through the routing engine: one pass/FAIL line each."""
    paths = _policy_paths(files)
    passed = failed = problem_count = 0
    for path in paths:
        try:
            policy = load_policy(path)
        except PolicyError as exc:
            for problem in exc.problems:
                typer.echo(str(problem))
            problem_count += len(exc.problems)
            continue
        run = run_scenarios(policy)
        for line in run.lines():
            typer.echo(line)
        problem_count += len(run.problems)
        passed += sum(result.passed for result in run.results)
        failed += sum(not result.passed for result in run.results)
    summary = f"ran {_plural(passed + failed, 'scenario')}: {passed} passed, {failed} failed"
    if problem_count:
        summary += f", {_plural(problem_count, 'problem')}"
    typer.echo(summary)
    if failed or problem_count or not passed + failed:
        raise typer.Exit(1)


def activate(
    file: Annotated[Path, typer.Argument(help="The policy file to put into force.")],
    by: Annotated[
        str, typer.Option("--by", help="Who takes responsibility for this version (recorded).")
    ],
    flows: Annotated[
        Path,
        typer.Option("--flows", help="Folder of flow code to cross-check against, when it exists."),
    ] = Path("flows"),
) -> None:
    """Check the file, run its scenarios and, only if everything passes, record it as active."""
    from casework.policy.activation import activate as activate_policy

    if not by.strip():
        raise _fail("--by must name the person responsible")
    registry: dict[str, dict[str, str]] | None = None
    if flows.is_dir():
        try:
            registry = discover_flows(flows)
        except FlowImportError as exc:
            raise _fail(str(exc)) from None
    engine = _database()
    report = activate_policy(file, by=by, engine=engine, flow_steps=registry)
    for problem in report.problems:
        typer.echo(str(problem))
    if report.scenarios is not None:
        for line in report.scenarios.lines():
            typer.echo(line)
    if not report.ok or report.policy is None:
        typer.echo(f"activation refused: {display_path(file)} is not checked and tested; "
                   "nothing recorded")
        raise typer.Exit(1)
    policy = report.policy
    if report.already_active:
        typer.echo(f"already active: {policy.flow} sha256 {policy.hash[:8]}")
        return
    count = _plural(len(report.scenarios.results), "scenario") if report.scenarios else ""
    typer.echo(f"activated {policy.flow} sha256 {policy.hash[:8]} by {by.strip()} "
               f"({count} passed)")


def status() -> None:
    """List the policy version in force for each flow, and whether its file still matches."""
    from casework.policy.activation import active_versions

    engine = _database()
    versions = active_versions(engine)
    if not versions:
        typer.echo("no active policy versions (use: casework policy activate FILE --by NAME)")
        return
    directory = get_settings().policy_dir
    for version in versions:
        path = policy_path(directory, version.flow)
        try:
            current = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            file_state = f"{display_path(path)} missing"
        else:
            same = current == version.policy_hash
            file_state = f"{display_path(path)} {'matches' if same else 'differs'}"
        when = version.activated_at.strftime("%Y-%m-%d %H:%M")
        typer.echo(f"{version.flow}  sha256 {version.policy_hash[:8]}  activated {when} "
                   f"by {version.activated_by}  ({version.scenarios_passed} scenarios; "
                   f"file {file_state})")


def docs(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Policy files (default: every active version in the database).",
                       show_default=False),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="da or en.")] = "da",
    fmt: Annotated[str, typer.Option("--format", help="html or md.")] = "html",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default: print).")
    ] = None,
) -> None:
    """Render the legal content of each automation: steps, legal basis, safeguards."""
    from casework.policy.activation import active_versions
    from casework.policy.docs import DocumentedPolicy, render_docs

    if lang not in ("da", "en"):
        raise _fail(f"--lang must be da or en (got '{lang}')")
    if fmt not in ("html", "md"):
        raise _fail(f"--format must be html or md (got '{fmt}')")
    items: list[DocumentedPolicy] = []
    problems: list[PolicyProblem] = []
    if files:
        for path in files:
            try:
                items.append(DocumentedPolicy(load_policy(path)))
            except PolicyError as exc:
                problems.extend(exc.problems)
    else:
        from casework.db.models import PolicyVersion
        from casework.db.session import reading

        engine = _database()
        with reading(engine) as session:
            for version in active_versions(engine):
                stored = session.get(PolicyVersion, version.policy_hash)
                if stored is None:
                    continue
                try:
                    policy = parse_policy(stored.content.encode("utf-8"), Path(stored.path))
                except PolicyError as exc:
                    problems.extend(exc.problems)
                    continue
                items.append(DocumentedPolicy(policy, version.activated_by,
                                              version.activated_at))
        if not items and not problems:
            raise _fail("no active policy versions to document; give policy files or "
                        "activate one first")
    for problem in problems:
        typer.echo(str(problem))
    if problems:
        raise typer.Exit(1)
    text = render_docs(items, lang=lang, fmt=fmt)  # type: ignore[arg-type]
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot write {display_path(output)}: {exc.strerror or exc}") from None
    typer.echo(f"wrote {display_path(output)} ({_plural(len(items), 'policy')}, {lang}, {fmt})")
