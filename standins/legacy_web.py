"""Stand-in for an old web-based case system with no API ("KommuneSag 4.2").

Server-rendered pages with Danish labels: login with a session cookie that expires, a search
page, a case page with a table of fields and the registered case steps, a form to register a
case step with server-side validation, and a confirmation page with a receipt number. Cases live
in SQLite (a file or memory), seeded from ``standins/data/legacy_cases.json`` (fictitious).

Tests steer faults over HTTP, as an unreliable network would show them::

    POST /_faults {"path": "/soeg", "kind": "status", "status": 503, "count": 2}
    POST /_faults {"path": "/sag/*", "kind": "delay", "delay_seconds": 3}
    POST /_faults {"path": "/sag/*/skridt", "method": "POST", "kind": "drop_after"}
    POST /_sessions/expire                     every session is logged out
    GET  /_state/cases/{case_number}           the stored case and its steps as JSON

Kinds: ``status`` (answer with that status), ``delay`` (wait, then answer normally), ``drop``
(close the connection before answering), ``drop_after`` (do the work, then close the connection
without an answer: the ambiguous case).
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import re
import secrets
import sqlite3
import threading
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from standins.legacy_web_pages import page_environment

SEED_FILE = Path(__file__).parent / "data" / "legacy_cases.json"
SESSION_COOKIE = "KSSESSION"
DEFAULT_USERS = {"sagsrobot": "Robot-2024!"}
STEP_TYPES = ("Journalnotat", "Anmodning om oplysninger", "Partshøring", "Afgørelse",
              "Videresendt")
NOTE_MAX = 1000
_CASE_NUMBER = re.compile(r"^\d{4}-\d{6}$")
_CPR_QUERY = re.compile(r"^(\d{6})-?(\d{4})$")
_DK_DATE = re.compile(r"^(\d{2})-(\d{2})-(\d{4})$")


class Fault(BaseModel):
    """One queued fault: the next ``count`` requests matching ``path`` (a glob) misbehave."""

    path: str = Field(min_length=1)
    method: str | None = None
    kind: Literal["status", "delay", "drop", "drop_after"]
    status: int = Field(default=503, ge=400, le=599)
    delay_seconds: float = Field(default=2.0, ge=0, le=60)
    count: int = Field(default=1, ge=1)

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and fnmatch.fnmatchcase(
            path, self.path)


class _Store:
    """SQLite behind one lock: the stand-in serves few requests and must never corrupt state."""

    def __init__(self, db_path: str | None) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(db_path or ":memory:", check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        with self._lock, self._db:
            self._db.executescript(
                """
                CREATE TABLE IF NOT EXISTS cases (
                    case_number TEXT PRIMARY KEY, title TEXT, citizen_name TEXT, cpr TEXT,
                    status TEXT, responsible_unit TEXT, journal_number TEXT, created TEXT,
                    changed TEXT, deadline TEXT);
                CREATE TABLE IF NOT EXISTS steps (
                    receipt_number TEXT PRIMARY KEY, case_number TEXT REFERENCES cases,
                    step_date TEXT, step_type TEXT, note TEXT, registered_by TEXT,
                    registered_at TEXT);
                """
            )
            if self._db.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 0:
                self._seed()

    def _seed(self) -> None:
        seed = json.loads(SEED_FILE.read_text(encoding="utf-8"))
        for case in seed["cases"]:
            self._db.execute(
                "INSERT INTO cases VALUES (:case_number, :title, :citizen_name, :cpr, :status, "
                ":responsible_unit, :journal_number, :created, :changed, :deadline)", case)
            for step in case["steps"]:
                self._db.execute(
                    "INSERT INTO steps VALUES (:receipt_number, :case_number, :step_date, "
                    ":step_type, :note, :registered_by, :registered_at)",
                    {**step, "case_number": case["case_number"],
                     "registered_at": step["step_date"] + "T09:00:00"})

    def case(self, case_number: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM cases WHERE case_number = ?",
                                   (case_number,)).fetchone()
        return dict(row) if row else None

    def steps(self, case_number: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM steps WHERE case_number = ? ORDER BY registered_at, receipt_number",
                (case_number,)).fetchall()
        return [dict(r) for r in rows]

    def receipt(self, receipt_number: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM steps WHERE receipt_number = ?",
                                   (receipt_number,)).fetchone()
        return dict(row) if row else None

    def search(self, case_number: str | None, cpr: str | None) -> list[dict[str, Any]]:
        with self._lock:
            if case_number:
                rows = self._db.execute("SELECT * FROM cases WHERE case_number = ?",
                                        (case_number,)).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT * FROM cases WHERE cpr = ? ORDER BY case_number", (cpr,)).fetchall()
        return [dict(r) for r in rows]

    def add_step(self, case_number: str, step_date: date, step_type: str, note: str,
                 user: str) -> dict[str, Any]:
        with self._lock, self._db:
            seq = self._db.execute("SELECT COUNT(*) FROM steps").fetchone()[0] + 6001
            receipt = f"KV-{date.today().year}-{seq:06d}"
            step = {"receipt_number": receipt, "case_number": case_number,
                    "step_date": step_date.isoformat(), "step_type": step_type, "note": note,
                    "registered_by": user, "registered_at": datetime.now().isoformat()}
            self._db.execute(
                "INSERT INTO steps VALUES (:receipt_number, :case_number, :step_date, "
                ":step_type, :note, :registered_by, :registered_at)", step)
            self._db.execute("UPDATE cases SET changed = ? WHERE case_number = ?",
                             (date.today().isoformat(), case_number))
        return step


class LegacyCaseSystem(FastAPI):
    """FastAPI app whose outermost layer plays the queued network faults."""

    faults: list[Fault]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_"):
            await super().__call__(scope, receive, send)
            return
        fault = self._take_fault(scope["method"], scope["path"])
        if fault is None:
            await super().__call__(scope, receive, send)
        elif fault.kind == "status":
            await Response("<html><body><h1>Service Unavailable</h1><p>Serveren er midlertidigt "
                           "utilgængelig.</p></body></html>", status_code=fault.status,
                           media_type="text/html")(scope, receive, send)
        elif fault.kind == "delay":
            await asyncio.sleep(fault.delay_seconds)
            await super().__call__(scope, receive, send)
        elif fault.kind == "drop":
            await _drop_connection(send)
        else:  # drop_after: the work is done, the answer never arrives

            async def swallow(message: Any) -> None:
                return None

            await super().__call__(scope, receive, swallow)
            await _drop_connection(send)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, path):
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                return fault
        return None


async def _drop_connection(send: Any) -> None:
    """Close the TCP connection without a byte of answer (uvicorn: the cycle owns the socket)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionAbortedError("connection dropped by fault injection")
    transport.abort()
    cycle.disconnected = True
    await asyncio.sleep(0)


