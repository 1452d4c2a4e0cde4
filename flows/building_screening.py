"""Building-application screening: is everything there that the application type requires?

For each building-application case in the case system the robot reads the documents, works out
what each one is, compares that with the required list for the application type
(``flows/data/building_requirements.yaml``) and then either

* files a screening note on the case when nothing is missing, or
* drafts a letter asking the applicant for what is missing. The draft always waits for a
  caseworker (``policies/building_screening.yaml``); only an approved or amended draft is
  stored, as a ``draft_letter`` document with the caseworker's text. Nothing is ever sent.

Before either, the robot looks the property up in the building register (BBR, through DAR for
the address; ``flows/building_check.py``) and compares the application with the registered
buildings: a contradiction, or an address the register cannot find, waits for a caseworker.
Without BBR configured the check is skipped and the task says so.

Asking for missing documents is procedural (it decides nothing about the application), so
every step is preparatory. Each case, in the state of its documents, is a work item (key:
case id and the documents' digests): a re-run over the same set is the same item and runs
nothing again; new documents make a new item. Filing happens in act steps that take the
approved or allowed work, with idempotency keys derived from the case and its documents.
"""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from datetime import date

from pydantic import BaseModel, Field

from casework.case import Case, Evidence, EvidenceDocument
from casework.departments import display_name
from casework.items.keys import case_key
from casework.items.processing import ItemsReport
from casework.items.queue import Added, NewItem
from casework.ledger import Outcome
from casework.privacy import mask_cpr, pseudonymise
from casework.runtime import CaseworkFlow, Decision, require_signoff
from connectors.case_system import CaseSystemClient
from connectors.dar import in_postcodes
from flows.building_check import (
    BuildingCheck,
    RegisteredBuilding,
    Status,
    conflicts,
    property_addresses,
    registered,
)
from flows.building_requirements import (
    CaseDocument,
    RequirementCheck,
    check_documents,
    document_set_key,
    find_application_type,
    load_requirements,
)
from flows.case_system_settings import (
    CaseSystemConfigError,
    CaseSystemConnection,
    case_system_connection,
)
from flows.screening_letter import complete_note, reply_deadline, request_letter, with_notice
from flows.settings import connector_settings

log = logging.getLogger(__name__)
robot = CaseworkFlow("building_screening")

OWN_DOCUMENT_TYPES = frozenset({"draft_letter"})  # what this robot files is not screened
TEXT_LIMIT = 5000  # characters of a text document the screening reads
_REFERENCE = re.compile(r"byggescreening-([0-9a-f]{16})")
_KLE_SUBJECT = re.compile(r"^\d{2}\.\d{2}\.\d{2}")
# BBR livscyklus codes of buildings that are not there: historisk, fejlregistreret, henlagt.
GONE_BUILDING_STATUSES = frozenset({"10", "11", "14"})


class ApplicationFile(BaseModel):
    """The case as the screening sees it: title, documents, and what earlier runs filed."""

    title: str = Field(description="Case title, CPR masked.")
    department: str | None
    kle: str | None
    documents: list[CaseDocument]
    filed_references: list[str] = Field(
        default_factory=list, description="Screening references already on the case.")


class Screening(BaseModel):
    """The screening result a caseworker may check: present / missing / unsure, with evidence."""

    reference: str
    application_type: str | None
    application_title: str | None
    type_certain: bool
    present: list[RequirementCheck]
    missing: list[RequirementCheck]
    unsure: list[RequirementCheck]
    complete: bool
    confidence: float = Field(ge=0, le=1)
    why: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    requirements_version: str


class DraftLetter(BaseModel):
    """A letter for the caseworker to approve or amend; ``text`` is what would be stored."""

    subject: str
    text: str = Field(min_length=1)
    missing: list[str]
    reply_by: date
    reference: str
    why: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)


class Filed(BaseModel):
    """What the case system holds after a filing step."""

    what: str
    document_id: int | None = None
    note_id: int | None = None
    reference: str


class BuildingLookup(BaseModel):
    """The property as the building register knows it (or why it could not be looked up)."""

    building_registry: Status
    property_address: str | None = Field(default=None, description="As DAR writes it, when "
                                         "found; else as the case gives it.")
    buildings: list[RegisteredBuilding] = Field(default_factory=list)


class ScreeningRunResult(BaseModel):
    """One line per case for the caller. ``status``: ``note_filed``, ``draft_letter_filed``,
    ``already_filed``, ``type_unknown``, or the outcome that stopped the case
    (``awaiting_signoff``, ``rejected``, ``manual``)."""

    case_ref: str
    status: str
    application_type: str | None = None
    missing: list[str] = Field(default_factory=list)
    signoff_task_id: str | None = None


