"""Intake: take new letters from the drop folder, find the citizen and their case, look up what
a caseworker would look up (registry, other open cases), and put it all on the case.

Each letter is a work item keyed by its Message-ID. Per letter: ``read_letter`` →
``identify_citizen`` → (act ``open_case`` when the citizen has no open case) →
``gather_registry_data`` → act ``file_letter``; the letter is acknowledged in the mailbox only
after the case system has the letter and the note. Every write carries an idempotency key
derived from the Message-ID, so a crash and a re-run never make two cases, documents or notes.
A connector failure fails that item (tried again later, then handed to a person) and the flow
goes on with the others. Protected addresses and letters that
identify nobody wait for a caseworker (``policies/intake.yaml``).
"""

from __future__ import annotations

import base64
import logging
from contextvars import ContextVar
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from casework.case import Case, Evidence, EvidenceDocument
from casework.items.keys import message_key
from casework.items.processing import ItemsReport
from casework.items.queue import Added, NewItem
from casework.privacy import mask_cpr, pseudonymise
from casework.runtime import CaseworkFlow, Decision, require_signoff
from connectors.case_system import Case as SystemCase
from connectors.case_system import NewCase
from connectors.interfaces import MailSource
from connectors.mailbox import IncomingLetter, parse_letter
from connectors.registry import Person, PropertyRecord
from flows.connections import Systems, connections, registry, using
from flows.letter_text import (
    case_numbers_in,
    cprs_in,
    full_text,
    is_building_matter,
    is_sensitive,
    letter_key,
)
from flows.screening_letter import INTAKE_TITLE_PREFIX
from flows.settings import connector_settings

log = logging.getLogger(__name__)
robot = CaseworkFlow("intake")

EXCERPT_CHARS = 400
ROBOT_AUTHOR = "robot:intake"


# -- results ---------------------------------------------------------------------------------


class LetterReading(BaseModel):
    """What the letter says, with CPR numbers masked."""

    subject: str
    excerpt: str
    attachments: list[str]
    cpr_count: int = Field(ge=0)
    case_numbers: list[str]
    building_matter: bool
    sensitive: bool


class Identification(BaseModel):
    """Who wrote and which open case the letter belongs to. The citizen is named by a keyed
    hash of the CPR number (``citizen_key``), never by the number."""

    method: Literal["case_number", "cpr", "sender_name", "none"]
    case_id: str | None = Field(default=None, description="Open case; None: open a new one.")
    citizen_key: str | None = None
    citizen_known: bool = False
    protected_address: bool = False
    open_cases: int = Field(default=0, ge=0)
    confidence: float = Field(ge=0, le=1)
    why: list[str] = Field(default_factory=list)


class OpenedCase(BaseModel):
    case_id: str
    title: str
    case_type: str


class PropertyFacts(BaseModel):
    bfe_number: int
    address: str
    land_register_number: str
    plot_area_m2: int
    built_area_m2: int
    zoning_plan: str | None
    building_year: int
    use: str


class GatheredData(BaseModel):
    """The look-ups a caseworker makes by hand, as the note the robot files on the case."""

    person_found: bool
    protected_address: bool
    other_open_cases: list[str]
    properties: list[PropertyFacts]
    note: str = Field(description="Journal note text; CPR numbers masked.")


class Filing(BaseModel):
    case_id: str
    document_ids: list[int]
    note_id: int


class IntakeResult(BaseModel):
    """One line per letter for the caller; no personal data (case ref, not id; hashed key)."""

    letter: str = Field(description="Short hash of the Message-ID.")
    status: str
    case_ref: str | None = None
    new_case: bool = False
    acknowledged: bool = False
    signoff_task_id: str | None = None
    error: str | None = None


# -- steps -----------------------------------------------------------------------------------


def reading_of(letter: IncomingLetter) -> LetterReading:
    text = full_text(letter)
    return LetterReading(
        subject=mask_cpr(letter.subject),
        excerpt=mask_cpr(letter.body_text[:EXCERPT_CHARS]),
        attachments=[a.filename for a in letter.attachments],
        cpr_count=len(cprs_in(text)),
        case_numbers=case_numbers_in(text),
        building_matter=is_building_matter(text),
        sensitive=is_sensitive(text),
    )


@robot.step(kind="preparatory")
def read_letter(case: Case, letter: IncomingLetter) -> LetterReading:
    """Open the letter and its attachments; note CPR and case numbers and the kind of matter."""
    return reading_of(letter)


