"""Scripted network faults for the stand-ins, so connector tests meet real failures on the wire.

A test posts a script to ``POST /_faults``; each entry matches requests by method and path glob
and fires ``times`` times:

    [{"path": "/cases/*", "status": 503, "times": 2},   # answer 503 twice, then behave
     {"path": "/cases/*/notes", "delay": 2.0},          # answer late (client timeout)
     {"method": "POST", "drop": true, "when": "after"}, # do the work, then cut the line
     {"path": "/cases/*", "omit_fields": ["status"]},   # a payload missing a field
     {"path": "/cases/*", "body": "<html>oops"}]        # a payload that is not JSON

``drop`` really closes the TCP connection mid-answer (the response is started, then the ASGI
server aborts the transport), so the client sees the same error as with a crashed server.
``when: "after"`` lets the application do its work first, as when an answer is lost on the way
back; ``before`` (default) leaves the system untouched.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import logging
import threading
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel, ConfigDict, Field, model_validator

Scope = dict[str, Any]
Message = dict[str, Any]


class Fault(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = "*"
    method: str | None = None
    times: int = Field(default=1, ge=1)
    when: Literal["before", "after"] = "before"
    delay: float | None = Field(default=None, gt=0, le=60)
    status: int | None = Field(default=None, ge=400, le=599)
    retry_after: float | None = Field(default=None, ge=0)
    drop: bool = False
    body: str | None = None
    omit_fields: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_effect(self) -> Fault:
        effects = [self.delay is not None, self.status is not None, self.drop,
                   self.body is not None, bool(self.omit_fields)]
        if not any(effects):
            raise ValueError("a fault needs one of: delay, status, drop, body, omit_fields")
        return self

    def matches(self, method: str, path: str) -> bool:
        return ((self.method is None or self.method.upper() == method)
                and fnmatch.fnmatchcase(path, self.path))


class InjectedDrop(Exception):
    """Raised after the response has started: the ASGI server then closes the connection."""


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if isinstance(exc, InjectedDrop):
                return False
            exc = exc.__cause__ or exc.__context__
        return True


_quiet = _QuietDrops()


class FaultInjector:
    """The current script; thread-safe because uvicorn and test code touch it concurrently."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.fired = 0

    def load(self, faults: list[Fault]) -> None:
        with self._lock:
            self._faults = [fault.model_copy() for fault in faults]

    def pending(self) -> list[Fault]:
        with self._lock:
            return [fault.model_copy() for fault in self._faults]

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times == 0:
                        del self._faults[index]
                    self.fired += 1
                    return fault.model_copy()
        return None


class FaultMiddleware:
    """Pure ASGI middleware applying the injector's script; ``exempt`` paths are never hit."""

    def __init__(self, app: Any, injector: FaultInjector,
                 exempt: tuple[str, ...] = ("/_faults", "/admin", "/health")) -> None:
        self.app = app
        self.injector = injector
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        fault = self.injector.take(scope["method"], scope["path"])
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.delay is not None and fault.when == "before":
            # The server has the whole request before it dawdles, so a client that gives up
            # waiting does not cancel the work: the late answer is lost, the work is done.
            receive = await _buffered(receive)
            await asyncio.sleep(fault.delay)
        needs_app = fault.when == "after" or bool(fault.omit_fields) or not any(
            (fault.status is not None, fault.drop, fault.body is not None))
        status, headers, body = 200, [], b""
        if needs_app:
            status, headers, body = await _run_captured(self.app, scope, receive)
        if fault.delay is not None and fault.when == "after":
            await asyncio.sleep(fault.delay)
        if fault.drop:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", b"1000")]})
            await send({"type": "http.response.body", "body": b'{"partial": ', "more_body": True})
            raise InjectedDrop("connection dropped by fault script")
        if fault.status is not None and fault.body is None:
            extra = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None \
                else {}
            await _send_json(send, fault.status, {"detail": "injected fault"}, extra)
            return
        if fault.body is not None:
            await _send_raw(send, fault.status or 200, fault.body.encode(), "application/json")
            return
        if fault.omit_fields:
            body = _omit(body, fault.omit_fields)
            headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _buffered(receive: Any) -> Any:
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    replay = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

    async def replayed() -> Message:
        return replay.pop() if replay else {"type": "http.disconnect"}

    return replayed


async def _run_captured(app: Any, scope: Scope, receive: Any) -> tuple[int, list, bytes]:
    captured: dict[str, Any] = {"status": 500, "headers": [], "body": b""}

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            captured["status"] = message["status"]
            captured["headers"] = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            captured["body"] += message.get("body", b"")

    await app(scope, receive, capture)
    return captured["status"], captured["headers"], captured["body"]


def _omit(body: bytes, fields: list[str]) -> bytes:
    data = json.loads(body)
    items = data if isinstance(data, list) else [data]
    for item in items:
        if isinstance(item, dict):
            for name in fields:
                item.pop(name, None)
    return json.dumps(data).encode()


async def _send_json(send: Any, status: int, payload: Any, headers: dict[str, str]) -> None:
    await _send_raw(send, status, json.dumps(payload).encode(), "application/json", headers)


async def _send_raw(send: Any, status: int, body: bytes, content_type: str,
                    headers: dict[str, str] | None = None) -> None:
    raw = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def install_faults(app: FastAPI, auth: Any) -> FaultInjector:
    """Add the middleware and ``GET/POST/DELETE /_faults`` (behind ``auth``) to ``app``."""
    injector = FaultInjector()
    app.add_middleware(FaultMiddleware, injector=injector)
    logging.getLogger("uvicorn.error").addFilter(_quiet)
    router = APIRouter(prefix="/_faults", dependencies=[Depends(auth)], tags=["test faults"])

    @router.get("")
    def list_faults() -> list[Fault]:
        return injector.pending()

    @router.post("", status_code=204)
    def load_faults(faults: list[Fault]) -> None:
        injector.load(faults)

    @router.delete("", status_code=204)
    def clear_faults() -> None:
        injector.load([])

    app.include_router(router)
    return injector