# -- steps -------------------------------------------------------------------------------------


def _document_text(client: CaseSystemClient, case_id: str, doc_id: int,
                   content_type: str) -> str | None:
    if not content_type.startswith("text/"):
        return None  # drawings and PDFs are recognised by type and name only
    raw = client.document_content(case_id, doc_id)[: TEXT_LIMIT * 4]
    return mask_cpr(raw.decode("utf-8", errors="replace"))[:TEXT_LIMIT]


@robot.step(kind="preparatory")
def read_application(case: Case, connection: CaseSystemConnection) -> ApplicationFile:
    """Fetch the case, its documents (text ones read) and the references of earlier filings."""
    with connection.client() as client:
        found = client.get_case(case.id)
        documents, references = [], set()
        for doc in client.list_documents(case.id):
            if doc.document_type in OWN_DOCUMENT_TYPES:
                references.update(_REFERENCE.findall(doc.filename))
                continue
            documents.append(CaseDocument(
                id=doc.id, title=mask_cpr(doc.title), filename=mask_cpr(doc.filename),
                document_type=doc.document_type, sha256=doc.sha256,
                text=_document_text(client, case.id, doc.id, doc.content_type)))
        for note in client.list_journal_notes(case.id):
            references.update(_REFERENCE.findall(note.text))
    kle = _KLE_SUBJECT.match(found.kle or "")
    return ApplicationFile(title=mask_cpr(found.title), department=found.department,
                           kle=kle.group(0) if kle else None, documents=documents,
                           filed_references=sorted(references))


def application_texts(application: ApplicationFile) -> list[str]:
    """The case title and the application's own texts: what says what is applied for."""
    return [application.title] + [d.text or "" for d in application.documents
                                  if d.document_type in ("application", "building_application")
                                  or "ansøgning" in d.title.lower()]


@robot.step(kind="preparatory")
def screen_application(case: Case, application: ApplicationFile) -> Screening:
    """Find the application type and check each required document: present, missing, unsure."""
    requirements = load_requirements()
    texts = application_texts(application)
    found = find_application_type(requirements, texts)
    kind = found.application_type
    checks = check_documents(requirements, kind, application.documents) if kind else []
    by_status = {s: [c for c in checks if c.status == s] for s in ("present", "missing", "unsure")}
    share_sure = 1 - len(by_status["unsure"]) / len(checks) if checks else 0.0
    why = [f"ansøgningstype: {e}" for e in found.evidence] + [
        f"{c.title}: {c.status}" + (f" ({c.evidence[0].detail}, dokument "
                                    f"{c.evidence[0].document_title!r})" if c.evidence else "")
        for c in checks]
    return Screening(
        reference=document_set_key(case.id, application.documents, requirements, kind),
        application_type=kind,
        application_title=requirements.application_types[kind].title if kind else None,
        type_certain=found.certain, present=by_status["present"], missing=by_status["missing"],
        unsure=by_status["unsure"],
        complete=bool(kind) and found.certain and not by_status["missing"]
        and not by_status["unsure"],
        confidence=round(share_sure * (1.0 if found.certain else 0.5), 3),
        why=why, sources=sorted({requirements.source_title(c.source) for c in checks}),
        requirements_version=requirements.version,
    )


@robot.step(kind="preparatory")
def look_up_building(case: Case, application: ApplicationFile) -> BuildingLookup:
    """The property's address (from the case) to a DAR husnummer, and BBR's buildings there.
    Not configured: ``not_configured``; a fault of either register fails the item (retried
    first where the connector may)."""
    settings = connector_settings()
    buildings_client = settings.building_registry()
    if buildings_client is None:
        return BuildingLookup(building_registry="not_configured")
    candidates = property_addresses(application.title, application_texts(application))
    addresses_client = settings.address_registry()
    assert addresses_client is not None  # configured whenever BBR is
    with buildings_client, addresses_client:
        if not candidates:
            return BuildingLookup(building_registry="no_address")
        found, address = [], candidates[0]
        for candidate in candidates:  # the first the address register knows
            found = in_postcodes(addresses_client.find(candidate), settings.postcodes)
            if found:
                address = candidate
                break
        if len(found) != 1:
            return BuildingLookup(building_registry="address_ambiguous" if found
                                  else "address_not_found", property_address=address)
        buildings = buildings_client.buildings_at_address(found[0].id)
    return BuildingLookup(
        building_registry="checked", property_address=found[0].text,
        buildings=[registered(b) for b in buildings
                   if b.status not in GONE_BUILDING_STATUSES])