@robot.step(kind="preparatory")
def identify_citizen(case: Case, letter: IncomingLetter, reading: LetterReading,
                     ) -> Identification:
    """Find the citizen (case number, CPR in the letter, or the sender's name on an open case)
    and their open case; check the registry for address protection."""
    systems = connections()
    text = full_text(letter)
    for number in reading.case_numbers:
        found = systems.cases.find_case(number)
        if found is not None and found.status == "open":
            return _identified(systems, "case_number", found.citizen_cpr, found.id, 0.95,
                               [f"case number {number} in the letter"])
    for cpr in cprs_in(text):
        person = registry().find_person(cpr)
        if person is None:
            continue
        open_cases = systems.cases.cases_for_citizen(cpr)
        chosen = _best_case(open_cases, reading)
        why = ["CPR number in the letter, known in the registry",
               f"{len(open_cases)} open case(s) for the citizen"]
        return _identified(systems, "cpr", cpr, chosen.id if chosen else None,
                           0.9 if len(open_cases) <= 1 else 0.7, why, person=person,
                           open_cases=len(open_cases))
    if letter.sender_name:
        wanted = " ".join(letter.sender_name.lower().split())
        matches = [c for c in systems.cases.list_cases(status="open")
                   if c.citizen_name and " ".join(c.citizen_name.lower().split()) == wanted]
        if len({c.citizen_cpr for c in matches}) == 1:
            chosen = _best_case(matches, reading) or matches[0]
            return _identified(systems, "sender_name", chosen.citizen_cpr, chosen.id, 0.5,
                               ["sender's name equals the citizen on an open case"],
                               open_cases=len(matches))
    return Identification(method="none", confidence=0.0,
                          why=["no case number, no known CPR number, sender not matched"])


def _identified(systems: Systems, method: Literal["case_number", "cpr", "sender_name"],
                cpr: str | None, case_id: str | None, confidence: float, why: list[str], *,
                person: Person | None = None, open_cases: int = 1) -> Identification:
    if person is None and cpr:
        person = registry().find_person(cpr)
    return Identification(
        method=method, case_id=case_id, citizen_key=pseudonymise(cpr) if cpr else None,
        citizen_known=person is not None,
        protected_address=bool(person and person.protected_address), open_cases=open_cases,
        confidence=confidence, why=why)


def _best_case(cases: list[SystemCase], reading: LetterReading) -> SystemCase | None:
    """The open case the letter most likely belongs to: a building letter to a building case,
    otherwise the only open case; several candidates and no hint: the newest."""
    if not cases:
        return None
    if reading.building_matter:
        building = [c for c in cases if c.case_type == "building_permit"]
        if building:
            return max(building, key=lambda c: c.updated_at)
    return max(cases, key=lambda c: c.updated_at)


@robot.act(kind="preparatory")
def open_case(case: Case, letter: IncomingLetter, reading: LetterReading,
              identified: Decision[Identification]) -> OpenedCase:
    """Open a new case for a letter that belongs to none (once, whatever happens), after the
    identification was approved or allowed."""
    systems = connections()
    identification = identified.value
    cpr = citizen_cpr(letter, identification)
    person = registry().find_person(cpr) if cpr else None
    case_type = "building_permit" if reading.building_matter else "inquiry"
    new = NewCase(title=f"{INTAKE_TITLE_PREFIX}{reading.subject or '(uden emne)'}"[:300],
                  case_type=case_type, citizen_cpr=cpr,
                  citizen_name=person.name if person else letter.sender_name)
    created = systems.cases.create_case(
        new, idempotency_key=f"intake:{letter_key(letter.message_id)}:case")
    return OpenedCase(case_id=created.id, title=created.title, case_type=created.case_type)


@robot.step(kind="preparatory")
def gather_registry_data(case: Case, letter: IncomingLetter, reading: LetterReading,
                         identification: Identification) -> GatheredData:
    """Look up the citizen, their other open cases and, for building matters, the property."""
    systems = connections()
    cpr = citizen_cpr(letter, identification) or systems.cases.get_case(case.id).citizen_cpr
    person = registry().find_person(cpr) if cpr else None
    others = [c for c in (systems.cases.cases_for_citizen(cpr) if cpr else []) if c.id != case.id]
    properties: list[PropertyRecord] = []
    if reading.building_matter and cpr:
        properties = registry().properties_owned_by(cpr)
        if not properties and person is not None and not person.protected_address:
            properties = registry().properties_at(person.address)
    facts = [PropertyFacts(bfe_number=p.bfe_number, address=p.address,
                           land_register_number=p.land_register_number,
                           plot_area_m2=p.plot_area_m2, built_area_m2=p.built_area_m2,
                           zoning_plan=p.zoning_plan, building_year=p.building_year,
                           use=f"{p.use_code} {p.use_text}") for p in properties]
    protected = bool(person and person.protected_address)
    return GatheredData(
        person_found=person is not None, protected_address=protected,
        other_open_cases=[f"{c.id}: {c.title}" for c in others], properties=facts,
        note=mask_cpr(_note(letter, identification, person, others, facts)))


