"""The ``casework`` command: one Typer app, each part registering its own commands."""

from __future__ import annotations

import sys

import typer

from casework.settings import get_settings


def _hide_flag_types() -> None:
    """Typer 0.29 labels every on/off flag (``--help``, ``--watch``) ``<bool>`` in help
    screens, which reads as if it took a value; flags show no type."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich
    if getattr(shown, "_casework", False):
        return

    def display_type_rich(self: TyperOption, ctx: typer.Context) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    display_type_rich._casework = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_hide_flag_types()

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Casework robots: policies, ledger, reports and text suggestions.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema (Alembic migrations).")
audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit log.")
ledger_app = typer.Typer(no_args_is_help=True, help="The time-savings ledger.")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
signoff_app = typer.Typer(no_args_is_help=True, help="Sign-off decisions on their way to flows.")
app.add_typer(ledger_app, name="ledger")
app.add_typer(signoff_app, name="signoff")


@signoff_app.command("deliver")
def signoff_deliver(
    watch: bool = typer.Option(False, help="Keep delivering every --interval seconds."),
    interval: float = typer.Option(2.0, min=0.2),
) -> None:
    """Resume paused flow runs with the decisions caseworkers made (the decision outbox)."""
    from casework.signoff.outbox import deliver_pending, run_forever

    if watch:
        import logging

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                            datefmt="%Y-%m-%dT%H:%M:%S")
        logging.getLogger("casework.signoff.outbox").setLevel(logging.INFO)
        typer.echo(f"sign-off service started: delivering decisions every {interval:g} s "
                   "(Ctrl-C stops)", err=True)
        from casework.inbox.notify import maybe_notify

        # Notifications of new and overdue tasks ride on the same loop (they throttle
        # themselves: CASEWORK_NOTIFY_CHECK_SECONDS, and each subscription's every_minutes).
        run_forever(interval, periodic=[maybe_notify])
    report = deliver_pending(limit=10_000)
    typer.echo(f"delivered {report.delivered}, still pending {report.pending}, "
               f"no flow waiting {report.not_waiting}, failed {report.failed}")
    if report.failed:
        raise typer.Exit(1)


@signoff_app.command("escalate")
def signoff_escalate() -> None:
    """Escalate overdue sign-off tasks as their policy says (remind, reassign or manual)."""
    from casework.signoff.escalation import escalate_overdue

    report = escalate_overdue(limit=100_000)
    typer.echo(f"reminded {report.reminded}, reassigned to the team {report.reassigned}, "
               f"handed back as manual {report.manual}")


flow_app = typer.Typer(no_args_is_help=True, help="Stop or restart a flow's autonomy.")
app.add_typer(flow_app, name="flow")


@flow_app.command("stop")
def flow_stop(
    flow: str = typer.Argument(..., help="The flow's name, as in its policy file."),
    reason: str = typer.Option(..., "--reason", help="Why; shown to caseworkers and audited."),
    actor: str = typer.Option(..., "--by", help="Who stops it (user id of an automation admin)."),
) -> None:
    """Send every step of FLOW to sign-off, from its next step on, until restarted."""
    from casework.oversight.stop_switch import set_stopped

    set_stopped(flow, stopped=True, actor=actor, reason=reason)
    typer.echo(f"{flow}: stopped; every step now needs sign-off")


@flow_app.command("restart")
def flow_restart(
    flow: str = typer.Argument(...),
    actor: str = typer.Option(..., "--by", help="Who restarts it."),
    reason: str = typer.Option("", "--reason"),
) -> None:
    """Let FLOW's policy decide again."""
    from casework.oversight.stop_switch import set_stopped

    set_stopped(flow, stopped=False, actor=actor, reason=reason)
    typer.echo(f"{flow}: running under its policy again")


