"""``casework inbox ...`` commands. Mounted by ``casework.cli`` through ``register(app)``."""

from __future__ import annotations

import os

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
    uvicorn.run(create_app(settings), host=host, port=port, proxy_headers=True)


@inbox_app.command("seed-demo-users")
def seed_demo_users() -> None:
    """Create the demo users and their departments and roles (for the dev login)."""
    from casework.db import migrate
    from casework.inbox.seed import seed_demo_users as seed

    migrate.ensure_schema()
    typer.echo(f"{seed()} demo users ready")


def register(app: typer.Typer) -> None:
    app.add_typer(inbox_app, name="inbox")
