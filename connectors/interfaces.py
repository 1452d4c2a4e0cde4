"""One small interface per kind of outside system, so a flow does not change when a
municipality switches system: the stand-in clients are one implementation each, the real
connectors (IMAP, Microsoft Graph, SBSYS, SF1520, BBR) another.

Structural (``typing.Protocol``): an implementation needs the methods, not a base class.
``runtime_checkable`` lets tests assert that every implementation fits.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from connectors.bbr import Building
from connectors.case_system import Case, Document, JournalNote, NewCase
from connectors.mailbox import IncomingLetter
from connectors.registry import Person


@runtime_checkable
class MailSource(Protocol):
    """Citizen letters in two phases: read without changing anything, then acknowledge.

    ``fetch_pending`` yields one letter per stable Message-ID, with the raw MIME in
    ``letter.raw``; ``acknowledge`` is called only after the case system has the letter and
    moves it out of the way (drop folder: ``cur/``/``processed/``; IMAP and Graph: the
    ``Behandlet`` folder). Acknowledging twice is harmless.
    """

    def fetch_pending(self, limit: int | None = None) -> list[IncomingLetter]: ...

    def acknowledge(self, message_id: str) -> None: ...


@runtime_checkable
class CaseSystem(Protocol):
    """Cases, documents and journal notes in the municipality's case system (ESDH).

    Creating calls take an ``idempotency_key`` derived from the work item, so a retry after
    a crash finds the first result instead of making a copy.
    """

    def get_case(self, case_id: str) -> Case: ...

    def find_case(self, case_id: str) -> Case | None: ...

    def list_cases(self, *, status: str | None = None, case_type: str | None = None,
                   department: str | None = None) -> list[Case]: ...

    def cases_for_citizen(self, cpr: str, *, status: str | None = "open") -> list[Case]: ...

    def create_case(self, new: NewCase, *, idempotency_key: str | None = None) -> Case: ...

    def set_journal_number(self, case_id: str, kle: str) -> Case: ...

    def set_department(self, case_id: str, department: str, team: str | None = None,
                       ) -> Case: ...

    def list_documents(self, case_id: str, *, document_type: str | None = None,
                       ) -> list[Document]: ...

    def get_document(self, case_id: str, document_id: int) -> Document: ...

    def document_content(self, case_id: str, document_id: int) -> bytes: ...

    def add_document(self, case_id: str, *, title: str, document_type: str, filename: str,
                     content: bytes, content_type: str = "application/octet-stream",
                     idempotency_key: str | None = None) -> Document: ...

    def list_journal_notes(self, case_id: str) -> list[JournalNote]: ...

    def create_journal_note(self, case_id: str, text: str, *, author: str = "robot",
                            idempotency_key: str | None = None) -> JournalNote: ...


@runtime_checkable
class PersonRegistry(Protocol):
    """The CPR register: who the citizen is, where they live, and whether the address is
    protected (``Person.protected_address`` → the case's ``sensitive`` attribute)."""

    def person(self, cpr: str) -> Person: ...

    def find_person(self, cpr: str) -> Person | None: ...


@runtime_checkable
class BuildingRegistry(Protocol):
    """BBR: the buildings at an address (DAR husnummer id) with use, area, year and units."""

    def buildings_at_address(self, address_id: str) -> list[Building]: ...
