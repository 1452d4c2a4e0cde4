"""``casework tasks ...`` (sign-off tasks from the shell, over the API's code path) and
``casework inbox token|users``."""

from __future__ import annotations

from typing import Annotated

import typer

tasks_app = typer.Typer(no_args_is_help=True,
                        help="Sign-off tasks: list, show and decide them as an inbox user.")
token_app = typer.Typer(no_args_is_help=True,
                        help="Service tokens for scripts using the inbox's JSON API.")

AS_HELP = "Act as this inbox user (their departments and roles; audited as them)."
TOKEN_HELP = "Or: act as a service token's user, within the token's scope."
AsUser = Annotated[str | None, typer.Option("--as", help=AS_HELP)]
Token = Annotated[str | None, typer.Option("--token", envvar="CASEWORK_INBOX_TOKEN",
                                           help=TOKEN_HELP, show_envvar=True)]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _who(as_user: str | None, token: str | None):  # type: ignore[no-untyped-def]
    from casework.db import migrate
    from casework.db.session import get_engine, transaction
    from casework.inbox.api.tokens import user_for_token
    from casework.inbox.identity import load_user

    if bool(as_user) == bool(token):
        raise _fail("say who decides: --as USER or --token (CASEWORK_INBOX_TOKEN)", 2)
    migrate.ensure_schema()
    engine = get_engine()
    with transaction(engine) as s:
        if token:
            found = user_for_token(s, token)
            if found is None:
                raise _fail("the token is unknown or revoked")
            return engine, found[0]
        user = load_user(s, as_user or "")
    if user is None:
        raise _fail(f"no active inbox user {as_user!r} (casework inbox users lists them)")
    return engine, user


def _refused(exc: Exception) -> typer.Exit:
    from casework.inbox import decisions

    if isinstance(exc, decisions.NotFound):
        return _fail(f"no task {exc} that you may see")
    assert isinstance(exc, decisions.Refused)
    details = ", ".join(f"{k}={v}" for k, v in exc.values.items())
    return _fail(f"refused: {exc.key}" + (f" ({details})" if details else ""))


@tasks_app.command("list")
def tasks_list(as_user: AsUser = None, token: Token = None,
               flow: str | None = typer.Option(None, help="Only this flow's tasks."),
               department: str | None = typer.Option(None, help="Only this department's."),
               page: int = typer.Option(1, min=1),
               ids: bool = typer.Option(False, "--ids", help="Print task ids only.")) -> None:
    """Open tasks the user may decide, soonest deadline first."""
    from casework.inbox.api import service

    engine, user = _who(as_user, token)
    result = service.list_tasks(engine, user, flow=flow, department=department, page=page)
    for task in result.tasks:
        if ids:
            typer.echo(task.id)
            continue
        deadline = task.deadline.isoformat(timespec="minutes") if task.deadline else "-"
        typer.echo(f"{task.id}  {task.flow}/{task.step}  v{task.version}  due {deadline}  "
                   f"{task.summary or ''}")
    if not ids:
        typer.echo(f"{result.total} open task{'' if result.total == 1 else 's'} "
                   f"(page {result.page} of {result.pages})")


@tasks_app.command("show")
def tasks_show(task_id: str = typer.Argument(...), as_user: AsUser = None,
               token: Token = None) -> None:
    """One task as JSON: the suggestion, why it needs sign-off, its version."""
    from casework.inbox import decisions
    from casework.inbox.api import service

    engine, user = _who(as_user, token)
    try:
        task = service.show_task(engine, user, task_id)
    except decisions.NotFound as exc:
        raise _refused(exc) from None
    typer.echo(task.model_dump_json(indent=2))


