"""A loopback fake of the Microsoft identity platform's client-credentials login and of the
Microsoft Graph mail calls robots use: list a folder's messages (paged with
``@odata.nextLink``), raw MIME (``/$value``), attachments, folders, move. It throttles with
429 + ``Retry-After`` and expires tokens (401) on request, as the real service does.

Serve it over HTTPS (``standins.tls``): MSAL accepts only https authorities. One app plays
both hosts: ``{url}/{tenant}`` is the authority, ``{url}/v1.0`` the Graph root.

Test controls (no auth): ``POST /_admin/deliver`` (raw MIME body, ``?folder=``),
``POST /_admin/throttle`` (``{"times": n, "retry_after": s}``),
``POST /_admin/expire-tokens``, ``GET /_admin/folders`` (message counts per folder).
"""

from __future__ import annotations

import base64
import email
import email.policy
import itertools
import secrets
import threading
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Form, HTTPException, Request, Response
from fastapi.responses import JSONResponse

CLIENT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_SECRET = "graph-client-secret"
TENANT = "kommune-tenant"
MAILBOX = "post@kommune.example.dk"
PAGE_SIZE_MAX = 1000


class _Mailbox:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.folders: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.folder("Inbox", well_known="inbox")

    def folder(self, name: str, well_known: str | None = None) -> dict[str, Any]:
        folder_id = f"AAMkFolder{next(self.ids)}"
        self.folders[folder_id] = {"id": folder_id, "displayName": name,
                                   "wellKnown": well_known}
        return self.folders[folder_id]

    def resolve(self, ref: str) -> dict[str, Any]:
        for folder in self.folders.values():
            if ref in (folder["id"], folder["wellKnown"]):
                return folder
        raise HTTPException(404, {"error": {"code": "ErrorItemNotFound",
                                            "message": "The specified folder was not found."}})

    def deliver(self, raw: bytes, folder_id: str) -> dict[str, Any]:
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        message_id = f"AAMkMsg{next(self.ids)}{secrets.token_hex(4)}"
        attachments = [{"@odata.type": "#microsoft.graph.fileAttachment",
                        "id": f"AAMkAtt{next(self.ids)}",
                        "name": part.get_filename() or "attachment",
                        "contentType": part.get_content_type(),
                        "size": len(part.get_payload(decode=True) or b""),
                        "contentBytes": base64.b64encode(
                            part.get_payload(decode=True) or b"").decode("ascii")}
                       for part in parsed.iter_attachments()]
        message = {"id": message_id, "parentFolderId": folder_id, "raw": raw,
                   "internetMessageId": str(parsed.get("Message-ID") or ""),
                   "subject": str(parsed.get("Subject") or ""),
                   "receivedDateTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                   "hasAttachments": bool(attachments), "isRead": False,
                   "attachments": attachments}
        self.messages[message_id] = message
        return message


def _public(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k not in ("raw", "attachments")}


