"""``casework connectors ...``: commands about the connectors to outside systems."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

connectors_app = typer.Typer(help="Connectors to the municipality's systems.",
                             no_args_is_help=True)


@connectors_app.callback()
def _group() -> None:
    """Connectors to the municipality's systems (a group, even with one command)."""


@connectors_app.command("check-swagger")
def check_swagger(
        file: Annotated[Path, typer.Argument(help="Swagger/OpenAPI file (JSON or YAML).")],
        system: Annotated[str, typer.Option(help="Which client's paths to check.")] = "sbsys",
) -> None:
    """Check that the case system's Swagger file offers every path the client calls."""
    from connectors.swagger_check import SwaggerFileError, check_paths

    if system != "sbsys":
        typer.echo(f"unknown system {system!r}; known: sbsys", err=True)
        raise typer.Exit(2)
    from connectors.sbsys import PATHS

    try:
        missing = check_paths(file, PATHS)
    except SwaggerFileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if missing:
        typer.echo(f"{file}: {len(missing)} of {len(PATHS)} call(s) not offered:")
        for line in missing:
            typer.echo(f"  {line}")
        raise typer.Exit(1)
    typer.echo(f"{file}: all {len(PATHS)} calls of the SBSYS client are offered")


def register(app: typer.Typer) -> None:
    app.add_typer(connectors_app, name="connectors")