@flow_app.command("status")
def flow_status() -> None:
    """Which flows are stopped."""
    from casework.oversight.stop_switch import all_switches

    switches = all_switches()
    if not switches:
        typer.echo("no flow has been stopped")
    for state in sorted(switches.values(), key=lambda s: s.flow):
        when = state.changed_at.isoformat(timespec="seconds") if state.changed_at else "?"
        word = "STOPPED" if state.stopped else "running"
        typer.echo(f"{state.flow:<24} {word:<8} {when} by {state.changed_by}  {state.reason or ''}")


@app.command("doctor")
def doctor(
    pool: str = typer.Option("casework", help="The Prefect work pool the deployments use."),
    flows: str = typer.Option("flows", help="Folder of flow code to check policies against."),
) -> None:
    """Check the set-up: settings, database, policies, Prefect, browser, inbox login, keys."""
    from pathlib import Path

    from casework.ops.doctor import run_checks

    checks = run_checks(pool=pool, flows_dir=Path(flows))
    for check in checks:
        typer.echo(check.line())
    failed = sum(check.status == "FAIL" for check in checks)
    warned = sum(check.status == "warn" for check in checks)
    typer.echo(f"{len(checks)} checks: {failed} failed, {warned} warnings")
    if failed:
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to the newest version (SQLite or PostgreSQL)."""
    from casework.db import migrate

    migrate.upgrade()
    typer.echo(f"database at revision {migrate.current_revision()}: "
               f"{_safe_url(get_settings().effective_database_url)}")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the database and whether it is up to date."""
    from casework.db import migrate

    current, head = migrate.current_revision(), migrate.head_revision()
    typer.echo(f"current {current or 'none'}, newest {head}")
    if current != head:
        raise typer.Exit(1)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain: any edited, deleted or reordered event is reported."""
    from casework.audit import verify_chain
    from casework.db.session import reading

    with reading() as session:
        report = verify_chain(session)
    if report.ok:
        typer.echo(f"audit log intact: {report.events} events")
        return
    typer.echo(f"audit log BROKEN at event {report.first_bad_seq}: {report.problem}", err=True)
    raise typer.Exit(1)


@ledger_app.command("summary")
def ledger_summary() -> None:
    """Savings per flow and step over the whole ledger."""
    from casework import ledger
    from casework.db.session import reading

    with reading() as session:
        rows = ledger.step_savings(session)
        hours = ledger.total_saved_hours(session)
    fw = max([len("flow"), *(len(r.flow) for r in rows)])  # long names widen their column
    sw = max([len("step"), *(len(r.step) for r in rows)])
    typer.echo(f"{'flow':<{fw}} {'step':<{sw}} {'runs':>6} {'auto':>6} {'sign-off':>8} "
               f"{'manual':>6} {'failed':>6} {'review min':>10} {'saved h':>8}")
    for r in rows:
        typer.echo(f"{r.flow:<{fw}} {r.step:<{sw}} {r.runs:>6} {r.autonomous:>6} "
                   f"{r.signoff:>8} {r.manual:>6} {r.failed:>6} {r.human_seconds / 60:>10.1f} "
                   f"{r.saved_minutes / 60:>8.2f}")
    review = sum(r.human_seconds for r in rows) / 60
    typer.echo(f"hours saved in total: {hours:.2f} (caseworkers' measured review time: "
               f"{review:.1f} minutes, already subtracted)")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _register_parts() -> None:
    """Parts add their commands here; a part that is missing leaves the rest usable."""
    from casework.policy.cli import register as register_policy

    register_policy(app)
    from casework.rights.cli import register as register_rights

    register_rights(app)
    from casework.items.cli import register as register_items

    register_items(app)
    from casework.scaffold.cli import register as register_new

    register_new(app)
    for module in ("casework.suggest.cli", "casework.report.cli", "casework.inbox.cli",
                   "connectors.cli", "standins.cli"):
        try:
            part = __import__(module, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                continue
            raise
        part.register(app)


_register_parts()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)
    except RuntimeError as exc:  # Prefect could not start its temporary server
        if "Prefect API server" not in str(exc):
            raise
        from casework.ops.prefect_env import prefect_problem

        why = prefect_problem() or str(exc)
        sys.stderr.write(f"error: {why}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
