"""Stand-in for a municipal case system (ESDH) REST API, served on loopback for tests and demo.

Bearer auth, JSON in and out, realistic errors (401, 404, 409 on a closed case or a reused
Idempotency-Key, 422 on bad input), SQLite storage, and ``Idempotency-Key`` on every creating
POST: the same key returns the first answer (header ``Idempotent-Replayed: true``) and creates
nothing new. ``GET /admin/stats`` counts rows so crash tests can look for duplicates.
CPR numbers travel in bodies (``POST /cases/search``), never in URLs.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from standins.auth import bearer_auth
from standins.case_store import CaseStore, IdempotencyConflict, fingerprint
from standins.faults import install_faults
from standins.sample_data import load_sample

KLE_JOURNAL_NUMBER = r"^\d{2}\.\d{2}\.\d{2}(-[A-ZÆØÅ]\d{2})?$"
CPR = r"^\d{6}-?\d{4}$"


def _normal_cpr(cpr: str) -> str:
    return cpr if "-" in cpr else f"{cpr[:6]}-{cpr[6:]}"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewCase(_Body):
    title: str = Field(min_length=1, max_length=300)
    case_type: str = Field(min_length=1, max_length=60)
    citizen_cpr: str | None = Field(default=None, pattern=CPR)
    citizen_name: str | None = Field(default=None, max_length=200)
    department: str | None = None
    team: str | None = None
    kle: str | None = Field(default=None, pattern=KLE_JOURNAL_NUMBER)


class CaseSearch(_Body):
    citizen_cpr: str = Field(pattern=CPR)
    status: str | None = None


class JournalNumber(_Body):
    kle: str = Field(pattern=KLE_JOURNAL_NUMBER)


class Placement(_Body):
    department: str = Field(min_length=1, max_length=120)
    team: str | None = Field(default=None, max_length=120)


class NewDocument(_Body):
    title: str = Field(min_length=1, max_length=300)
    document_type: str = Field(min_length=1, max_length=60, pattern=r"^[a-z][a-z0-9_]*$")
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=120)
    content_base64: str


class NewNote(_Body):
    text: str = Field(min_length=1, max_length=20000)
    author: str = Field(default="robot", min_length=1, max_length=120)


IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


def create_app(db_path: str | None = None, token: str = "standin-token", *,
               seed: bool = True) -> FastAPI:
    """The case-system stand-in over ``db_path`` (``None``: in memory), seeded with the sample."""
    store = CaseStore(db_path)
    if seed:
        store.seed(load_sample())
    authorised = bearer_auth(token)
    app = FastAPI(title="Case system stand-in", dependencies=[Depends(authorised)])
    app.state.store = store
    app.state.faults = install_faults(app, authorised)

    def case_or_404(case_id: str) -> dict[str, Any]:
        case = store.get_case(case_id)
        if case is None:
            raise HTTPException(404, f"no case {case_id}")
        return case

    def open_case(case_id: str) -> dict[str, Any]:
        case = case_or_404(case_id)
        if case["status"] != "open":
            raise HTTPException(409, f"case {case_id} is {case['status']}")
        return case

    def created(key: str | None, path: str, body: BaseModel, create: Any) -> JSONResponse:
        try:
            status, payload, replayed = store.idempotent(
                key, fingerprint("POST", path, body.model_dump_json()), create)
        except IdempotencyConflict:
            raise HTTPException(409, "Idempotency-Key was used for a different request") \
                from None
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return JSONResponse(payload, status_code=status, headers=headers)

    @app.get("/cases")
    def list_cases(status: str | None = None, case_type: str | None = None,
                   department: str | None = None) -> list[dict[str, Any]]:
        return store.find_cases(status=status, case_type=case_type, department=department)

    @app.post("/cases/search")
    def search_cases(search: CaseSearch) -> list[dict[str, Any]]:
        return store.find_cases(citizen_cpr=_normal_cpr(search.citizen_cpr),
                                status=search.status)

    @app.post("/cases", status_code=201)
    def create_case(new: NewCase, key: IdempotencyKey = None) -> JSONResponse:
        fields = new.model_dump()
        if new.citizen_cpr:
            fields["citizen_cpr"] = _normal_cpr(new.citizen_cpr)
        return created(key, "/cases", new, lambda db: (201, store.insert_case(db, fields)))

    @app.get("/cases/{case_id}")
    def get_case(case_id: str) -> dict[str, Any]:
        return case_or_404(case_id)

    @app.put("/cases/{case_id}/journal-number")
    def set_journal_number(case_id: str, number: JournalNumber) -> dict[str, Any]:
        open_case(case_id)
        return store.update_case(case_id, kle=number.kle)

    @app.put("/cases/{case_id}/placement")
    def set_placement(case_id: str, placement: Placement) -> dict[str, Any]:
        open_case(case_id)
        return store.update_case(case_id, department=placement.department, team=placement.team)

    @app.get("/cases/{case_id}/documents")
    def list_documents(case_id: str, document_type: Annotated[str | None, Query()] = None,
                       ) -> list[dict[str, Any]]:
        case_or_404(case_id)
        return store.list_documents(case_id, document_type)

    @app.post("/cases/{case_id}/documents", status_code=201)
    def add_document(case_id: str, new: NewDocument, key: IdempotencyKey = None,
                     ) -> JSONResponse:
        open_case(case_id)
        try:
            content = base64.b64decode(new.content_base64, validate=True)
        except binascii.Error:
            raise HTTPException(422, [{"loc": ["body", "content_base64"],
                                       "msg": "not valid base64"}]) from None
        fields = new.model_dump(exclude={"content_base64"})
        return created(key, f"/cases/{case_id}/documents", new,
                       lambda db: (201, store.insert_document(db, case_id, content=content,
                                                              **fields)))

    @app.get("/cases/{case_id}/documents/{document_id}")
    def get_document(case_id: str, document_id: int) -> dict[str, Any]:
        found = store.get_document(case_id, document_id)
        if found is None:
            raise HTTPException(404, f"no document {document_id} on case {case_id}")
        return found[0]

    @app.get("/cases/{case_id}/documents/{document_id}/content")
    def document_content(case_id: str, document_id: int) -> Response:
        found = store.get_document(case_id, document_id)
        if found is None:
            raise HTTPException(404, f"no document {document_id} on case {case_id}")
        meta, content = found
        return Response(content, media_type=meta["content_type"])

    @app.get("/cases/{case_id}/notes")
    def list_notes(case_id: str) -> list[dict[str, Any]]:
        case_or_404(case_id)
        return store.list_notes(case_id)

    @app.post("/cases/{case_id}/notes", status_code=201)
    def add_note(case_id: str, new: NewNote, key: IdempotencyKey = None) -> JSONResponse:
        open_case(case_id)
        return created(key, f"/cases/{case_id}/notes", new,
                       lambda db: (201, store.insert_note(db, case_id, new.text, new.author)))

    @app.get("/admin/stats")
    def stats() -> dict[str, int]:
        return store.stats()

    return app



def app_from_env() -> FastAPI:
    """For ``uvicorn --factory standins.case_system:app_from_env``: token from
    ``CASEWORK_STANDIN_TOKEN`` (default ``standin-token``), cases kept in the SQLite file
    ``CASEWORK_STANDIN_DB`` (default: in memory, seeded with the sample cases)."""
    import os

    return create_app(os.environ.get("CASEWORK_STANDIN_DB") or None,
                      os.environ.get("CASEWORK_STANDIN_TOKEN") or "standin-token")
