"""``casework standins serve``: the stand-ins as servers, for deployments and connector trials.

Each stand-in listens on its own port of one host and prints its URL and credentials as the
environment settings the connectors read, so a worker (or a shell) can point at them.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

standins_app = typer.Typer(no_args_is_help=True,
                           help="Local stand-ins of outside systems (fictitious data).")


@dataclass(frozen=True)
class StandIn:
    name: str
    make: Callable[[str, Path | None], Any]  # (token, state folder) -> ASGI app
    env: Callable[[str, str], dict[str, str]]  # (url, token) -> settings for the connectors


def _case_system(token: str, state: Path | None) -> Any:
    from standins import case_system

    return case_system.create_app(str(state / "case_system.sqlite") if state else None, token)


def _registry(token: str, _state: Path | None) -> Any:
    from standins import registry

    return registry.create_app(token)


def _sbsys(_token: str, _state: Path | None) -> Any:
    from standins import sbsys

    return sbsys.create_app()


def _sf1520(_token: str, _state: Path | None) -> Any:
    from standins import sf1520

    return sf1520.create_app()


def _bbr(_token: str, _state: Path | None) -> Any:
    from standins import bbr

    return bbr.create_app()


def _graph(_token: str, _state: Path | None) -> Any:
    from standins import graph_mail

    return graph_mail.create_app()


def _legacy(_token: str, state: Path | None) -> Any:
    from standins import legacy_web

    return legacy_web.create_app(str(state / "legacy_web.sqlite") if state else None)


def _sbsys_env(url: str, _token: str) -> dict[str, str]:
    from standins import sbsys

    return {"CASEWORK_SBSYS_URL": url, "CASEWORK_SBSYS_TOKEN_URL": f"{url}/token",
            "CASEWORK_SBSYS_CLIENT_ID": sbsys.CLIENT_ID,
            "CASEWORK_SBSYS_CLIENT_SECRET": sbsys.CLIENT_SECRET}


def _graph_env(url: str, _token: str) -> dict[str, str]:
    from standins import graph_mail

    return {"CASEWORK_GRAPH_URL": url, "CASEWORK_GRAPH_AUTHORITY_HOST": url,
            "CASEWORK_GRAPH_CLIENT_SECRET": graph_mail.CLIENT_SECRET}


def _bbr_env(url: str, _token: str) -> dict[str, str]:
    from standins import bbr

    return {"CASEWORK_BBR_GRAPHQL_URL": f"{url}/BBR/v1",
            "CASEWORK_BBR_REST_URL": f"{url}/BBR/BBRPublic/1/rest",
            "CASEWORK_DAR_GRAPHQL_URL": f"{url}/DAR/v1",
            "CASEWORK_BBR_API_KEY": bbr.API_KEY}


STANDINS: dict[str, StandIn] = {s.name: s for s in (
    StandIn("case-system", _case_system, lambda url, token: {
        "CASEWORK_CASE_SYSTEM_URL": url, "CASEWORK_CASE_SYSTEM_TOKEN": token}),
    StandIn("registry", _registry, lambda url, token: {
        "CASEWORK_REGISTRY_URL": url, "CASEWORK_REGISTRY_TOKEN": token}),
    StandIn("sbsys", _sbsys, _sbsys_env),
    StandIn("sf1520", _sf1520, lambda url, _token: {"CASEWORK_SF1520_URL": url}),
    StandIn("bbr", _bbr, _bbr_env),
    StandIn("graph-mail", _graph, _graph_env),
    StandIn("legacy-web", _legacy, lambda url, _token: {"legacy web UI": url}),
)}


def parse_only(only: str | None) -> list[str]:
    """The stand-ins named in ``--only`` (comma-separated), in the given order; all if none."""
    if not only or not only.strip():
        return list(STANDINS)
    names = [n.strip() for n in only.split(",") if n.strip()]
    for name in names:
        if name not in STANDINS:
            import difflib

            close = difflib.get_close_matches(name, STANDINS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise typer.BadParameter(f"no stand-in {name!r}{hint}; known: "
                                     f"{', '.join(STANDINS)}", param_hint="--only")
    return names


@standins_app.command("serve")
def serve(
    only: str | None = typer.Option(None, help="Comma-separated, e.g. case-system,registry "
                                    "(default: all)."),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8101, min=0, max=65535,
                             help="First port; the next stand-ins take the following ones "
                             "(0: any free port)."),
    token: str = typer.Option("standin-token", help="Bearer token the stand-ins accept."),
    state: Annotated[Path | None, typer.Option(
        file_okay=False, help="Folder to keep their data in (default: memory).")] = None,
) -> None:
    """Run stand-ins as servers; print their URLs and the settings for the connectors."""
    from standins.server import LoopbackServer

    names = parse_only(only)
    if state is not None:
        state.mkdir(parents=True, exist_ok=True)
    servers = []
    try:
        for offset, name in enumerate(names):
            spec = STANDINS[name]
            try:
                server = LoopbackServer(spec.make(token, state), host=host,
                                        port=port + offset if port else 0).start()
            except OSError as exc:
                typer.echo(f"error: {name}: cannot listen on {host}:{port + offset}: "
                           f"{exc.strerror}", err=True)
                raise typer.Exit(1) from None
            servers.append(server)
            settings = spec.env(server.url, token)
            typer.echo(f"{name:<12} {server.url}")
            typer.echo("  export " + " ".join(f"{k}={v}" for k, v in settings.items()))
        typer.echo("serving; Ctrl-C stops", err=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    finally:
        for server in servers:
            server.stop()


def register(app: typer.Typer) -> None:
    app.add_typer(standins_app, name="standins")