@robot.step(kind="preparatory")
def check_building(case: Case, application: ApplicationFile, screening: Screening,
                   lookup: BuildingLookup) -> BuildingCheck:
    """Compare what is applied for with the registered buildings (``flows/building_check``)."""
    found = conflicts(screening.application_type, application_texts(application),
                      lookup.buildings) if lookup.building_registry == "checked" else []
    return BuildingCheck(building_registry=lookup.building_registry,
                         property_address=lookup.property_address,
                         registered_buildings=lookup.buildings, conflicts=found)


@robot.step(kind="preparatory")
def draft_request_letter(case: Case, application: ApplicationFile, screening: Screening,
                         reply_days: int) -> DraftLetter:
    """Draft the letter asking the applicant for the missing documents (a draft, never sent)."""
    requirements = load_requirements()
    deadline = reply_deadline(date.today(), reply_days)
    missing = [(c.title, requirements.documents[c.key].asks) for c in screening.missing]
    text = request_letter(
        case_id=case.id, case_title=application.title,
        application_title=screening.application_title or "byggetilladelse",
        missing=missing, deadline=deadline,
        # Signed with the department's name from the directory, never its id ("byggeri").
        sender=display_name(application.department, "da") if application.department
        else "Byggesager")
    return DraftLetter(
        subject=f"Manglende dokumenter til din byggeansøgning (sag {case.id})",
        text=text, missing=[title for title, _ in missing], reply_by=deadline,
        reference=screening.reference, why=screening.why, sources=screening.sources)


@robot.act(kind="preparatory")
def file_draft_letter(case: Case, connection: CaseSystemConnection,
                      decision: Decision[DraftLetter]) -> Filed:
    """Store the approved or amended letter on the case as a ``draft_letter`` document."""
    letter = decision.value
    text = with_notice(letter.text)
    with connection.client() as client:
        doc = client.add_document(
            case.id, title=letter.subject, document_type="draft_letter",
            filename=f"anmodning-om-manglende-dokumenter-byggescreening-{letter.reference}.txt",
            content=text.encode("utf-8"), content_type="text/plain; charset=utf-8",
            idempotency_key=f"building_screening:{case.id}:{letter.reference}:draft_letter")
    return Filed(what="draft_letter", document_id=doc.id, reference=letter.reference)


@robot.act(kind="preparatory")
def file_screening_note(case: Case, connection: CaseSystemConnection,
                        decision: Decision[Screening]) -> Filed:
    """Record on the case that the application has every required document."""
    screening = decision.value
    text = complete_note(
        application_title=screening.application_title or "byggeansøgning",
        present=[(c.title, c.evidence[0].detail if c.evidence else "") for c in screening.present],
        unsure_confirmed=[c.title for c in screening.unsure], reference=screening.reference,
        confirmed_by_caseworker=decision.status in (Outcome.APPROVED, Outcome.AMENDED),
        requirements_version=screening.requirements_version)
    with connection.client() as client:
        note = client.create_journal_note(
            case.id, text, author="robot:building_screening",
            idempotency_key=f"building_screening:{case.id}:{screening.reference}:note")
    return Filed(what="note", note_id=note.id, reference=screening.reference)


# -- the flow ----------------------------------------------------------------------------------


class CaseToScreen(BaseModel):
    """A screening work item: one case in the state given by its documents."""

    case_id: str


def application_evidence(case_id: str, application: ApplicationFile) -> Evidence:
    """The application's documents as the caseworker checks them on the task."""
    return Evidence(
        case_number=case_id,
        documents=[EvidenceDocument(title=d.title[:300], text=(d.text or "")[:TEXT_LIMIT],
                                    attachments=[d.filename]) for d in application.documents[:50]],
        facts={"documents": len(application.documents), "kle": application.kle})


def with_building_facts(evidence: Evidence, lookup: BuildingLookup) -> Evidence:
    """The registry facts the building check used, beside the documents on every later task:
    whether BBR was checked, the address and the registered buildings (BBR's use texts)."""
    facts = {**evidence.facts, "building_registry": lookup.building_registry}
    if lookup.property_address:
        facts["property_address"] = lookup.property_address
    if lookup.building_registry == "checked":
        facts["registered_buildings"] = "; ".join(b.title for b in lookup.buildings) or None
    return evidence.model_copy(update={"facts": facts})


