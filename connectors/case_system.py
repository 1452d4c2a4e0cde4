"""Client for the municipal case system's REST API (ESDH): cases, documents, journal notes,
journal numbers and placement.

Every creating call sends an ``Idempotency-Key``. Pass your own, derived from the work item
(e.g. ``f"intake:{message_id}:note"``), so that a retry after a crash, not only after a lost
answer, finds the first result instead of making a copy.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from connectors.http import HttpConnector, NotFoundError, RetryPolicy, new_idempotency_key

KLE_JOURNAL_NUMBER = r"^\d{2}\.\d{2}\.\d{2}(-[A-ZÆØÅ]\d{2})?$"


class _Answer(BaseModel):
    """Shapes read from the system: unknown extra fields are ignored, missing ones are errors."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Case(_Answer):
    id: str
    title: str
    case_type: str
    status: Literal["open", "closed"]
    citizen_cpr: str | None = Field(repr=False)
    citizen_name: str | None = Field(repr=False)
    department: str | None
    team: str | None
    kle: str | None
    created_at: datetime
    updated_at: datetime


class Document(_Answer):
    id: int
    case_id: str
    title: str
    document_type: str
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


class JournalNote(_Answer):
    id: int
    case_id: str
    text: str = Field(repr=False)
    author: str
    created_at: datetime


class NewCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1)
    case_type: str = Field(min_length=1)
    citizen_cpr: str | None = Field(default=None, repr=False)
    citizen_name: str | None = Field(default=None, repr=False)
    department: str | None = None
    team: str | None = None
    kle: str | None = Field(default=None, pattern=KLE_JOURNAL_NUMBER)


def _seg(value: str) -> str:
    """A case id as one URL path segment, whatever characters it holds."""
    return quote(value, safe="")


_cases = TypeAdapter(list[Case])
_documents = TypeAdapter(list[Document])
_notes = TypeAdapter(list[JournalNote])


class CaseSystemClient(HttpConnector):
    """``with CaseSystemClient(url, token) as cases: cases.get_case("SAG-2026-0001")``."""

    system = "case system"

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0,
                 retry: RetryPolicy | None = None) -> None:
        super().__init__(base_url, token=token, timeout=timeout, retry=retry)

    # -- cases -------------------------------------------------------------------------------

    def get_case(self, case_id: str) -> Case:
        """The case; ``NotFoundError`` if the system has none with this id."""
        return self.call("GET", f"/cases/{_seg(case_id)}", Case)

    def find_case(self, case_id: str) -> Case | None:
        try:
            return self.get_case(case_id)
        except NotFoundError:
            return None

    def list_cases(self, *, status: str | None = None, case_type: str | None = None,
                   department: str | None = None) -> list[Case]:
        params = {k: v for k, v in (("status", status), ("case_type", case_type),
                                    ("department", department)) if v is not None}
        return self.call("GET", "/cases", _cases, params=params)

    def cases_for_citizen(self, cpr: str, *, status: str | None = "open") -> list[Case]:
        """The citizen's cases (open ones by default). The CPR travels in the body only."""
        body = {"citizen_cpr": cpr, "status": status}
        return self.call("POST", "/cases/search", _cases, json=body)

    def create_case(self, new: NewCase, *, idempotency_key: str | None = None) -> Case:
        return self.call("POST", "/cases", Case, json=new.model_dump(),
                         idempotency_key=idempotency_key or new_idempotency_key())

    def set_journal_number(self, case_id: str, kle: str) -> Case:
        """Journalise the case under a KLE number such as ``02.34.02`` (facet ``-G01`` allowed)."""
        return self.call("PUT", f"/cases/{_seg(case_id)}/journal-number", Case, json={"kle": kle})

    def set_department(self, case_id: str, department: str, team: str | None = None) -> Case:
        return self.call("PUT", f"/cases/{_seg(case_id)}/placement", Case,
                         json={"department": department, "team": team})

    # -- documents ---------------------------------------------------------------------------

    def list_documents(self, case_id: str, *, document_type: str | None = None,
                       ) -> list[Document]:
        params = {"document_type": document_type} if document_type else None
        return self.call("GET", f"/cases/{_seg(case_id)}/documents", _documents, params=params)

    def get_document(self, case_id: str, document_id: int) -> Document:
        return self.call("GET", f"/cases/{_seg(case_id)}/documents/{document_id}", Document)

    def document_content(self, case_id: str, document_id: int) -> bytes:
        path = f"/cases/{_seg(case_id)}/documents/{document_id}/content"
        return self.request("GET", path).content

    def add_document(self, case_id: str, *, title: str, document_type: str, filename: str,
                     content: bytes, content_type: str = "application/octet-stream",
                     idempotency_key: str | None = None) -> Document:
        """File a document (``letter``, ``floor_plan``, ``site_plan``, ``draft_letter``, ...)."""
        body = {"title": title, "document_type": document_type, "filename": filename,
                "content_type": content_type,
                "content_base64": base64.b64encode(content).decode("ascii")}
        return self.call("POST", f"/cases/{_seg(case_id)}/documents", Document, json=body,
                         idempotency_key=idempotency_key or new_idempotency_key())

    # -- journal notes -----------------------------------------------------------------------

    def list_journal_notes(self, case_id: str) -> list[JournalNote]:
        return self.call("GET", f"/cases/{_seg(case_id)}/notes", _notes)

    def create_journal_note(self, case_id: str, text: str, *, author: str = "robot",
                            idempotency_key: str | None = None) -> JournalNote:
        return self.call("POST", f"/cases/{_seg(case_id)}/notes", JournalNote,
                         json={"text": text, "author": author},
                         idempotency_key=idempotency_key or new_idempotency_key())