def _note(letter: IncomingLetter, identification: Identification, person: Person | None,
          others: list[SystemCase], properties: list[PropertyFacts]) -> str:
    received = letter.received_at.strftime("%d.%m.%Y %H:%M")
    lines = [f"Opslag ved modtagelse af brev ({received}, brev {letter_key(letter.message_id)})",
             f"Identificeret ved: {_METHOD_DA[identification.method]}"]
    if person is None:
        lines.append("Borger: ikke fundet i CPR-registret")
    elif person.protected_address:
        lines.append(f"Borger: {person.name}. Navne- og adressebeskyttelse: adressen må ikke "
                     "fremgå af breve til andre parter.")
    else:
        lines.append(f"Borger: {person.name}, {person.address}, {person.postcode} {person.city} "
                     f"(kommunekode {person.municipality_code})")
    lines.append("Andre åbne sager: " + ("; ".join(f"{c.id} ({c.title})" for c in others)
                                          if others else "ingen"))
    protected = bool(person and person.protected_address)
    for p in properties:
        # A protected citizen's own property would give the address away: BFE number only.
        where = "adresse udeladt (adressebeskyttelse)" if protected else p.address
        lines.append(f"Ejendom: BFE {p.bfe_number}, {where}, matr. {p.land_register_number}; "
                     f"grund {p.plot_area_m2} m², bebygget {p.built_area_m2} m²; opført "
                     f"{p.building_year}; anvendelse {p.use}; "
                     f"{p.zoning_plan or 'ingen lokalplan'}")
    return "\n".join(lines)


_METHOD_DA = {"case_number": "sagsnummer i brevet", "cpr": "CPR-nummer i brevet",
              "sender_name": "afsenders navn på en åben sag", "none": "ingen"}


@robot.act(kind="preparatory")
def file_letter(case: Case, letter: IncomingLetter, approved: Decision[GatheredData]) -> Filing:
    """Put the letter (as delivered), its attachments and the look-up note on the case, once
    the look-ups were approved or allowed."""
    gathered = approved.value
    systems = connections()
    key = f"intake:{letter_key(letter.message_id)}"
    subject = mask_cpr(letter.subject) or "(uden emne)"
    documents = [systems.cases.add_document(
        case.id, title=f"Brev fra borger: {subject}"[:300], document_type="letter",
        filename=f"brev-{letter_key(letter.message_id)[:12]}.eml", content=letter.raw,
        content_type="message/rfc822", idempotency_key=f"{key}:letter")]
    for index, attachment in enumerate(letter.attachments, start=1):
        documents.append(systems.cases.add_document(
            case.id, title=attachment.filename[:300],
            document_type=_document_type(attachment.filename),
            filename=attachment.filename, content=attachment.data,
            content_type=attachment.content_type, idempotency_key=f"{key}:attachment:{index}"))
    note = systems.cases.create_journal_note(case.id, gathered.note, author=ROBOT_AUTHOR,
                                             idempotency_key=f"{key}:note")
    return Filing(case_id=case.id, document_ids=[d.id for d in documents], note_id=note.id)


_DOCUMENT_TYPES = (("plantegning", "floor_plan"), ("situationsplan", "site_plan"),
                   ("facade", "facade_drawing"), ("snit", "section_drawing"))


def _document_type(filename: str) -> str:
    name = filename.lower()
    return next((kind for word, kind in _DOCUMENT_TYPES if word in name), "attachment")


def citizen_cpr(letter: IncomingLetter, identification: Identification) -> str | None:
    """The CPR number behind ``citizen_key``, found again in the letter (results never carry
    the number itself)."""
    if identification.citizen_key is None:
        return None
    return next((cpr for cpr in cprs_in(full_text(letter))
                 if pseudonymise(cpr) == identification.citizen_key), None)


# -- the flow --------------------------------------------------------------------------------