@tasks_app.command("decide")
def tasks_decide(
    task_id: str = typer.Argument(...),
    decision: str = typer.Argument(..., help="approved, amended, rejected or answer."),
    as_user: AsUser = None, token: Token = None,
    reason: str | None = typer.Option(None, help="Required to amend or reject."),
    value: str | None = typer.Option(None, help="amended/answer: a JSON object of the "
                                     "fields to change, e.g. '{\"address\": \"...\"}'."),
    version: int | None = typer.Option(None, help="The version you looked at (default: the "
                                       "current one)."),
) -> None:
    """Decide a task with the inbox's checks (scope, values, four-eyes) and audit."""
    from pydantic import ValidationError

    from casework.inbox import decisions
    from casework.inbox.api import service
    from casework.inbox.api.schemas import DecideRequest

    engine, user = _who(as_user, token)
    try:
        parsed = service.parse_body(value.encode()) if value is not None else None
        if version is None:
            version = service.show_task(engine, user, task_id).version
        request = DecideRequest(decision=decision, version=version, reason=reason,
                                value=parsed)  # type: ignore[arg-type]
        result = service.decide(engine, user, task_id, request)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        raise _fail(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}", 2) from None
    except (decisions.NotFound, decisions.Refused) as exc:
        raise _refused(exc) from None
    typer.echo(f"{result.task_id}: {result.decision}")


@token_app.command("create")
def token_create(
    user_id: str = typer.Option(..., "--user", help="The inbox user the token acts as."),
    name: str = typer.Option(..., "--name", help="What the token is for (shown in lists)."),
    department: Annotated[list[str] | None, typer.Option(
        "--department", help="Narrow to these of the user's departments; repeat.")] = None,
    role: Annotated[list[str] | None, typer.Option(
        "--role", help="Narrow to these of the user's roles; repeat.")] = None,
    by: str = typer.Option(..., "--by", help="Who creates it (audited)."),
) -> None:
    """Create a token; it is printed once and stored only as a hash."""
    from casework.db import migrate
    from casework.db.session import transaction
    from casework.inbox.api.tokens import TokenError, create_token

    migrate.ensure_schema()
    try:
        with transaction() as s:
            created = create_token(s, user_id=user_id, name=name, by=by,
                                   departments=department, roles=role)
    except TokenError as exc:
        raise _fail(str(exc), 2) from None
    typer.echo(f"token {created.id} for {user_id} (shown once; keep it secret):")
    typer.echo(created.secret)


@token_app.command("list")
def token_list() -> None:
    """Tokens: id, name, user, scope, last use; revoked ones marked."""
    from casework.db import migrate
    from casework.db.session import reading
    from casework.inbox.api.tokens import list_tokens

    migrate.ensure_schema()
    with reading() as s:
        rows = list_tokens(s)
    if not rows:
        typer.echo("no tokens")
    for t in rows:
        used = t.last_used_at.isoformat(timespec="minutes") if t.last_used_at else "never"
        state = "REVOKED" if t.revoked_at else "active"
        typer.echo(f"{t.id}  {state:<7}  {t.name}  user {t.user_id}  departments "
                   f"{','.join(t.departments) or '(the user’s)'}  roles "
                   f"{','.join(t.roles) or '(the user’s)'}  last used {used}")


@token_app.command("revoke")
def token_revoke(token_id: str = typer.Argument(...),
                 by: str = typer.Option(..., "--by", help="Who revokes it (audited).")) -> None:
    """End a token at once."""
    from casework.db import migrate
    from casework.db.session import transaction
    from casework.inbox.api.tokens import TokenError, revoke_token

    migrate.ensure_schema()
    try:
        with transaction() as s:
            revoke_token(s, token_id, by=by)
    except TokenError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"revoked {token_id}")


def users() -> None:
    """Inbox users with their departments and roles."""
    from sqlalchemy import select

    from casework.db import migrate
    from casework.db.models import InboxUser
    from casework.db.session import reading
    from casework.inbox.identity import load_user

    migrate.ensure_schema()
    with reading() as s:
        rows = list(s.scalars(select(InboxUser).order_by(InboxUser.id)))
        loaded = {r.id: load_user(s, r.id) for r in rows}
    if not rows:
        typer.echo("no inbox users (casework inbox user-set, or seed-demo-users)")
    width = max((len(r.id) for r in rows), default=0)
    for row in rows:
        user = loaded[row.id]
        if user is None:
            typer.echo(f"{row.id:<{width}}  (deactivated)  {row.display_name}")
            continue
        typer.echo(f"{row.id:<{width}}  {row.display_name}  roles {','.join(sorted(user.roles))}"
                   f"  departments {','.join(sorted(user.departments)) or '-'}")


def register(app: typer.Typer, inbox_app: typer.Typer) -> None:
    app.add_typer(tasks_app, name="tasks")
    inbox_app.add_typer(token_app, name="token")
    inbox_app.command("users")(users)
