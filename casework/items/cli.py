"""``casework items``: what automation teams need to see and do with the work-item queue.

list and show (no payloads by default: they may hold personal data), retry a failed or handed-
over item, add items from a JSON Lines file, and split a backlog into deployment runs so several
workers share it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

items_app = typer.Typer(no_args_is_help=True, help="The work-item queue of each flow.")


def register(app: typer.Typer) -> None:
    app.add_typer(items_app, name="items")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@items_app.command("list")
def items_list(
    flow: str | None = typer.Option(None, help="Only this flow's items."),
    state: str | None = typer.Option(None, help="new, in_progress, awaiting_signoff, ready, "
                                                "done, failed or manual."),
    limit: int = typer.Option(50, min=1, max=10_000),
) -> None:
    """The newest items, with state, attempts and last error."""
    from casework.items.queue import list_items
    from casework.items.states import ItemState

    if state is not None and state not in {s.value for s in ItemState}:
        raise _fail(f"--state {state!r}: not a state (one of "
                    f"{', '.join(s.value for s in ItemState)})")
    rows = list_items(flow=flow, state=state, limit=limit)
    if not rows:
        typer.echo("no work items")
        return
    typer.echo(f"{'item':<36}  {'flow':<20} {'state':<17} {'tries':>5}  {'case':<26} outcome")
    for r in rows:
        typer.echo(f"{r.id:<36}  {r.flow[:20]:<20} {r.state:<17} {r.attempts:>5}  "
                   f"{(r.case_ref or '-'):<26} {r.outcome or '-'}"
                   + (f"  [{r.last_error[:60]}]" if r.last_error else ""))


@items_app.command("show")
def items_show(item_id: str = typer.Argument(...),
               payload: bool = typer.Option(False, help="Also print the payload (CPR masked).")
               ) -> None:
    """One item: its state, lease, the steps that finished for it."""
    from sqlalchemy import select

    from casework.db.models import ItemStep, WorkItem
    from casework.db.session import reading
    from casework.items.queue import get_item
    from casework.privacy import mask_cpr

    try:
        item = get_item(item_id)
    except LookupError as exc:
        raise _fail(str(exc)) from None
    for name, value in item.model_dump(mode="json").items():
        typer.echo(f"{name:<17} {value if value is not None else '-'}")
    with reading() as session:
        steps = session.scalars(select(ItemStep).where(ItemStep.work_item_id == item_id)
                                .order_by(ItemStep.finished_at)).all()
        raw = session.get(WorkItem, item_id).payload if payload else None  # type: ignore[union-attr]
    typer.echo("steps:" if steps else "steps:           none finished yet")
    for s in steps:
        task = f"  task {s.signoff_task_id}" if s.signoff_task_id else ""
        typer.echo(f"  {s.finished_at:%Y-%m-%d %H:%M:%S}  {s.step}#{s.call}  {s.mode}{task}")
    if payload:
        typer.echo("payload:")
        typer.echo(mask_cpr(json.dumps(raw, ensure_ascii=False, indent=2)) if raw is not None
                   else "  (erased)")


@items_app.command("retry")
def items_retry(item_id: str = typer.Argument(...),
                by: str = typer.Option(..., "--by", help="Who sends it back (audited).")) -> None:
    """Send a failed or handed-over item back to the robot: the next run takes it first."""
    from casework.items.queue import retry

    try:
        state = retry(item_id, by=by)
    except (LookupError, ValueError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"{item_id}: {state.value}")


@items_app.command("add")
def items_add(
    flow: Annotated[str, typer.Option(help="The flow whose queue gets the items.")],
    file: Annotated[Path, typer.Option("--file", help="JSON Lines: one payload per line.")],
    key_field: str = typer.Option(..., help="The payload field that identifies the item at "
                                            "its source: message_id and case_id give the "
                                            "robots' own keys."),
    case_field: str | None = typer.Option(None, help="The payload field holding the case id "
                                                     "(shown pseudonymised)."),
) -> None:
    """Add items from a file; an item whose key is already queued adds nothing."""
    from casework.items.queue import NewItem, add
    from casework.privacy import pseudonymise

    if not file.is_file():
        raise _fail(f"{file}: no such file")
    items = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            payload = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _fail(f"{file}:{number}: not JSON: {exc.msg}") from None
        if not isinstance(payload, dict) or not str(payload.get(key_field) or "").strip():
            raise _fail(f"{file}:{number}: no {key_field!r} field to key the item by")
        case_id = payload.get(case_field) if case_field else None
        items.append(NewItem(key=_key(key_field, str(payload[key_field])), payload=payload,
                             case_ref=pseudonymise(str(case_id)) if case_id else None))
    if not items:
        raise _fail(f"{file}: no items (the file is empty)")
    added = add(flow, items)
    typer.echo(f"{flow}: {len(added.new)} new item(s), {len(added.existing)} already queued")


def _key(field: str, value: str) -> str:
    """The same key the robots build from the same source: a letter added here and collected
    by its robot is one item, not two."""
    from casework.items.keys import case_key, message_key

    if field == "message_id":
        return message_key(value)
    if field == "case_id":
        return case_key(value)
    return f"{field}:{value}"


@items_app.command("backlog")
def items_backlog(
    flow: str = typer.Option(..., help="The flow whose waiting items to share out."),
    deployment: str = typer.Option(..., help="Prefect deployment, as FLOW-NAME/DEPLOYMENT."),
    chunk: int = typer.Option(250, min=1, help="Items per flow run."),
) -> None:
    """Split the flow's new and ready items into flow runs of the deployment, so the workers of
    its work pool share the backlog (each run leases its own items)."""
    from prefect.deployments import run_deployment
    from sqlalchemy import select

    from casework.db.models import WorkItem
    from casework.db.session import reading
    from casework.items.states import ItemState

    with reading() as session:
        ids = list(session.scalars(select(WorkItem.id).where(
            WorkItem.flow == flow,
            WorkItem.state.in_([ItemState.NEW.value, ItemState.READY.value]))
            .order_by(WorkItem.created_at)))
    if not ids:
        typer.echo(f"{flow}: no new or ready items")
        return
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        run = run_deployment(name=deployment, parameters={"item_ids": part}, timeout=0,
                             tags=["casework", "backlog"], _sync=True)  # type: ignore[call-arg]
        typer.echo(f"flow run {run.id}: {len(part)} item(s)")
