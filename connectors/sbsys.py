"""SBSYS case system client (SBSYS Web API, REST, OAuth2 password grant), behind the same
``CaseSystem`` interface as the stand-in client, so flows do not change.

SBSYS has no Idempotency-Key, so a creating call is never retried blindly: it is sent once,
and before any retry (or any first try with a key, which may be a retry after a crash) the
client looks for what an earlier attempt made. Our key (hashed, as keys may hold a Message-ID)
travels in a field SBSYS stores:

- case: ``Beskrivelse`` holds ``casework:key=<key>``; found again via the citizen's cases;
- document: ``Beskrivelse`` holds ``casework:key=<key>;type=<document_type>;sha256=<hex>``;
- journal note: the note's HTML ends with ``<!-- casework:key=<key> -->``.

Reads and updates (PUT of the whole case, as SBSYS wants) are retried on transient faults.
Case templates: SBSYS creates cases from a template (``SkabelonId``); ``templates`` maps our
case types (``building_permit``) to template ids. Endpoint names follow public SBSYS client
libraries; ``casework connectors check-swagger`` compares them with a municipality's Swagger.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import random
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, TypeAdapter

from connectors.case_system import KLE_JOURNAL_NUMBER, Case, Document, JournalNote, NewCase
from connectors.http import (
    HttpConnector,
    NotFoundError,
    PermanentConnectorError,
    RetryPolicy,
    TransientConnectorError,
    new_idempotency_key,
)
from connectors.oauth import RefreshingBearerAuth, password_grant

log = logging.getLogger(__name__)
T = TypeVar("T")

CLOSED_STATUSES = {"afsluttet", "arkiveret", "henlagt"}
_MARK = re.compile(r"casework:key=([^;\s<>]+)((?:;[a-z0-9_]+=[^;\s<>]*)*)")
_NOTE_MARK = re.compile(r"\s*<!-- casework:key=[^>]*-->\s*$")

# Every path this client calls, for ``check-swagger`` (method, SBSYS path template).
PATHS: tuple[tuple[str, str], ...] = (
    ("POST", "/api/sag/search"), ("GET", "/api/sag/{id}"), ("PUT", "/api/sag/{id}"),
    ("POST", "/api/v10/sag/template"), ("POST", "/api/person/search"),
    ("GET", "/api/sag/{id}/dokumenter"), ("GET", "/api/dokument/{id}"),
    ("GET", "/api/fil/{id}"), ("POST", "/api/dokument/journaliser"),
    ("GET", "/api/sag/{id}/journalarknotes"), ("POST", "/api/journalarknote/create"),
)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Named(_Answer):
    Navn: str | None = None
    Nummer: str | None = None


class _Person(_Answer):
    Id: int
    CprNummer: str | None = None
    Navn: str | None = None


class _Sag(_Answer):
    Id: int
    Nummer: str
    SagsTitel: str
    SagsSkabelonId: int | None = None
    Beskrivelse: str | None = None
    SagsStatus: _Named
    PrimaerPerson: _Person | None = None
    Ansaettelsessted: _Named | None = None
    Team: _Named | None = None
    Emne: _Named | None = None
    Facet: _Named | None = None
    Oprettet: datetime
    SenestAendret: datetime


class _Fil(_Answer):
    Id: int
    Filnavn: str
    MimeType: str
    Stoerrelse: int


class _Dokument(_Answer):
    Id: int
    SagId: int
    Navn: str
    DokumentArt: _Named
    Beskrivelse: str | None = None
    Oprettet: datetime
    Filer: list[_Fil]


class _Note(_Answer):
    Id: int
    SagID: int
    Overskrift: str
    Note: str
    OprettetAf: str | None = None
    Oprettet: datetime


class _Search(_Answer):
    Results: list[_Sag]


_persons = TypeAdapter(list[_Person])
_dokumenter = TypeAdapter(list[_Dokument])
_notes = TypeAdapter(list[_Note])


def format_cpr(cpr: str) -> str:
    digits = cpr.replace("-", "").replace(" ", "")
    if not re.fullmatch(r"\d{10}", digits):
        raise ValueError("not a CPR number (10 digits, DDMMYY-SSSS)")
    return f"{digits[:6]}-{digits[6:]}"


def key_tag(key: str) -> str:
    """Our idempotency key as stored in SBSYS: a hash, as keys may hold a Message-ID."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _marker(text: str | None) -> tuple[str | None, dict[str, str]]:
    found = _MARK.search(text or "")
    if not found:
        return None, {}
    extras = dict(part.split("=", 1) for part in found.group(2).split(";") if "=" in part)
    return found.group(1), extras