def _parse_dk_date(text: str) -> date | None:
    match = _DK_DATE.match(text.strip())
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def create_app(db_path: str | None = None, users: dict[str, str] | None = None, *,
               session_seconds: float = 900) -> FastAPI:
    """The stand-in app. ``db_path=None`` keeps the cases in memory for the app's lifetime."""
    app = LegacyCaseSystem(title="KommuneSag 4.2 (stand-in)", docs_url=None, redoc_url=None,
                           openapi_url=None)
    app.faults = []
    store = _Store(db_path)
    accounts = dict(users or DEFAULT_USERS)
    sessions: dict[str, tuple[str, float]] = {}
    form_keys: set[str] = set()
    pages = page_environment()

    def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(pages.get_template(name).render(**context), status_code=status)

    def current_user(request: Request) -> str | None:
        token = request.cookies.get(SESSION_COOKIE, "")
        entry = sessions.get(token)
        if entry is None or entry[1] < time.monotonic():
            sessions.pop(token, None)
            return None
        sessions[token] = (entry[0], time.monotonic() + session_seconds)
        return entry[0]

    def to_login(request: Request) -> RedirectResponse:
        expired = "1" if request.cookies.get(SESSION_COOKIE) else "0"
        return RedirectResponse(f"/login?udloebet={expired}", status_code=303)

    def not_found(user: str, case_number: str) -> HTMLResponse:
        return render("error", 404, title="Sag ikke fundet", user=user, heading="Sag ikke fundet",
                      message=f"Sagen {case_number} findes ikke, eller du har ikke adgang til den.")

    @app.get("/")
    def root(request: Request) -> Response:
        return RedirectResponse("/soeg" if current_user(request) else "/login", status_code=303)

    @app.get("/login")
    def login_page(udloebet: str = "0") -> HTMLResponse:
        message = "Din session er udløbet. Log venligst ind igen." if udloebet == "1" else None
        return render("login", title="Log ind", message=message)

    @app.post("/login")
    def login(brugernavn: str = Form(""), adgangskode: str = Form("")) -> Response:
        if not brugernavn or accounts.get(brugernavn) != adgangskode:
            return render("login", title="Log ind", username=brugernavn,
                          error="Forkert brugernavn eller adgangskode.")
        token = secrets.token_urlsafe(24)
        sessions[token] = (brugernavn, time.monotonic() + session_seconds)
        response = RedirectResponse("/soeg", status_code=303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax")
        return response

    @app.get("/logout")
    def logout(request: Request) -> Response:
        sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/soeg")
    def search(request: Request, q: str = "") -> Response:
        user = current_user(request)
        if user is None:
            return to_login(request)
        q = q.strip()
        if not q:
            return render("search", title="Søg sag", user=user)
        cpr_match = _CPR_QUERY.match(q)
        if _CASE_NUMBER.match(q):
            results = store.search(q, None)
        elif cpr_match:
            results = store.search(None, f"{cpr_match.group(1)}-{cpr_match.group(2)}")
        else:
            return render("search", title="Søg sag", user=user, q=q,
                          error="Søg på et sagsnummer (åååå-nnnnnn) eller et CPR-nummer.")
        return render("search", title="Søg sag", user=user, q=q, results=results)

    @app.get("/sag/{case_number}")
    def case_page(request: Request, case_number: str) -> Response:
        user = current_user(request)
        if user is None:
            return to_login(request)
        case = store.case(case_number)
        if case is None:
            return not_found(user, case_number)
        return render("case", title=f"Sag {case_number}", user=user, case=case,
                      steps=store.steps(case_number))

    def step_form(user: str, case: dict[str, Any], values: dict[str, str] | None = None,
                  errors: dict[str, str] | None = None) -> HTMLResponse:
        key = secrets.token_urlsafe(12)
        form_keys.add(key)
        return render("step_form", title="Registrér sagsskridt", user=user, case=case,
                      step_types=STEP_TYPES, values=values or {}, errors=errors or {},
                      form_key=key)

    @app.get("/sag/{case_number}/skridt/ny")
    def new_step(request: Request, case_number: str) -> Response:
        user = current_user(request)
        if user is None:
            return to_login(request)
        case = store.case(case_number)
        return not_found(user, case_number) if case is None else step_form(user, case)

    @app.post("/sag/{case_number}/skridt")
    def register_step(request: Request, case_number: str, skridttype: str = Form(""),
                      dato: str = Form(""), notat: str = Form(""),
                      formularnoegle: str = Form("")) -> Response:
        user = current_user(request)
        if user is None:
            return to_login(request)
        case = store.case(case_number)
        if case is None:
            return not_found(user, case_number)
        if formularnoegle not in form_keys:
            return render("error", 400, title="Ugyldig formular", user=user,
                          heading="Ugyldig formular",
                          message="Formularen er udløbet eller allerede indsendt. Åbn sagen igen.")
        values = {"skridttype": skridttype, "dato": dato, "notat": notat}
        errors: dict[str, str] = {}
        if skridttype not in STEP_TYPES:
            errors["skridttype"] = "Vælg en skridttype."
        elif case["status"] == "Afsluttet" and skridttype != "Journalnotat":
            errors["skridttype"] = "Sagen er afsluttet; der kan kun registreres journalnotater."
        step_date = _parse_dk_date(dato)
        if step_date is None:
            errors["dato"] = "Datoen skal skrives som dd-mm-åååå."
        elif step_date < date.fromisoformat(case["created"]):
            errors["dato"] = "Datoen må ikke ligge før sagens oprettelse."
        elif step_date > date.today():
            errors["dato"] = "Datoen må ikke ligge i fremtiden."
        if not notat.strip():
            errors["notat"] = "Notat skal udfyldes."
        elif len(notat) > NOTE_MAX:
            errors["notat"] = f"Notat må højst være {NOTE_MAX} tegn."
        if errors:
            return step_form(user, case, values, errors)
        form_keys.discard(formularnoegle)
        assert step_date is not None
        step = store.add_step(case_number, step_date, skridttype, notat.strip(), user)
        return RedirectResponse(f"/kvittering/{step['receipt_number']}", status_code=303)

    @app.get("/kvittering/{receipt_number}")
    def receipt(request: Request, receipt_number: str) -> Response:
        user = current_user(request)
        if user is None:
            return to_login(request)
        step = store.receipt(receipt_number)
        if step is None:
            return render("error", 404, title="Kvittering ikke fundet", user=user,
                          heading="Kvittering ikke fundet",
                          message=f"Kvitteringen {receipt_number} findes ikke.")
        return render("receipt", title="Kvittering", user=user, step=step)

    # Async, so the queue is only touched on the event loop, like the fault layer itself.
    @app.post("/_faults")
    async def add_fault(fault: Fault) -> dict[str, int]:
        app.faults.append(fault)
        return {"queued": len(app.faults)}

    @app.get("/_faults")
    async def list_faults() -> list[Fault]:
        return list(app.faults)

    @app.delete("/_faults")
    async def clear_faults() -> dict[str, int]:
        app.faults.clear()
        return {"queued": 0}

    @app.post("/_sessions/expire")
    def expire_sessions() -> dict[str, int]:
        count = len(sessions)
        sessions.clear()
        return {"expired": count}

    @app.get("/_state/cases/{case_number}")
    def case_state(case_number: str) -> Response:
        case = store.case(case_number)
        if case is None:
            return JSONResponse({"detail": "case not found"}, status_code=404)
        return JSONResponse({**case, "steps": store.steps(case_number)})

    return app
