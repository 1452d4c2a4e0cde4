"""The inbox's JSON API for scripts, mounted at ``/api`` (OpenAPI: ``/api/openapi.json``,
readable at ``/api/docs``).

Only ``Authorization: Bearer <service token>`` authenticates: cookies are never read, so the
browser session (and a page another site makes it load) can reach nothing here, and no CSRF
token is needed. Every operation goes through ``casework.inbox.api.service``, i.e. the web
form's checks.
"""

from __future__ import annotations

import html
import logging
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from casework.db.session import transaction
from casework.inbox import decisions
from casework.inbox.api import service
from casework.inbox.api.schemas import (
    DecideRequest,
    DecideResponse,
    Me,
    Problem,
    ReleaseRequest,
    TaskDetail,
    TaskPage,
)
from casework.inbox.api.tokens import user_for_token
from casework.inbox.identity import User
from casework.inbox.settings import InboxSettings

log = logging.getLogger(__name__)
MAX_PAGE = 100_000
_bearer = HTTPBearer(auto_error=False, description="A service token from "
                     "`casework inbox token create`.")


class Unauthorised(Exception):  # noqa: N818 - answered as 401
    pass


def caller(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
           request: Request) -> User:
    """The token's user within its scope; the Authorization header only, never a cookie."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorised
    with transaction(request.app.state.engine) as s:
        found = user_for_token(s, credentials.credentials)
        if found is None:
            raise Unauthorised
        user, token = found
        request.state.token_name = token.name
    return user


Caller = Annotated[User, Depends(caller)]


def create_api(engine: Engine, settings: InboxSettings) -> FastAPI:
    api = FastAPI(title="Casework inbox API", version="1", docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json",
                  description="Sign-off tasks for scripts: list, read, claim, release, decide. "
                              "The same scope, value checks, four-eyes rule and audit as the "
                              "inbox's web form.")
    errors: dict[int | str, dict[str, Any]] = {
        status: {"model": Problem} for status in (400, 401, 403, 404, 409)}

    api.state.engine = engine

    @api.exception_handler(Unauthorised)
    async def _unauthorised(_request: Request, _exc: Unauthorised) -> Response:
        return JSONResponse({"error": "unauthorised", "values": {}}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})

    @api.exception_handler(decisions.NotFound)
    async def _not_found(_request: Request, _exc: decisions.NotFound) -> Response:
        return JSONResponse({"error": "not_found", "values": {}}, status_code=404)

    @api.exception_handler(decisions.Refused)
    async def _refused(_request: Request, exc: decisions.Refused) -> Response:
        return JSONResponse({"error": exc.key, "values": exc.values},
                            status_code=service.refusal_status(exc.key))

    @api.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "-"
        return JSONResponse({"error": "bad_request", "values": {"field": field}},
                            status_code=400)

    @api.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        key = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
        return JSONResponse({"error": key, "values": {}}, status_code=exc.status_code)

    async def _body(request: Request, model: type[Any]) -> Any:
        if not request.headers.get("content-type", "").startswith("application/json"):
            raise decisions.Refused("bad_request", field="content-type")
        data = service.parse_body(await request.body())
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            raise decisions.Refused("bad_request", field=".".join(
                str(p) for p in first["loc"]) or "-") from None

    @api.get("/me", response_model=Me, responses=errors)
    def me(user: Caller, request: Request) -> Me:
        """Who the token acts as, within its scope."""
        return Me(id=user.id, display_name=user.display_name,
                  departments=sorted(user.departments), roles=sorted(user.roles),
                  token=request.state.token_name)

    @api.get("/tasks", response_model=TaskPage, responses=errors)
    def tasks(user: Caller, department: str | None = Query(None, max_length=100),
              flow: str | None = Query(None, max_length=100),
              due: str = Query("all", pattern="^(all|overdue|today|week)$"),
              sort: str = Query("deadline", pattern="^(deadline|created)$"),
              page: int = Query(1, ge=1, le=MAX_PAGE)) -> TaskPage:
        """Open tasks the token's user may decide, as the queue page shows them."""
        return service.list_tasks(engine, user, department=department, flow=flow, due=due,
                                  sort=sort, page=page, page_size=settings.page_size)

    @api.get("/tasks/{task_id}", response_model=TaskDetail, responses=errors)
    def task(user: Caller, task_id: str) -> TaskDetail:
        return service.show_task(engine, user, task_id[:100])

    @api.post("/tasks/{task_id}/decide", response_model=DecideResponse, responses=errors,
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": DecideRequest.model_json_schema()}}}})
    async def decide(user: Caller, task_id: str, request: Request) -> DecideResponse:
        """approved | amended (value, reason) | rejected (reason) | answer (shadow tasks)."""
        body = await _body(request, DecideRequest)
        result = service.decide(engine, user, task_id[:100], body,
                                idle_cap_seconds=settings.idle_cap_seconds)
        log.info("api decision %s on task %s by %s (token %s)", result.decision,
                 result.task_id, user.id, request.state.token_name)
        return result

    @api.post("/tasks/{task_id}/claim", response_model=TaskDetail, responses=errors)
    def claim(user: Caller, task_id: str) -> TaskDetail:
        return service.claim(engine, user, task_id[:100])

    @api.post("/tasks/{task_id}/release", response_model=TaskDetail, responses=errors,
              openapi_extra={"requestBody": {"required": False, "content": {
                  "application/json": {"schema": ReleaseRequest.model_json_schema()}}}})
    async def release(user: Caller, task_id: str, request: Request) -> TaskDetail:
        """Release your claim; team leads may release anyone's or reassign (reassign_to)."""
        raw = await request.body()
        body = await _body(request, ReleaseRequest) if raw.strip() else ReleaseRequest()
        return service.release(engine, user, task_id[:100], body.reassign_to)

    @api.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """The OpenAPI description as a plain page (the inbox's CSP allows no outside
        scripts, so no Swagger UI)."""
        return HTMLResponse(render_docs(api.openapi()))

    return api


def render_docs(spec: dict[str, Any]) -> str:
    """A readable, script-free page of the API's operations."""
    esc = html.escape
    rows = []
    for path, operations in spec.get("paths", {}).items():
        for method, op in operations.items():
            rows.append(f"<h2><code>{esc(method.upper())} /api{esc(path)}</code></h2>"
                        f"<p>{esc(op.get('summary', ''))}</p>"
                        f"<p>{esc(op.get('description', '') or '')}</p>")
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(spec['info']['title'])}</title></head><body>"
            f"<h1>{esc(spec['info']['title'])}</h1><p>{esc(spec['info'].get('description', ''))}"
            "</p><p>Authenticate with <code>Authorization: Bearer &lt;token&gt;</code> "
            "(<code>casework inbox token create</code>). Machine-readable: "
            "<a href=\"/api/openapi.json\">/api/openapi.json</a>.</p>"
            + "".join(rows) + "</body></html>")