class SbsysClient(HttpConnector):
    """``SbsysClient(url, token_url=..., client_id=..., ..., templates={"building_permit": 1},
    caseworker_id=42)``."""

    system = "SBSYS"

    def __init__(self, base_url: str, *, token_url: str, client_id: str, client_secret: str,
                 username: str, password: str, templates: dict[str, int],
                 caseworker_id: int, timeout: float = 10.0,
                 retry: RetryPolicy | None = None) -> None:
        self.auth = RefreshingBearerAuth(password_grant(
            self.system, token_url, client_id=client_id, client_secret=client_secret,
            username=username, password=password, timeout=timeout))
        super().__init__(base_url, timeout=timeout, retry=retry, auth=self.auth)
        self.templates = dict(templates)
        self._case_types = {v: k for k, v in self.templates.items()}
        self.caseworker_id = caseworker_id
        self.token_path = urlsplit(token_url).path

    # -- cases -------------------------------------------------------------------------------

    def get_case(self, case_id: str) -> Case:
        """By SBSYS id (digits) or case number (``Nummer``, as citizens quote it)."""
        return self._case(self._sag(case_id))

    def find_case(self, case_id: str) -> Case | None:
        try:
            return self.get_case(case_id)
        except NotFoundError:
            return None

    def list_cases(self, *, status: str | None = None, case_type: str | None = None,
                   department: str | None = None) -> list[Case]:
        cases = [self._case(s) for s in self._search({})]
        return [c for c in cases if (status is None or c.status == status)
                and (case_type is None or c.case_type == case_type)
                and (department is None or c.department == department)]

    def cases_for_citizen(self, cpr: str, *, status: str | None = "open") -> list[Case]:
        found = self._search({"PrimaerPerson": {"CprNummer": format_cpr(cpr)}})
        cases = [self._case(s) for s in found]
        return [c for c in cases if status is None or c.status == status]

    def create_case(self, new: NewCase, *, idempotency_key: str | None = None) -> Case:
        """A case from the template for ``new.case_type``, the citizen as primary party."""
        if not new.citizen_cpr:
            raise PermanentConnectorError(self.system, "POST", "/api/v10/sag/template",
                                          "SBSYS needs a citizen (CPR) as the case's party")
        template = self.templates.get(new.case_type)
        if template is None:
            raise PermanentConnectorError(
                self.system, "POST", "/api/v10/sag/template",
                f"no SBSYS template for case type {new.case_type!r}; known: "
                f"{', '.join(sorted(self.templates)) or 'none'} (CASEWORK_SBSYS_TEMPLATES)")
        key = key_tag(idempotency_key or new_idempotency_key())
        cpr = format_cpr(new.citizen_cpr)
        mark = f"casework:key={key}"

        def find() -> _Sag | None:
            return next((s for s in self._search({"PrimaerPerson": {"CprNummer": cpr}})
                         if _marker(s.Beskrivelse)[0] == key), None)

        def post() -> _Sag:
            part = self._person_id(cpr)
            body = {"SagsTitel": new.title, "SkabelonId": template,
                    "SagsbehandlerID": self.caseworker_id, "Beskrivelse": mark,
                    "PrimaryPart": {"PartId": part, "PartType": "Person"},
                    "Parts": [{"PartId": part, "PartType": "Person"}]}
            return self._parse("POST", "/api/v10/sag/template", _Sag, json=body,
                               retry_transient=False)

        sag = self._create_once("create case", find, post)
        changes = _placement(new.department, new.team) if new.department else {}
        if new.kle:
            changes.update(_kle(new.kle))
        return self._case(self._update(str(sag.Id), changes) if changes else sag)

    def set_journal_number(self, case_id: str, kle: str) -> Case:
        if not re.fullmatch(KLE_JOURNAL_NUMBER, kle):
            raise PermanentConnectorError(self.system, "PUT", f"/api/sag/{case_id}",
                                          "field 'kle': not a KLE number like 02.34.02(-G01)")
        return self._case(self._update(case_id, _kle(kle)))

    def set_department(self, case_id: str, department: str, team: str | None = None) -> Case:
        return self._case(self._update(case_id, _placement(department, team)))

    # -- documents ---------------------------------------------------------------------------

    def list_documents(self, case_id: str, *, document_type: str | None = None,
                       ) -> list[Document]:
        sag = self._sag(case_id)
        docs = [self._document(d) for d in self._documents(sag.Id)]
        return [d for d in docs if document_type is None or d.document_type == document_type]

    def get_document(self, case_id: str, document_id: int) -> Document:
        return self._document(self._dokument(case_id, document_id))

    def document_content(self, case_id: str, document_id: int) -> bytes:
        dokument = self._dokument(case_id, document_id)
        if not dokument.Filer:
            raise NotFoundError(self.system, "GET", f"/api/dokument/{document_id}",
                                "the document has no file", status=404)
        return self.request("GET", f"/api/fil/{dokument.Filer[0].Id}").content

    def add_document(self, case_id: str, *, title: str, document_type: str, filename: str,
                     content: bytes, content_type: str = "application/octet-stream",
                     idempotency_key: str | None = None) -> Document:
        """Journalise a file on the case (multipart), at most once per key."""
        sag = self._sag(case_id)
        key = key_tag(idempotency_key or new_idempotency_key())
        digest = hashlib.sha256(content).hexdigest()
        meta = {"SagID": sag.Id, "DokumentNavn": title, "DokumentArt": "Indgående",
                "Beskrivelse": f"casework:key={key};type={document_type};sha256={digest}"}

        def find() -> _Dokument | None:
            return next((d for d in self._documents(sag.Id)
                         if _marker(d.Beskrivelse)[0] == key), None)

        def post() -> _Dokument:
            return self._parse("POST", "/api/dokument/journaliser", _Dokument,
                               data={"json": json.dumps(meta, ensure_ascii=False)},
                               files={"file": (filename, content, content_type)},
                               retry_transient=False)

        return self._document(self._create_once("journalise document", find, post))

    # -- journal notes -----------------------------------------------------------------------

    def list_journal_notes(self, case_id: str) -> list[JournalNote]:
        sag = self._sag(case_id)
        return [self._note(n) for n in self._notes(sag.Id)]

    def create_journal_note(self, case_id: str, text: str, *, author: str = "robot",
                            idempotency_key: str | None = None) -> JournalNote:
        sag = self._sag(case_id)
        key = key_tag(idempotency_key or new_idempotency_key())
        heading = (text.strip().splitlines() or ["Notat"])[0][:100]
        body_html = "".join(f"{html.escape(line)}<br/>" for line in text.split("\n"))
        note = {"SagID": sag.Id, "Overskrift": f"{author}: {heading}",
                "Note": f"{body_html}<!-- casework:key={key} -->"}

        def find() -> _Note | None:
            return next((n for n in self._notes(sag.Id)
                         if f"casework:key={key} " in n.Note), None)

        def post() -> _Note:
            return self._parse("POST", "/api/journalarknote/create", _Note, json=note,
                               retry_transient=False)

        return self._note(self._create_once("journal note", find, post), author=author)

    def check(self) -> str:
        """Log in and list the templates (for ``casework doctor``)."""
        templates = self.call("GET", "/api/sagsskabelon", list[dict[str, Any]])
        missing = sorted(set(self.templates.values()) - {t.get("Id") for t in templates})
        if missing:
            raise PermanentConnectorError(self.system, "GET", "/api/sagsskabelon",
                                          f"configured template id(s) {missing} not in SBSYS")
        return f"logged in; {len(templates)} template(s), configured ones present"

    # -- plumbing ----------------------------------------------------------------------------

    def _parse(self, method: str, path: str, shape: type[T] | TypeAdapter[T],
               **kwargs: Any) -> T:
        return self.parse(self.request(method, path, **kwargs), shape)

    def _create_once(self, what: str, find: Callable[[], T | None], post: Callable[[], T]) -> T:
        """Look, send once, and after a transient failure look again before resending."""
        last: TransientConnectorError | None = None
        for attempt in range(1, self.retry.attempts + 1):
            existing = find()
            if existing is not None:
                if attempt > 1:
                    log.info("SBSYS: %s had landed before the failure; not sent again", what)
                return existing
            try:
                return post()
            except TransientConnectorError as problem:
                last = problem
                wait = min(self.retry.max_wait, self.retry.initial_wait * 2 ** (attempt - 1))
                log.warning("SBSYS: %s failed (%s); checking before retry %d of %d", what,
                            problem, attempt, self.retry.attempts - 1)
                time.sleep(wait + random.uniform(0, self.retry.jitter))
        existing = find()
        if existing is not None:
            return existing
        assert last is not None
        raise TransientConnectorError(self.system, last.method, last.path,
                                      f"{what}: gave up after {self.retry.attempts} attempts, "
                                      f"nothing created; last: {last.problem}",
                                      status=last.status, attempts=self.retry.attempts)

    def _sag(self, case_id: str) -> _Sag:
        if case_id.isdigit():
            return self._parse("GET", f"/api/sag/{case_id}", _Sag)
        found = [s for s in self._search({"Nummer": case_id}) if s.Nummer == case_id]
        if not found:
            raise NotFoundError(self.system, "POST", "/api/sag/search",
                                f"no case with number {case_id}", status=404)
        return found[0]

    def _search(self, query: dict[str, Any]) -> list[_Sag]:
        return self._parse("POST", "/api/sag/search", _Search, json=query).Results

    def _person_id(self, cpr: str) -> int:
        persons = self._parse("POST", "/api/person/search", _persons, json={"CprNummer": cpr})
        if not persons:
            raise NotFoundError(self.system, "POST", "/api/person/search",
                                "the citizen is not a party known to SBSYS", status=404)
        return persons[0].Id

    def _update(self, case_id: str, changes: dict[str, Any]) -> _Sag:
        """SBSYS replaces the whole case on PUT: read it, change the fields, send it back."""
        sag_id = self._sag(case_id).Id
        current = self.request("GET", f"/api/sag/{sag_id}").json()
        current.update(changes)
        return self._parse("PUT", f"/api/sag/{sag_id}", _Sag, json=current)

    def _documents(self, sag_id: int) -> list[_Dokument]:
        return self._parse("GET", f"/api/sag/{sag_id}/dokumenter", _dokumenter)

    def _dokument(self, case_id: str, document_id: int) -> _Dokument:
        sag = self._sag(case_id)
        dokument = self._parse("GET", f"/api/dokument/{document_id}", _Dokument)
        if dokument.SagId != sag.Id:
            raise NotFoundError(self.system, "GET", f"/api/dokument/{document_id}",
                                f"document {document_id} is not on case {case_id}", status=404)
        return dokument

    def _notes(self, sag_id: int) -> list[_Note]:
        return self._parse("GET", f"/api/sag/{sag_id}/journalarknotes", _notes)

    # -- mapping to the interface's models ---------------------------------------------------

    def _case(self, sag: _Sag) -> Case:
        kle = sag.Emne.Nummer if sag.Emne and sag.Emne.Nummer else None
        if kle and sag.Facet and sag.Facet.Nummer:
            kle = f"{kle}-{sag.Facet.Nummer}"
        status = "closed" if (sag.SagsStatus.Navn or "").lower() in CLOSED_STATUSES else "open"
        person = sag.PrimaerPerson
        return Case(id=str(sag.Id), title=sag.SagsTitel,
                    case_type=self._case_types.get(sag.SagsSkabelonId or -1,
                                                   f"sbsys-template-{sag.SagsSkabelonId}"),
                    status=status, citizen_cpr=person.CprNummer if person else None,
                    citizen_name=person.Navn if person else None,
                    department=sag.Ansaettelsessted.Navn if sag.Ansaettelsessted else None,
                    team=sag.Team.Navn if sag.Team else None, kle=kle,
                    created_at=sag.Oprettet, updated_at=sag.SenestAendret)

    @staticmethod
    def _document(d: _Dokument) -> Document:
        _key, extras = _marker(d.Beskrivelse)
        fil = d.Filer[0] if d.Filer else None
        return Document(id=d.Id, case_id=str(d.SagId), title=d.Navn,
                        document_type=extras.get("type") or d.DokumentArt.Navn or "document",
                        filename=fil.Filnavn if fil else "", content_type=fil.MimeType if fil
                        else "application/octet-stream", size=fil.Stoerrelse if fil else 0,
                        sha256=extras.get("sha256", ""), created_at=d.Oprettet)

    @staticmethod
    def _note(n: _Note, author: str | None = None) -> JournalNote:
        text = _NOTE_MARK.sub("", n.Note).replace("<br/>", "\n").rstrip("\n")
        return JournalNote(id=n.Id, case_id=str(n.SagID), text=html.unescape(text),
                           author=author or n.OprettetAf or "SBSYS", created_at=n.Oprettet)


def _kle(kle: str) -> dict[str, Any]:
    number, _, facet = kle.partition("-")
    return {"Emne": {"Nummer": number}, "Facet": {"Nummer": facet} if facet else None}


def _placement(department: str | None, team: str | None) -> dict[str, Any]:
    return {"Ansaettelsessted": {"Navn": department} if department else None,
            "Team": {"Navn": team} if team else None}