_run: ContextVar[tuple[CaseSystemConnection, int, str | None]] = ContextVar("screening_run")


def screen_case(item: CaseToScreen) -> ScreeningRunResult:
    """Screen one case and file the result, within what the policy allows."""
    connection, reply_days, department = _run.get()
    case = Case(id=item.case_id, department=department)
    application = require_signoff(read_application(case, connection)).or_stop().value
    case = case.model_copy(update={
        "summary": application.title, "kle": application.kle,
        "attributes": {"documents": len(application.documents)},
        "evidence": application_evidence(item.case_id, application)})

    screened = require_signoff(screen_application(case, application)).or_stop()
    screening = screened.value
    result = {"application_type": screening.application_type,
              "missing": [c.title for c in screening.missing]}
    if screening.reference in application.filed_references:
        return ScreeningRunResult(case_ref=case.ref, status="already_filed", **result)
    if screening.application_type is None:
        return ScreeningRunResult(case_ref=case.ref, status="type_unknown", **result)

    lookup = require_signoff(look_up_building(case, application)).or_stop().value
    case = case.model_copy(update={"evidence": with_building_facts(
        case.evidence or Evidence(), lookup)})
    require_signoff(check_building(case, application, screening, lookup)).or_stop()

    if screening.missing:
        drafted = require_signoff(draft_request_letter(case, application, screening,
                                                       reply_days)).or_stop()
        require_signoff(file_draft_letter(case, connection, drafted)).or_stop()
        status, task_id = "draft_letter_filed", drafted.signoff_task_id
    else:
        require_signoff(file_screening_note(case, connection, screened)).or_stop()
        status, task_id = "note_filed", screened.signoff_task_id
    return ScreeningRunResult(case_ref=case.ref, status=status, signoff_task_id=task_id,
                              **result)


def add_cases(connection: CaseSystemConnection, case_ids: list[str]) -> Added:
    """Queue cases for screening, each in the state of its documents: a case is screened once
    per set of documents, and again when the applicant sends more."""
    items = []
    with connection.client() as client:
        for case_id in case_ids:
            digests = [d.sha256 for d in client.list_documents(case_id)
                       if d.document_type not in OWN_DOCUMENT_TYPES]
            items.append(NewItem(key=case_key(case_id, documents=digests),
                                 payload={"case_id": case_id}, case_ref=pseudonymise(case_id)))
    return robot.add_items(items)


@robot.flow(log_prints=False)
def building_screening(item_ids: list[str] | None = None, case_type: str = "building_permit",
                       case_system_url: str | None = None, reply_days: int | None = None,
                       department: str | None = None, collect: bool = True) -> ItemsReport:
    """Screen the queued cases; with ``collect`` (default) first queue every open case of
    ``case_type`` whose documents changed since it was last screened.

    ``case_system_url`` overrides ``CASEWORK_CASE_SYSTEM_URL``; the token is read from
    ``CASEWORK_CASE_SYSTEM_TOKEN``. ``reply_days`` defaults to the requirements file's.
    ``department`` is the inbox department for sign-off tasks (default: the policy's).
    """
    connection = case_system_connection(case_system_url)
    if connection is None:
        raise CaseSystemConfigError(
            "building_screening needs the case system: pass case_system_url or set "
            "CASEWORK_CASE_SYSTEM_URL (and CASEWORK_CASE_SYSTEM_TOKEN)")
    requirements = load_requirements()  # a broken requirements file stops the run up front
    _say_if_building_registry_is_off()
    days = reply_days or requirements.reply_days
    if collect and item_ids is None:
        with connection.client() as client:
            case_ids = [c.id for c in client.list_cases(status="open", case_type=case_type)]
        add_cases(connection, case_ids)
    token = _run.set((connection, days, department))
    try:
        with connection.shared():
            return robot.process(screen_case, item_ids=item_ids)
    finally:
        _run.reset(token)


def _say_if_building_registry_is_off() -> None:
    """Once per run, without any case data: the building check is skipped (BBR not set). A
    half-configured BBR or DAR (e.g. BBR by REST only, no DAR URL) fails here, by name, not
    in every item."""
    settings = connector_settings()
    client = settings.building_registry()
    if client is None:
        log.warning("building_screening: the building registry (BBR) is not configured "
                    "(CASEWORK_BBR_GRAPHQL_URL / CASEWORK_BBR_REST_URL): the building check is "
                    "skipped and each task says so")
        return
    with client:
        addresses = settings.address_registry()
        if addresses is not None:
            addresses.close()