def create_app() -> FastAPI:
    box = _Mailbox()
    tokens: set[str] = set()
    throttle = {"times": 0, "retry_after": 1.0}
    app = FastAPI(title="Microsoft Graph mail fake")
    app.state.mailbox = box

    @app.exception_handler(HTTPException)
    async def graph_error(_request: Request, exc: HTTPException) -> JSONResponse:
        """Graph answers ``{"error": {"code", "message"}}``, not FastAPI's ``detail``."""
        body = exc.detail if isinstance(exc.detail, dict) else {"detail": exc.detail}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    def authorised(request: Request) -> None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or header[7:] not in tokens:
            raise HTTPException(401, {"error": {"code": "InvalidAuthenticationToken",
                                                "message": "Access token has expired or is "
                                                           "not yet valid."}})
        with box.lock:
            if throttle["times"] > 0:
                throttle["times"] -= 1
                raise HTTPException(429, {"error": {"code": "ApplicationThrottled",
                                                    "message": "Too many requests"}},
                                    headers={"Retry-After": str(throttle["retry_after"])})

    graph = Depends(authorised)

    # -- identity platform -------------------------------------------------------------------

    @app.get("/{tenant}/v2.0/.well-known/openid-configuration")
    def discovery(tenant: str, request: Request) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/")
        return {"issuer": f"{base}/{tenant}/v2.0",
                "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode"}

    @app.post("/{tenant}/oauth2/v2.0/token")
    def token(tenant: str, grant_type: Annotated[str, Form()],
              client_id: Annotated[str, Form()], scope: Annotated[str, Form()] = "",
              client_secret: Annotated[str | None, Form()] = None,
              client_assertion: Annotated[str | None, Form()] = None) -> JSONResponse:
        ok = (tenant == TENANT and grant_type == "client_credentials"
              and client_id == CLIENT_ID and (client_secret == CLIENT_SECRET
                                              or client_assertion is not None))
        if not ok:
            return JSONResponse({"error": "invalid_client",
                                 "error_description": "AADSTS7000215: Invalid client secret "
                                                      "provided."}, status_code=401)
        issued = secrets.token_urlsafe(24)
        tokens.add(issued)
        return JSONResponse({"token_type": "Bearer", "expires_in": 3599,
                             "access_token": issued})

    # -- Graph mail --------------------------------------------------------------------------

    def user(mailbox: str) -> None:
        if mailbox.lower() != MAILBOX:
            raise HTTPException(404, {"error": {"code": "ErrorInvalidUser",
                                                "message": "The requested user is invalid."}})

    @app.get("/v1.0/users/{mailbox}/mailFolders", dependencies=[graph])
    def folders(mailbox: str, request: Request) -> dict[str, Any]:
        user(mailbox)
        wanted = request.query_params.get("$filter", "")
        found = [f for f in box.folders.values()
                 if not wanted or wanted == f"displayName eq '{f['displayName']}'"]
        return {"value": [{"id": f["id"], "displayName": f["displayName"]} for f in found]}

    @app.post("/v1.0/users/{mailbox}/mailFolders", status_code=201, dependencies=[graph])
    def create_folder(mailbox: str, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        user(mailbox)
        name = str(body.get("displayName") or "")
        with box.lock:
            if any(f["displayName"] == name for f in box.folders.values()):
                raise HTTPException(409, {"error": {"code": "ErrorFolderExists",
                                                    "message": "A folder with the specified "
                                                               "name already exists."}})
            folder = box.folder(name)
        return {"id": folder["id"], "displayName": name}

    @app.get("/v1.0/users/{mailbox}/mailFolders/{folder}/messages", dependencies=[graph])
    def list_messages(mailbox: str, folder: str, request: Request) -> dict[str, Any]:
        user(mailbox)
        target = box.resolve(folder)
        params = request.query_params
        top = min(int(params.get("$top", "10")), PAGE_SIZE_MAX)
        skip = int(params.get("$skip", "0"))
        wanted = params.get("$filter", "")
        found = [m for m in box.messages.values() if m["parentFolderId"] == target["id"]
                 and (not wanted or wanted == f"internetMessageId eq '{m['internetMessageId']}'")]
        page = found[skip:skip + top]
        answer: dict[str, Any] = {"value": [_public(m) for m in page]}
        if skip + top < len(found):
            base = str(request.url).split("?")[0]
            answer["@odata.nextLink"] = f"{base}?$top={top}&$skip={skip + top}" + (
                f"&$filter={wanted}" if wanted else "")
        return answer

    def message(mailbox: str, message_id: str) -> dict[str, Any]:
        user(mailbox)
        found = box.messages.get(message_id)
        if found is None:
            raise HTTPException(404, {"error": {"code": "ErrorItemNotFound",
                                                "message": "The specified object was not "
                                                           "found in the store."}})
        return found

    @app.get("/v1.0/users/{mailbox}/messages/{message_id}/$value", dependencies=[graph])
    def mime(mailbox: str, message_id: str) -> Response:
        return Response(message(mailbox, message_id)["raw"], media_type="text/plain")

    @app.get("/v1.0/users/{mailbox}/messages/{message_id}/attachments", dependencies=[graph])
    def attachments(mailbox: str, message_id: str) -> dict[str, Any]:
        return {"value": message(mailbox, message_id)["attachments"]}

    @app.post("/v1.0/users/{mailbox}/messages/{message_id}/move", status_code=201,
              dependencies=[graph])
    def move(mailbox: str, message_id: str,
             body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        with box.lock:
            found = message(mailbox, message_id)
            target = box.resolve(str(body.get("destinationId") or ""))
            del box.messages[message_id]  # Graph gives a moved message a new id
            moved = {**found, "id": f"AAMkMsg{next(box.ids)}{secrets.token_hex(4)}",
                     "parentFolderId": target["id"]}
            box.messages[moved["id"]] = moved
        return _public(moved)

    # -- test controls -----------------------------------------------------------------------

    @app.post("/_admin/deliver", status_code=201)
    async def deliver(request: Request, folder: str = "inbox") -> dict[str, Any]:
        raw = await request.body()
        with box.lock:
            return _public(box.deliver(raw, box.resolve(folder)["id"]))

    @app.post("/_admin/throttle", status_code=204)
    def set_throttle(body: Annotated[dict[str, Any], Body()]) -> None:
        throttle.update(times=int(body.get("times", 1)),
                        retry_after=float(body.get("retry_after", 1.0)))

    @app.post("/_admin/expire-tokens", status_code=204)
    def expire_tokens() -> None:
        tokens.clear()

    @app.get("/_admin/folders")
    def counts() -> dict[str, int]:
        return {f["displayName"]: sum(1 for m in box.messages.values()
                                      if m["parentFolderId"] == f["id"])
                for f in box.folders.values()}

    return app
