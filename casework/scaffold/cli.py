"""``casework new robot NAME``: start a robot as docs/tutorial.md does."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

new_app = typer.Typer(no_args_is_help=True, help="Start something new from a template.")


@new_app.command("robot")
def new_robot(
    name: str = typer.Argument(..., help="The flow's name, e.g. address_change."),
    folder: Annotated[Path, typer.Option("--dir", help="The project folder to write into.")
                      ] = Path("."),
) -> None:
    """Write a robot's flow module, policy, scenarios and test (they pass as written)."""
    from casework.scaffold import ScaffoldError, deployment_snippet
    from casework.scaffold import new_robot as write

    try:
        written = write(name, folder)
    except ScaffoldError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for item in written:
        typer.echo(f"{'wrote' if item.created else 'kept '} {item.path}")
    if any(w.path.name == "prefect.yaml" and not w.created for w in written):
        typer.echo("add this deployment to prefect.yaml:\n" + deployment_snippet(name))
    typer.echo("next: casework policy check --flows robots && casework policy test && "
               f"python -m pytest tests/test_{name}.py")


def register(app: typer.Typer) -> None:
    app.add_typer(new_app, name="new")
