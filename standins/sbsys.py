"""Stand-in for an SBSYS Web API (the case system many Danish municipalities run), served on
loopback. The shapes follow SBSYS's public client libraries (Danish field names, PascalCase,
``api/sag/search`` answering ``{"Results": [...]}``, cases from templates at
``api/v10/sag/template``, journal notes at ``api/journalarknote/create``, the document upload
``POST api/dokument/journaliser``, multipart with a ``json`` part ``{"SagID", "DokumentNavn"}``
and a ``file`` part, and the file download ``GET api/fil/{id}``). Field names beyond those
(``DokumentArt``, ``Beskrivelse`` on upload) may differ between SBSYS versions: check a
municipality's Swagger with ``casework connectors check-swagger``.

Like the real system it has no Idempotency-Key: a POST that is sent twice creates twice, so the
client must look before it retries. OAuth2 password grant at ``POST /token``;
``POST /_admin/expire-tokens`` revokes every token (tests of the 401 → refresh path);
``GET /_admin/stats`` counts rows for duplicate checks.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, Response, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from standins.faults import install_faults
from standins.sample_data import load_sample

CLIENT_ID, CLIENT_SECRET = "casework-robot", "sbsys-client-secret"
USERNAME, PASSWORD = "robot", "sbsys-password"
TEMPLATES = {1: "Byggesag", 2: "Generel henvendelse", 3: "Klagesag"}
STATUSES = {1: "Oprettet", 2: "Under behandling", 3: "Afsluttet", 4: "Arkiveret"}
_bearer = HTTPBearer(auto_error=False)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


class PartRef(BaseModel):
    PartId: int
    PartType: str = "Person"


class FromTemplate(BaseModel):
    SagsTitel: str = Field(min_length=1, max_length=300)
    PrimaryPart: PartRef
    Parts: list[PartRef] = Field(default_factory=list)
    SkabelonId: int
    SagsbehandlerID: int
    Beskrivelse: str | None = None


class NoteIn(BaseModel):
    SagID: int
    Overskrift: str = Field(min_length=1, max_length=300)
    Note: str = Field(min_length=1)
    KontaktTidspunkt: str | None = None


class DocumentMeta(BaseModel):
    model_config = ConfigDict(extra="forbid")

    SagID: int
    DokumentNavn: str = Field(min_length=1, max_length=300)
    DokumentArt: str = Field(default="Indgående", min_length=1)
    Beskrivelse: str | None = None


class _Store:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids = itertools.count(700001)
        self.persons: dict[int, dict[str, Any]] = {}
        self.cases: dict[int, dict[str, Any]] = {}
        self.documents: dict[int, dict[str, Any]] = {}
        self.files: dict[int, bytes] = {}
        self.notes: dict[int, dict[str, Any]] = {}
        for person in load_sample().persons:
            pid = next(self.ids)
            self.persons[pid] = {"Id": pid, "CprNummer": person.cpr, "Navn": person.name}

    def person_by_cpr(self, cpr: str) -> dict[str, Any] | None:
        digits = cpr.replace("-", "")
        return next((p for p in self.persons.values()
                     if p["CprNummer"].replace("-", "") == digits), None)


def create_app() -> FastAPI:
    store = _Store()
    tokens: set[str] = set()
    app = FastAPI(title="SBSYS Web API stand-in")

    def authorised(credentials: Annotated[HTTPAuthorizationCredentials | None,
                                          Depends(_bearer)]) -> None:
        if credentials is None or credentials.credentials not in tokens:
            raise HTTPException(401, "Authorization has been denied for this request.",
                                headers={"WWW-Authenticate": "Bearer"})

    app.state.faults = install_faults(app, authorised)
    app.state.store = store
    api = Depends(authorised)

    @app.post("/token")
    def token(grant_type: Annotated[str, Form()], client_id: Annotated[str, Form()] = "",
              client_secret: Annotated[str, Form()] = "", username: Annotated[str, Form()] = "",
              password: Annotated[str, Form()] = "") -> Response:
        good = (grant_type == "password" and client_id == CLIENT_ID
                and client_secret == CLIENT_SECRET and username == USERNAME
                and password == PASSWORD)
        if not good:
            return Response(json.dumps({"error": "invalid_grant"}), status_code=400,
                            media_type="application/json")
        issued = secrets.token_urlsafe(24)
        tokens.add(issued)
        return Response(json.dumps({"access_token": issued, "token_type": "bearer",
                                    "expires_in": 3600}), media_type="application/json")

    @app.post("/_admin/expire-tokens", status_code=204)
    def expire_tokens() -> None:
        tokens.clear()

    @app.get("/_admin/stats", dependencies=[api])
    def stats() -> dict[str, int]:
        return {"cases": len(store.cases), "documents": len(store.documents),
                "journal_notes": len(store.notes)}

    def case_or_404(case_id: int) -> dict[str, Any]:
        case = store.cases.get(case_id)
        if case is None:
            raise HTTPException(404, f"Sag med id {case_id} findes ikke")
        return case

    @app.post("/api/person/search", dependencies=[api])
    def person_search(body: _Body) -> list[dict[str, Any]]:
        found = store.person_by_cpr(str(getattr(body, "CprNummer", "") or ""))
        return [found] if found else []

    @app.get("/api/sagsskabelon", dependencies=[api])
    def templates() -> list[dict[str, Any]]:
        return [{"Id": key, "Navn": name} for key, name in TEMPLATES.items()]

    @app.get("/api/sag/sagStatusList", dependencies=[api])
    def statuses() -> list[dict[str, Any]]:
        return [{"Id": key, "Navn": name} for key, name in STATUSES.items()]

    @app.post("/api/sag/search", dependencies=[api])
    def search(body: _Body) -> dict[str, Any]:
        query = body.model_dump()
        cpr = ((query.get("PrimaerPerson") or {}).get("CprNummer") or "").replace("-", "")
        number = query.get("Nummer")
        status = query.get("SagsStatusNavn")
        found = [c for c in store.cases.values()
                 if (not cpr or c["PrimaerPerson"]["CprNummer"].replace("-", "") == cpr)
                 and (not number or c["Nummer"] == number)
                 and (not status or c["SagsStatus"]["Navn"] == status)]
        return {"Results": found, "TotalCount": len(found)}

    @app.post("/api/v10/sag/template", dependencies=[api])
    def from_template(body: FromTemplate) -> dict[str, Any]:
        if body.SkabelonId not in TEMPLATES:
            raise HTTPException(400, f"Sagsskabelon {body.SkabelonId} findes ikke")
        person = store.persons.get(body.PrimaryPart.PartId)
        if person is None:
            raise HTTPException(400, f"Part {body.PrimaryPart.PartId} findes ikke")
        with store.lock:
            case_id = next(store.ids)
            year = datetime.now(UTC).year % 100
            case = {"Id": case_id, "Nummer": f"00.00.00-G01-{case_id}-{year:02d}",
                    "SagsTitel": body.SagsTitel, "SagsSkabelonId": body.SkabelonId,
                    "Beskrivelse": body.Beskrivelse,
                    "SagsStatus": {"Id": 1, "Navn": STATUSES[1]},
                    "PrimaerPerson": {"Id": person["Id"], "CprNummer": person["CprNummer"],
                                      "Navn": person["Navn"]},
                    "Ansaettelsessted": None, "Team": None, "Emne": None, "Facet": None,
                    "SagsbehandlerId": body.SagsbehandlerID,
                    "Oprettet": _now(), "SenestAendret": _now()}
            store.cases[case_id] = case
        return case

    @app.get("/api/sag/{case_id}", dependencies=[api])
    def get_case(case_id: int) -> dict[str, Any]:
        return case_or_404(case_id)

    @app.put("/api/sag/{case_id}", dependencies=[api])
    def update_case(case_id: int, body: _Body) -> dict[str, Any]:
        case = case_or_404(case_id)
        changes = body.model_dump()
        unknown = sorted(set(changes) - set(case))
        if unknown:
            raise HTTPException(400, f"Ukendte felter: {', '.join(unknown)}")
        with store.lock:
            for key in ("Ansaettelsessted", "Team", "Emne", "Facet", "SagsTitel"):
                if key in changes:
                    case[key] = changes[key]
            case["SenestAendret"] = _now()
        return case

    @app.get("/api/sag/{case_id}/dokumenter", dependencies=[api])
    def documents(case_id: int) -> list[dict[str, Any]]:
        case_or_404(case_id)
        return [d for d in store.documents.values() if d["SagId"] == case_id]

    @app.post("/api/dokument/journaliser", dependencies=[api])
    async def journalise(json_part: Annotated[str, Form(alias="json")],
                         file: Annotated[UploadFile, File()]) -> dict[str, Any]:
        try:
            meta = DocumentMeta.model_validate_json(json_part)
        except ValueError as exc:
            raise HTTPException(400, f"json: {exc}") from None
        case_id = meta.SagID
        case = case_or_404(case_id)
        if case["SagsStatus"]["Navn"] in ("Afsluttet", "Arkiveret"):
            raise HTTPException(409, f"Sag {case_id} er {case['SagsStatus']['Navn'].lower()}")
        fil = file
        content = await fil.read()
        with store.lock:
            doc_id, file_id = next(store.ids), next(store.ids)
            store.files[file_id] = content
            doc = {"Id": doc_id, "SagId": case_id, "Navn": meta.DokumentNavn,
                   "DokumentArt": {"Navn": meta.DokumentArt}, "Beskrivelse": meta.Beskrivelse,
                   "Oprettet": _now(),
                   "Filer": [{"Id": file_id, "Filnavn": fil.filename or "dokument",
                              "MimeType": fil.content_type or "application/octet-stream",
                              "Stoerrelse": len(content)}]}
            store.documents[doc_id] = doc
        return doc

    @app.get("/api/dokument/{document_id}", dependencies=[api])
    def get_document(document_id: int) -> dict[str, Any]:
        doc = store.documents.get(document_id)
        if doc is None:
            raise HTTPException(404, f"Dokument {document_id} findes ikke")
        return doc

    @app.get("/api/fil/{file_id}", dependencies=[api])
    def get_file(file_id: int) -> Response:
        if file_id not in store.files:
            raise HTTPException(404, f"Fil {file_id} findes ikke")
        meta = next(f for d in store.documents.values() for f in d["Filer"] if f["Id"] == file_id)
        return Response(store.files[file_id], media_type=meta["MimeType"])

    @app.get("/api/sag/{case_id}/journalarknotes", dependencies=[api])
    def notes(case_id: int) -> list[dict[str, Any]]:
        case_or_404(case_id)
        return [n for n in store.notes.values() if n["SagID"] == case_id]

    @app.post("/api/journalarknote/create", dependencies=[api])
    def create_note(body: NoteIn, request: Request) -> dict[str, Any]:
        case_or_404(body.SagID)
        with store.lock:
            note_id = next(store.ids)
            note = {"Id": note_id, **body.model_dump(), "OprettetAf": USERNAME,
                    "Oprettet": _now()}
            store.notes[note_id] = note
        return note

    return app
