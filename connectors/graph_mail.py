"""Citizen letters from a Microsoft 365 mailbox through Microsoft Graph (the calls municipal
robots use today): list a folder's messages (following ``@odata.nextLink``), fetch each one's
raw MIME (``/$value``), list attachments, and move handled mail to ``Behandlet``.

The token comes from MSAL's client-credentials flow (an app registration with the
``Mail.ReadWrite`` application permission, limited to the robot's mailbox by an application
access policy), with a client secret or a certificate from the environment. A 401 renews the
token once; 429 and 5xx are retried honouring ``Retry-After`` (the shared HTTP policy).

Same two phases as every ``MailSource``: ``fetch_pending`` changes nothing (a message that is
not a usable letter is moved to ``Afvist``, kept), ``acknowledge`` moves the letter after the
case system has it. Graph gives a moved message a new id, so acknowledging again (after a lost
answer, or in a new process) looks the letter up by ``internetMessageId`` and finds nothing
left to move.
"""

from __future__ import annotations

import logging
import ssl
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field

from connectors.http import (
    HttpConnector,
    NotFoundError,
    PermanentConnectorError,
    RetryPolicy,
    TransientConnectorError,
)
from connectors.mailbox import Attachment, IncomingLetter, MalformedLetter, _short, parse_letter
from connectors.oauth import RefreshingBearerAuth

log = logging.getLogger(__name__)

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
SYSTEM = "Microsoft Graph"


class GraphSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    mailbox: str = Field(min_length=3)  # the robot's mailbox (user principal name)
    folder: str = "inbox"  # a well-known name or a folder id
    done_folder: str = "Behandlet"
    rejected_folder: str = "Afvist"
    graph_url: str = "https://graph.microsoft.com/v1.0"
    page_size: int = Field(default=50, ge=1, le=1000)


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    internetMessageId: str | None = None
    receivedDateTime: datetime | None = None


