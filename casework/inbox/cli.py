"""``casework inbox ...`` commands. Mounted by ``casework.cli`` through ``register(app)``."""

from __future__ import annotations

import os
from typing import Annotated

import typer

inbox_app = typer.Typer(no_args_is_help=True, help="The caseworkers' sign-off inbox (web app).")


@inbox_app.command("serve")
def serve(host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
          port: int = typer.Option(8000, help="Port to listen on.")) -> None:
    """Run the inbox web app (migrates the database first)."""
    import uvicorn

    from casework.db import migrate
    from casework.inbox.app import create_app
    from casework.inbox.settings import InboxConfigError, InboxSettings

    settings = InboxSettings()
    try:
        settings.check_login()
    except InboxConfigError as exc:
        typer.echo(f"Configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
    migrate.ensure_schema()
    if "CASEWORK_INBOX_SECRET_KEY" not in os.environ:
        typer.echo("WARNING: CASEWORK_INBOX_SECRET_KEY is not set; a random key is used, so "
                   "sessions end when the server restarts.", err=True)
    if settings.dev_login:
        typer.echo("WARNING: development login is ON (CASEWORK_INBOX_DEV_LOGIN=true); "
                   "never use this in production.", err=True)
    from casework.inbox.logging_setup import log_config

    # No "server: uvicorn" header; the project's loggers (login failures, unhandled errors) go
    # to stderr with time and level, beside uvicorn's own.
    uvicorn.run(create_app(settings), host=host, port=port, proxy_headers=True,
                server_header=False, log_config=log_config())


@inbox_app.command("seed-demo-users")
def seed_demo_users() -> None:
    """Create the demo users and their departments and roles (for the dev login)."""
    from casework.db import migrate
    from casework.inbox.seed import seed_demo_users as seed

    migrate.ensure_schema()
    typer.echo(f"{seed()} demo users ready")


@inbox_app.command("user-set")
def user_set(
    user_id: str = typer.Argument(..., help="The identity provider's subject (OIDC 'sub')."),
    name: str = typer.Option(..., "--name", help="Display name."),
    department: Annotated[list[str] | None, typer.Option(
        "--department", help="Repeat for several.")] = None,
    role: Annotated[list[str] | None, typer.Option(
        "--role", help="caseworker, team_lead, manager or automation_admin; repeat for "
        "several.")] = None,
    language: str | None = typer.Option(None, help="da or en (default: the browser's)."),
) -> None:
    """Give a person access to the inbox, or replace their departments and roles."""
    from pydantic import ValidationError

    from casework.db import migrate
    from casework.inbox.provisioning import UserAccess, set_user

    try:
        access = UserAccess(id=user_id, display_name=name, departments=department or [],
                            roles=role or [], language=language)
    except ValidationError as exc:
        for error in exc.errors(include_input=False, include_url=False):
            field = ".".join(str(p) for p in error["loc"])
            typer.echo(f"{field}: {error['msg']}", err=True)
        raise typer.Exit(2) from None
    migrate.ensure_schema()
    created = set_user(access)
    typer.echo(f"{'created' if created else 'updated'} {access.id}: roles "
               f"{', '.join(access.roles)}; departments {', '.join(access.departments) or '-'}")


@inbox_app.command("user-deactivate")
def user_deactivate(user_id: str = typer.Argument(..., help="The user's id (OIDC 'sub').")
                    ) -> None:
    """Take a person's access away (they can no longer log in)."""
    from casework.db import migrate
    from casework.inbox.provisioning import deactivate_user

    migrate.ensure_schema()
    if not deactivate_user(user_id):
        typer.echo(f"no inbox user {user_id!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"deactivated {user_id}")


@inbox_app.command("logout-everywhere")
def logout_everywhere(user_id: str = typer.Argument(..., help="The user's id (OIDC 'sub').")
                      ) -> None:
    """End every inbox session of a person at once (a lost laptop, a suspected stolen
    session). They can log in again; use user-deactivate to take access away."""
    from casework.db import migrate
    from casework.db.session import transaction
    from casework.inbox.sessions import revoke_user

    migrate.ensure_schema()
    with transaction() as s:
        count = revoke_user(s, user_id, "logout_everywhere")
    typer.echo(f"ended {count} session(s) of {user_id}")


@inbox_app.command("notify-subscribe")
def notify_subscribe(
    user_id: str | None = typer.Option(None, "--user", help="A person: the tasks she may see."),
    department: str | None = typer.Option(None, "--department",
                                          help="A team: its department's tasks."),
    email: str | None = typer.Option(None, help="Send the digest to this address."),
    webhook: str | None = typer.Option(None, help="POST it to this (Teams) webhook URL."),
    language: str | None = typer.Option(None, help="da, nb or en (a person: her own)."),
    arrival: bool = typer.Option(True, help="Tell about tasks that arrive."),
    overdue: bool = typer.Option(True, help="Tell about tasks that go overdue."),
    every_minutes: int = typer.Option(60, min=1, help="At most one digest this often."),
) -> None:
    """Tell a person or a team about new and overdue tasks by e-mail digest and/or webhook."""
    from casework.db import migrate
    from casework.inbox.notify import subscribe

    migrate.ensure_schema()
    try:
        sub = subscribe(None, user_id=user_id, department=department, email=email,
                        webhook_url=webhook, language=language, on_arrival=arrival,
                        on_overdue=overdue, every_minutes=every_minutes)
    except ValueError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"subscription {sub} saved for {user_id or department}")


@inbox_app.command("notify")
def notify(force: bool = typer.Option(False, help="Ignore each subscription's every-minutes "
                                      "(tasks already told about are still never repeated).")
           ) -> None:
    """Send the digests that are due now (the sign-off service does this by itself)."""
    from casework.db import migrate
    from casework.inbox.notify import notify_due

    migrate.ensure_schema()
    report = notify_due(force=force)
    typer.echo(f"digests sent {report.sent} ({report.tasks} tasks), failed {report.failed}")
    for error in report.errors:
        typer.echo(f"  {error}", err=True)
    if report.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    from casework.inbox.api.cli import register as register_api

    register_api(app, inbox_app)  # casework tasks, casework inbox token|users
    app.add_typer(inbox_app, name="inbox")
