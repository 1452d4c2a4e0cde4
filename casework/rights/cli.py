"""``casework explain``, ``casework review request``, ``casework hearing reply`` and
``casework retention apply``: the citizen's rights (explanation, human review, being heard)
and the retention of their data."""

from __future__ import annotations

from typing import NoReturn

import typer

review_app = typer.Typer(no_args_is_help=True,
                         help="Citizens' requests for human review (GDPR Art. 22(3)).")
hearing_app = typer.Typer(no_args_is_help=True,
                          help="Party hearings before decisions (forvaltningsloven § 19).")
retention_app = typer.Typer(no_args_is_help=True,
                            help="Erase personal data after the retention period.")


def explain(
    case_id: str = typer.Argument(..., help="The case id, or its pseudonymised ref (c_…)."),
    lang: str = typer.Option("da", "--lang", help="da, nb or en."),
    format: str = typer.Option("text", "--format", help="text, md or html."),
) -> None:
    """Explain to the citizen which automated steps touched the case, what they used and
    suggested, who decided and on what legal basis."""
    from casework.rights.explain import LANGUAGES, CaseNotFound, explain_case

    if lang not in LANGUAGES:
        _fail(f"--lang must be one of {', '.join(LANGUAGES)}, not {lang!r}", 2)
    if format not in ("text", "md", "html"):
        _fail(f"--format must be text, md or html, not {format!r}", 2)
    try:
        explanation = explain_case(case_id, language=lang)  # type: ignore[arg-type]
    except CaseNotFound as exc:
        _fail(f"{exc} (is it the right case id and pseudonym key?)", 1)
    typer.echo(explanation.render(format), nl=False)  # type: ignore[arg-type]


@review_app.command("request")
def review_request(
    case_id: str = typer.Argument(..., help="The case id, or its pseudonymised ref (c_…)."),
    reason: str = typer.Option(..., "--reason", help="What the citizen disagrees with."),
    step: str | None = typer.Option(None, "--step", help="The step to review (default: the "
                                    "case's latest automated decision, else its latest step)."),
    via: str = typer.Option("letter", "--via", help="letter, email, digital_post, phone, "
                            "in_person or self_service."),
    by: str = typer.Option("system:cli", "--by", help="Who registers it (user id)."),
) -> None:
    """Register a citizen's request: a review task for a person who took no part in the case."""
    from casework.rights.explain import CaseNotFound
    from casework.rights.review import ReviewError, request_review

    try:
        task = request_review(case_id, step=step, requested_via=via, reason=reason,
                              registered_by=by)
    except (CaseNotFound, ReviewError) as exc:
        _fail(str(exc), 1)
    who = task.claimed_by or "nobody eligible: left unassigned in the team queue"
    typer.echo(f"review task {task.id} for step {task.step} ({task.department}): {who}")


@hearing_app.command("reply")
def hearing_reply(
    case_id: str = typer.Argument(..., help="The case id, or its pseudonymised ref (c_…)."),
    by: str = typer.Option(..., "--by", help="Who registers the reply (user id)."),
    note: str | None = typer.Option(None, "--note", help="What the party said, briefly."),
    step: str | None = typer.Option(None, "--step", help="The decision step the hearing "
                                    "precedes (only when the case awaits several replies)."),
) -> None:
    """Register the party's reply to a hearing letter; the waiting decision may go on."""
    from casework.rights.hearing import HearingError, register_reply

    try:
        reply = register_reply(case_id, by=by, note=note, decision_step=step)
    except HearingError as exc:
        _fail(str(exc), 1)
    late = " (after the deadline; recorded all the same)" if reply.after_deadline else ""
    typer.echo(f"reply registered for {reply.flow}/{reply.decision_step} in case "
               f"{reply.case_ref}{late}")


@retention_app.command("apply")
def retention_apply(
    dry_run: bool = typer.Option(False, "--dry-run", help="Count only; change nothing."),
    prefect: bool = typer.Option(True, "--prefect/--no-prefect",
                                 help="Also erase what Prefect keeps: run inputs of finished "
                                      "runs and persisted results on this machine."),
) -> None:
    """Blank the personal data of sign-off tasks decided more than CASEWORK_RETENTION_DAYS ago
    (default 183), and erase Prefect's run inputs and persisted results older than that. The
    audit log and the pseudonymised ledger are kept."""
    from casework.rights.retention import RetentionError, apply_retention

    try:
        report = apply_retention(dry_run=dry_run)
    except RetentionError as exc:
        _fail(str(exc), 2)
    verb = "would erase" if report.dry_run else "erased"
    typer.echo(f"retention {report.retention_days} days (decided before "
               f"{report.cutoff:%Y-%m-%d}): {verb} {report.tasks_erased} tasks, "
               f"{report.task_views_deleted} review-time rows, {report.outbox_rows_erased} "
               f"outbox rows, {report.items_erased} work items' letters and step results, "
               f"{report.sessions_deleted} old inbox login sessions")
    if prefect:
        from casework.rights.retention_prefect import apply_prefect_retention

        side = apply_prefect_retention(days=report.retention_days, dry_run=report.dry_run)
        typer.echo(f"prefect: {verb} {side.result_files_erased} persisted result file(s) in "
                   f"{side.results_dir}")
        if side.reachable:
            typer.echo(f"prefect: {verb} {side.run_inputs_erased} run input(s) of "
                       f"{side.flow_runs_checked} flow run(s) that ended before "
                       f"{side.cutoff:%Y-%m-%d}")
        else:
            typer.echo(f"prefect: {side.message}", err=True)


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)
    app.add_typer(review_app, name="review")
    app.add_typer(hearing_app, name="hearing")
    app.add_typer(retention_app, name="retention")