class _Folder(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    displayName: str


class _FileAttachment(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    odata_type: str = Field(alias="@odata.type")
    name: str
    contentType: str | None = None
    size: int = 0
    contentBytes: str | None = None


def msal_token_source(authority: str, client_id: str, *, client_secret: str | None = None,
                      certificate_file: Path | None = None, verify: bool | str = True,
                      timeout: float = 10.0) -> RefreshingBearerAuth:
    """Client-credentials tokens from MSAL (secret or PEM certificate with its key)."""
    import msal
    import requests

    if (client_secret is None) == (certificate_file is None):
        raise ValueError("give exactly one of a client secret or a certificate file")
    credential: Any = client_secret
    if certificate_file is not None:
        credential = _certificate_credential(certificate_file)
    holder: dict[str, Any] = {}

    def application() -> Any:
        if "app" not in holder:
            session = _VerifyingSession()
            session.verify = verify  # a CA bundle path for a private CA (and tests)
            holder["session"] = session
            holder["app"] = msal.ConfidentialClientApplication(
                client_id, client_credential=credential, authority=authority,
                http_client=session, timeout=timeout, instance_discovery=False)
        return holder["app"]

    def fetch() -> tuple[str, float]:
        try:
            result = application().acquire_token_for_client(scopes=[GRAPH_SCOPE])
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientConnectorError(SYSTEM, "POST", "token",
                                          f"login service unreachable: {type(exc).__name__}",
                                          attempts=1) from None
        except ValueError as exc:
            raise PermanentConnectorError(SYSTEM, "POST", "token",
                                          f"login service refused the authority: {exc}") \
                from None
        if "access_token" not in result:
            description = str(result.get("error_description") or "").splitlines()[:1]
            raise PermanentConnectorError(
                SYSTEM, "POST", "token",
                f"token refused ({result.get('error', 'error')}"
                f"{': ' + description[0] if description else ''}); check the tenant, "
                "client id and secret or certificate")
        return str(result["access_token"]), float(result.get("expires_in", 3600))

    def forget() -> None:
        if "app" in holder:
            holder["app"].remove_tokens_for_client()

    def close() -> None:
        if "session" in holder:
            holder["session"].close()

    return RefreshingBearerAuth(fetch, forget=forget, close=close)


def _verifying_session_class() -> type:
    import requests

    class VerifyingSession(requests.Session):
        """requests lets REQUESTS_CA_BUNDLE override ``session.verify``; pass it per request."""

        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("verify") is None:
                kwargs["verify"] = self.verify
            return super().request(method, url, *args, **kwargs)

    return VerifyingSession


def _VerifyingSession() -> Any:  # noqa: N802 - reads as the class it builds
    return _verifying_session_class()()


def _certificate_credential(path: Path) -> dict[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the certificate: {exc.strerror}") from None
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise ValueError(f"{path}: no PEM certificate in the file") from None
    if b"PRIVATE KEY" not in pem:
        raise ValueError(f"{path}: the file holds no private key next to the certificate")
    from cryptography.hazmat.primitives.asymmetric import rsa

    if not isinstance(cert.public_key(), rsa.RSAPublicKey):
        raise ValueError(f"{path}: Entra ID app certificates must be RSA keys")
    return {"private_key": pem.decode(), "thumbprint": cert.fingerprint(hashes.SHA1()).hex()}


class GraphMailbox(HttpConnector):
    """``GraphMailbox(GraphSettings(mailbox="post@kommune.dk"), msal_token_source(...))``."""

    system = SYSTEM

    def __init__(self, settings: GraphSettings, auth: httpx.Auth, *, timeout: float = 30.0,
                 retry: RetryPolicy | None = None, verify: bool | str = True) -> None:
        context: bool | ssl.SSLContext = verify if isinstance(verify, bool) else \
            ssl.create_default_context(cafile=verify)
        super().__init__(settings.graph_url, timeout=timeout, retry=retry, auth=auth,
                         verify=context)
        self.settings = settings
        self._auth = auth
        self._user = f"/users/{quote(settings.mailbox, safe='@')}"
        self._ids: dict[str, list[str]] = {}
        self._folder_ids: dict[str, str] = {}
        self.rejected: list[tuple[str, str]] = []  # (graph id, reason)

    def close(self) -> None:
        super().close()
        if isinstance(self._auth, RefreshingBearerAuth):
            self._auth.close()

    # -- the two phases ----------------------------------------------------------------------

    def fetch_pending(self, limit: int | None = None) -> list[IncomingLetter]:
        letters: dict[str, IncomingLetter] = {}
        ids: dict[str, list[str]] = {}
        rejected: list[tuple[str, str]] = []
        for message in self._messages(self.settings.folder):
            raw = self.request("GET", f"{self._user}/messages/{message.id}/$value").content
            try:
                letter = parse_letter(raw, fallback_time=message.receivedDateTime)
            except MalformedLetter as problem:
                self._move(message.id, self.settings.rejected_folder)
                rejected.append((message.id, str(problem)))
                log.warning("%s: message moved to %s: %s", SYSTEM,
                            self.settings.rejected_folder, problem)
                continue
            ids.setdefault(letter.message_id, []).append(message.id)
            letters.setdefault(letter.message_id, letter)
        self._ids, self.rejected = ids, rejected
        ordered = sorted(letters.values(), key=lambda item: (item.received_at, item.message_id))
        return ordered[:limit] if limit is not None else ordered

    def acknowledge(self, message_id: str) -> None:
        """Move every copy of the letter to the done folder. Safe to call twice."""
        ids = self._ids.pop(message_id, None)
        if ids is None:
            wanted = message_id.replace("'", "''")
            ids = [m.id for m in self._messages(
                self.settings.folder, query=f"$filter=internetMessageId eq '{wanted}'")]
        moved = sum(self._move(graph_id, self.settings.done_folder) for graph_id in ids)
        log.info("%s: letter %s moved to %s (%d message(s))", SYSTEM, _short(message_id),
                 self.settings.done_folder, moved)

    def attachments(self, graph_message_id: str) -> list[Attachment]:
        """The message's file attachments as Graph lists them (item attachments skipped)."""
        import base64

        body = self.call("GET", f"{self._user}/messages/{graph_message_id}/attachments",
                         dict[str, list[_FileAttachment]])
        found = []
        for item in body.get("value", []):
            if item.odata_type != "#microsoft.graph.fileAttachment" or item.contentBytes is None:
                continue
            data = base64.b64decode(item.contentBytes)
            content_type = item.contentType or "application/octet-stream"
            text = data.decode("utf-8", "replace") if content_type.startswith("text/") else None
            found.append(Attachment(filename=item.name, content_type=content_type,
                                    size=len(data), text=text, data=data))
        return found

    def check(self) -> str:
        """Log in and read the folder's first page (for ``casework doctor``)."""
        page = self.call("GET", f"{self._user}/mailFolders/{self.settings.folder}/messages",
                         dict[str, Any], params={"$top": 1, "$select": "id"})
        return f"{self.settings.mailbox}/{self.settings.folder} readable " \
               f"({'has mail' if page.get('value') else 'empty'})"

    # -- Graph calls -------------------------------------------------------------------------

    def _messages(self, folder: str, *, query: str | None = None) -> list[_Message]:
        select = "$select=id,internetMessageId,receivedDateTime"
        url: str | None = (f"{self._user}/mailFolders/{quote(folder, safe='')}/messages?"
                           f"$top={self.settings.page_size}&{select}"
                           + (f"&{query}" if query else ""))
        found: list[_Message] = []
        pages = 0
        while url is not None:
            pages += 1
            if pages > 10_000:
                raise PermanentConnectorError(SYSTEM, "GET", folder, "paging does not end")
            page = self.call("GET", url, dict[str, Any])
            found += [_Message.model_validate(item) for item in page.get("value", [])]
            url = page.get("@odata.nextLink")
        return found

    def _folder_id(self, name: str) -> str:
        if name in self._folder_ids:
            return self._folder_ids[name]
        wanted = name.replace("'", "''")
        listed = self.call("GET", f"{self._user}/mailFolders", dict[str, list[_Folder]],
                           params={"$filter": f"displayName eq '{wanted}'"})
        match = [f for f in listed.get("value", []) if f.displayName == name]
        if match:
            folder_id = match[0].id
        else:
            try:
                folder_id = self.call("POST", f"{self._user}/mailFolders", _Folder,
                                      json={"displayName": name}).id
            except PermanentConnectorError as exc:
                if exc.status != 409:  # made by another worker meanwhile: look again
                    raise
                return self._folder_id(name)
        self._folder_ids[name] = folder_id
        return folder_id

    def _move(self, graph_id: str, folder: str) -> int:
        try:
            self.request("POST", f"{self._user}/messages/{graph_id}/move",
                         json={"destinationId": self._folder_id(folder)})
        except NotFoundError:
            return 0  # moved already (a retry after a lost answer): nothing left to move
        return 1

    def _server_detail(self, response: httpx.Response) -> str:
        try:
            error = response.json().get("error")
        except (ValueError, AttributeError):
            error = None
        if isinstance(error, dict):
            return f"{error.get('code', 'error')}: {error.get('message', '')}".strip()
        return super()._server_detail(response)