class MailItem(BaseModel):
    """An intake work item: the letter as delivered (raw MIME, base64), kept in our database."""

    message_id: str
    raw_b64: str
    received_at: datetime

    @classmethod
    def of(cls, letter: IncomingLetter) -> MailItem:
        return cls(message_id=letter.message_id, raw_b64=base64.b64encode(letter.raw).decode(),
                   received_at=letter.received_at)

    def letter(self) -> IncomingLetter:
        return parse_letter(base64.b64decode(self.raw_b64), fallback_time=self.received_at)


_mailbox: ContextVar[MailSource] = ContextVar("intake_mailbox")


def add_letters(letters: list[IncomingLetter]) -> Added:
    """Queue letters (key: Message-ID; a letter collected again adds nothing)."""
    return robot.add_items(NewItem(key=message_key(letter.message_id),
                                   payload=MailItem.of(letter).model_dump(mode="json"))
                           for letter in letters)


@robot.flow(log_prints=False)
def intake(mailbox_path: str | None = None, case_system_url: str | None = None,
           registry_url: str | None = None, limit: int | None = None,
           item_ids: list[str] | None = None) -> ItemsReport:
    """Take in every pending letter of the drop folder, within what the policy allows.

    New letters become work items (the same Message-ID is one item however often it is
    collected); then every new or ready item is processed. Parameters default to
    ``CASEWORK_MAILBOX_PATH``, ``CASEWORK_CASE_SYSTEM_URL`` and ``CASEWORK_REGISTRY_URL``;
    tokens come from the environment only.
    """
    settings = connector_settings()
    mailbox = settings.mail_source_client(mailbox_path)  # CASEWORK_MAIL_SOURCE: drop folder,
    # IMAP or Microsoft Graph; each hands over letters with a Message-ID (the item's key)
    if item_ids is None:
        add_letters(mailbox.fetch_pending(limit))
    with (settings.case_system(case_system_url) as cases,
          settings.registry(registry_url) as registry_client,
          using(Systems(cases=cases, registry=registry_client))):
        token = _mailbox.set(mailbox)
        try:
            report = robot.process(take_in, item_ids=item_ids, limit=limit)
        finally:
            _mailbox.reset(token)
    failed = report.count("failed") + report.count("manual")
    if failed:
        log.warning("intake: %d of %d letters failed and stay in the mailbox", failed,
                    len(report.rows))
    return report


def letter_evidence(letter: IncomingLetter, case_id: str | None = None,
                    identification: Identification | None = None) -> Evidence:
    """The letter as the caseworker reads it on the task (CPR numbers masked; attachments
    are opened from the work item), with what identified the citizen once that is known."""
    sender = " ".join(p for p in (letter.sender_name, f"<{letter.sender}>") if p)
    facts: dict[str, str | int | bool | None] = {}
    if identification is not None:
        facts = {"identified_by": identification.method,
                 "citizen_known": identification.citizen_known,
                 "protected_address": identification.protected_address,
                 "open_cases": identification.open_cases}
    return Evidence(case_number=case_id, facts=facts, documents=[EvidenceDocument(
        title=mask_cpr(letter.subject)[:300] or "–", text=mask_cpr(letter.body_text)[:20_000],
        sender=mask_cpr(sender)[:300], received=letter.received_at,
        attachments=[a.filename for a in letter.attachments])])


def take_in(mail: MailItem) -> IntakeResult:
    """One letter through the steps; acknowledged only when the case system has everything."""
    letter = mail.letter()
    short = letter_key(letter.message_id)[:12]
    letter_case = Case(id=f"letter:{letter.message_id}", summary=mask_cpr(letter.subject),
                       evidence=letter_evidence(letter))
    reading = require_signoff(read_letter(letter_case, letter)).or_stop().value
    facts = letter_case.model_copy(update={"attributes": {
        "sensitive": reading.sensitive, "building_matter": reading.building_matter}})
    identified = require_signoff(identify_citizen(facts, letter, reading)).or_stop()
    identification = identified.value
    case_id = identification.case_id
    new_case = case_id is None
    if case_id is None:
        opened = require_signoff(open_case(letter_case, letter, reading, identified)).or_stop()
        case_id = opened.value.case_id
    case = Case(id=case_id, summary=reading.subject, attributes={
        "sensitive": reading.sensitive, "building_matter": reading.building_matter,
        "protected_address": identification.protected_address},
        evidence=letter_evidence(letter, case_id, identification))
    gathered = require_signoff(gather_registry_data(case, letter, reading,
                                                    identification)).or_stop()
    require_signoff(file_letter(case, letter, gathered)).or_stop()
    _mailbox.get().acknowledge(letter.message_id)
    return IntakeResult(letter=short, status="filed", case_ref=case.ref, new_case=new_case,
                        acknowledged=True)
