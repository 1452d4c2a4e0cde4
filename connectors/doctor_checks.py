"""``casework doctor`` lines for the connectors: which system stands behind each interface,
and, for each real system configured, a call that reaches it with the configured credentials
(log in and read something harmless; never a CPR lookup, never a write).

Returns plain dicts (``name``, ``status``, ``detail``, ``hint``) so the core's doctor can show
them without importing connectors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from connectors.http import ConnectorError, RetryPolicy

DOCTOR_RETRY = RetryPolicy(attempts=2, initial_wait=0.2, max_wait=0.5, jitter=0.1,
                           retry_after_cap=2.0)


def _row(name: str, status: str, detail: str, hint: str | None = None) -> dict[str, Any]:
    return {"name": name, "status": status, "detail": detail[:300], "hint": hint}


def _reach(name: str, reach: Callable[[], str], hint: str) -> dict[str, Any]:
    try:
        return _row(name, "ok", reach())
    except ConnectorError as exc:
        return _row(name, "FAIL", str(exc), hint)
    except (ValueError, OSError) as exc:  # a missing setting, an unreadable certificate
        return _row(name, "FAIL", f"{type(exc).__name__}: {exc}", hint)


def connector_checks() -> list[dict[str, Any]]:
    from flows.settings import ConnectorSettings

    try:
        settings = ConnectorSettings(connector_attempts=DOCTOR_RETRY.attempts,
                                     connector_initial_wait=DOCTOR_RETRY.initial_wait)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        variable = "CASEWORK_" + str(first["loc"][0]).upper()
        return [_row("connectors", "FAIL", f"{variable}: {first['msg']}",
                     "fix the environment variable named")]
    rows = [_row("connectors", "ok",
                 f"mail: {settings.mail_source}, case system: {settings.case_system_kind}, "
                 f"persons: {settings.person_registry}, BBR: "
                 f"{'on' if settings.bbr_graphql_url or settings.bbr_rest_url else 'off'}")]

    if settings.mail_source in ("imap", "graph"):
        def mail() -> str:
            source = settings.mail_source_client()
            try:
                return source.check()  # type: ignore[attr-defined]
            finally:
                getattr(source, "close", lambda: None)()

        rows.append(_reach(f"mail ({settings.mail_source})", mail,
                           "check the CASEWORK_IMAP_* or CASEWORK_GRAPH_* settings"))
    if settings.case_system_kind == "sbsys":
        def sbsys() -> str:
            with settings.sbsys() as client:
                return client.check()

        rows.append(_reach("case system (SBSYS)", sbsys,
                           "check the CASEWORK_SBSYS_* settings and template ids"))
    if settings.person_registry == "sf1520":
        def sf1520() -> str:
            with settings.person_registry_client() as client:  # type: ignore[attr-defined]
                return client.check()

        rows.append(_reach("CPR (SF1520)", sf1520,
                           "check CASEWORK_SF1520_URL, the certificate and the UUIDs"))
    bbr = None
    try:
        bbr = settings.building_registry()
    except ValueError as exc:
        rows.append(_row("BBR", "FAIL", str(exc), "set CASEWORK_BBR_API_KEY"))
    if bbr is not None:
        def reach_bbr() -> str:
            with bbr:
                bbr.buildings_at_address("00000000-0000-0000-0000-000000000000")
                return f"reachable ({bbr.last_source})"

        rows.append(_reach("BBR", reach_bbr, "check CASEWORK_BBR_* and the API key"))

        def reach_dar() -> str:  # the address lookup building screening needs beside BBR
            dar = settings.address_registry()
            assert dar is not None
            with dar:
                dar.find("Doctor-check-vej 0")  # a harmless search that finds nothing
                return "reachable"

        rows.append(_reach("DAR (addresses)", reach_dar,
                           "check CASEWORK_DAR_GRAPHQL_URL (or the BBR GraphQL URL) and the key"))
    return rows
