"""The evidence panel and the typed amend form: the letter, facts and case number beside the
suggestion; attachments from the work item's raw MIME to those who may see the task; fields
generated from the result model, errors next to the field and nothing she typed lost."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, date, datetime
from email.message import EmailMessage

import pytest
from inbox_helpers import VERSION, csrf_of, login, settings
from pydantic import BaseModel, Field
from sqlalchemy import update

from casework.case import Evidence, EvidenceDocument
from casework.db.models import SignoffTask, WorkItem
from casework.db.session import reading, transaction
from casework.inbox.app import create_app

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class DraftLetter(BaseModel):
    subject: str = Field(max_length=200)
    text: str = Field(min_length=1)
    missing: list[str]
    reply_by: date
    confidence: float = 0.4


class Routed(BaseModel):
    department: str
    confidence: float


def _letter_mime() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jens Hansen <jens@example.dk>"
    msg["Subject"] = "Carport på Vestergade 3"
    msg["Message-ID"] = "<ev-1@example.dk>"
    msg.set_content("Jeg vil bygge en carport på 30 m2.\nMed venlig hilsen Jens")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="tegning.pdf")
    msg.add_attachment(b"PK\x03\x04", maintype="application", subtype="octet-stream",
                       filename="../../etc/skema.docx")
    return msg.as_bytes()


def _attach(engine, task_id: str, evidence: Evidence | None, *, with_item: bool = True,
            suggestion=None) -> None:
    item_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    with transaction(engine) as s:
        if with_item:
            s.add(WorkItem(id=item_id, flow="intake", key=f"k-{item_id}", state="awaiting_signoff",
                           payload={"message_id": "<ev-1@example.dk>",
                                    "raw_b64": base64.b64encode(_letter_mime()).decode(),
                                    "received_at": now.isoformat()},
                           created_at=now, updated_at=now))
        task = s.get(SignoffTask, task_id)
        payload = dict(task.payload or {})
        if evidence is not None:
            payload["evidence"] = evidence.model_dump(mode="json")
        if with_item:
            payload["work_item_id"] = item_id
        if suggestion is not None:
            payload["suggestion"] = suggestion.model_dump(mode="json")
            payload["result_schema"] = type(suggestion).model_json_schema(mode="validation")
            payload["confidence"] = suggestion.confidence
        s.execute(update(SignoffTask).where(SignoffTask.id == task_id).values(payload=payload))


EVIDENCE = Evidence(
    case_number="SAG-2026-0042",
    documents=[EvidenceDocument(title="Carport på Vestergade 3",
                                text="Jeg vil bygge en carport på 30 m2.\nMed venlig hilsen Jens",
                                sender="Jens Hansen <jens@example.dk>",
                                received=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
                                attachments=["tegning.pdf", "skema.docx"])],
    facts={"protected_address": False, "open_cases": 2, "identified_by": "cpr"})


@pytest.fixture
def linked_app(engine):
    s = settings()
    s = s.model_copy(update={"case_url_template": "https://sag.example.dk/sager/{case_number}"})
    return create_app(s, engine=engine)


def test_task_page_shows_the_letter_facts_case_number_and_attachments(engine, linked_app,
                                                                      task_factory):
    task_id = task_factory()
    _attach(engine, task_id, EVIDENCE)
    anna = login(linked_app, "anna.byg")
    page = anna.get(f"/tasks/{task_id}").text
    assert "Jeg vil bygge en carport på 30 m2." in page
    assert "Jens Hansen &lt;jens@example.dk&gt;" in page
    assert 'href="https://sag.example.dk/sager/SAG-2026-0042"' in page
    assert "c_" + task_id[:3] not in page  # no pseudonym in the heading
    # Facts with readable labels and values, no field names.
    assert "Navne- og adressebeskyttelse" in page and "CPR-nummer i brevet" in page
    assert "protected_address" not in page.split("<main", 1)[1]
    # Attachments from the letter's MIME, by number.
    assert f'/tasks/{task_id}/attachments/1" target="_blank" rel="noopener">tegning.pdf' in page
    assert f'/tasks/{task_id}/attachments/2">skema.docx' in page

    pdf = anna.get(f"/tasks/{task_id}/attachments/1")
    assert pdf.status_code == 200 and pdf.content == PDF
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("inline;")
    assert pdf.headers["content-security-policy"].startswith("default-src 'none'")
    assert "script-src" not in pdf.headers["content-security-policy"]
    other = anna.get(f"/tasks/{task_id}/attachments/2")
    assert other.headers["content-disposition"].startswith('attachment; filename="skema.docx"')
    assert other.headers["content-type"] == "application/octet-stream"
    assert anna.get(f"/tasks/{task_id}/attachments/3").status_code == 404

    # Another department's caseworker gets nothing: not the page, not the attachment.
    karl = login(linked_app, "karl.borger")
    assert karl.get(f"/tasks/{task_id}").status_code == 404
    assert karl.get(f"/tasks/{task_id}/attachments/1").status_code == 404


def test_page_in_norwegian_and_english(engine, linked_app, task_factory):
    task_id = task_factory()
    _attach(engine, task_id, EVIDENCE)
    nb = login(linked_app, "bo.byg", **{"Accept-Language": "nb-NO,nb;q=0.9"})
    page = nb.get(f"/tasks/{task_id}").text
    assert '<html lang="nb">' in page
    assert "Det roboten har lest" in page and "Saksnummer" in page and "Adressesperre" in page
    assert "Roboten er usikker" in page or "Kommunens regler" in page
    en = login(linked_app, "bo.byg", **{"Accept-Language": "en"})
    assert "What the robot read" in en.get(f"/tasks/{task_id}").text


def test_no_case_url_template_shows_the_number_without_a_link(engine, app, task_factory):
    task_id = task_factory()
    _attach(engine, task_id, EVIDENCE, with_item=False)
    page = login(app, "anna.byg").get(f"/tasks/{task_id}").text
    assert "<strong>SAG-2026-0042</strong>" in page and "sag.example.dk" not in page
    assert "attachments/1" not in page  # nothing to serve without the work item
    assert "tegning.pdf, skema.docx" in page  # the names are still shown


def test_case_url_template_must_hold_the_placeholder():
    with pytest.raises(ValueError, match="case_number"):
        settings().model_validate({"case_url_template": "https://sag.example.dk/"})
    with pytest.raises(ValueError, match="https"):
        settings().model_validate({"case_url_template": "javascript:{case_number}"})


def _post(client, task_id: str, data: dict[str, str]):
    page = client.get(f"/tasks/{task_id}").text
    return client.post(f"/tasks/{task_id}/decide", data={
        "csrf": csrf_of(page), "version": VERSION.search(page).group(1), **data},
        follow_redirects=False)


def test_typed_form_amends_a_draft_letter_without_json(engine, app, task_factory):
    draft = DraftLetter(subject="Manglende dokumenter", text="Kære Jens\n\nVi mangler en tegning.",
                        missing=["Plantegning"], reply_by=date(2026, 4, 1))
    task_id = task_factory(suggestion=draft)
    _attach(engine, task_id, EVIDENCE, suggestion=draft)
    anna = login(app, "anna.byg")
    page = anna.get(f"/tasks/{task_id}").text
    assert 'name="value_json"' not in page  # raw JSON is for automation admins only
    assert '<textarea id="field-text" name="f.text"' in page
    assert "Kære Jens\n\nVi mangler en tegning.</textarea>" in page  # real line breaks
    assert 'name="f.confidence"' not in page  # the robot's bookkeeping is not amended
    response = _post(anna, task_id, {
        "decision": "amended", "reason": "Tilføjet facadetegning",
        "f.subject": "Manglende dokumenter", "f.text": "Kære Jens\r\n\r\nVi mangler to tegninger.",
        "f.missing": "Plantegning\r\nFacadetegning\r\n", "f.reply_by": "2026-04-15"})
    assert response.status_code == 303, response.text
    with reading(engine) as s:
        task = s.get(SignoffTask, task_id)
    assert task.decision == "amended"
    assert task.decision_value["text"] == "Kære Jens\n\nVi mangler to tegninger."
    assert task.decision_value["missing"] == ["Plantegning", "Facadetegning"]
    assert task.decision_value["reply_by"] == "2026-04-15"
    shown = anna.get(f"/tasks/{task_id}").text
    assert "Facadetegning" in shown.split('id="decided-value"', 1)[1]  # the decided value


def test_invalid_typed_amendment_keeps_her_input_and_reason(engine, app, task_factory):
    draft = DraftLetter(subject="Manglende dokumenter", text="Kære Jens", missing=["Plantegning"],
                        reply_by=date(2026, 4, 1))
    task_id = task_factory(suggestion=draft)
    _attach(engine, task_id, EVIDENCE, suggestion=draft)
    anna = login(app, "anna.byg")
    typed = "Kære Jens\n\nmin nye tekst <b>med</b> linjeskift"
    response = _post(anna, task_id, {
        "decision": "amended", "reason": "Min vigtige begrundelse",
        "f.subject": "x" * 250, "f.text": typed, "f.missing": "Plantegning",
        "f.reply_by": "1. april"})
    assert response.status_code == 400
    page = response.text
    assert "Min vigtige begrundelse</textarea>" in page
    assert "min nye tekst &lt;b&gt;med&lt;/b&gt; linjeskift</textarea>" in page
    assert 'value="1. april"' in page
    assert "Skriv en dato som åååå-mm-dd." in page  # next to the date field
    with reading(engine) as s:
        assert s.get(SignoffTask, task_id).status == "awaiting"
    # The over-long subject is refused by the model's own rule, named by its label.
    response = _post(anna, task_id, {
        "decision": "amended", "reason": "Min vigtige begrundelse", "f.subject": "x" * 250,
        "f.text": typed, "f.missing": "Plantegning", "f.reply_by": "2026-04-02"})
    assert response.status_code == 400
    assert "Feltet »Emne«" in response.text and 'aria-invalid="true"' in response.text
    assert "Min vigtige begrundelse</textarea>" in response.text


def test_department_select_shows_names_and_refuses_unknown(engine, app, task_factory):
    routed = Routed(department="byggeri", confidence=0.42)
    task_id = task_factory(suggestion=routed, flow="routing", step="suggest_department")
    _attach(engine, task_id, None, with_item=False, suggestion=routed)
    anna = login(app, "anna.byg")
    page = anna.get(f"/tasks/{task_id}").text
    assert '<option value="teknik-miljo" >Teknik og Miljø</option>' in page
    assert "Fordelingsrobotten: foreslå afdeling" in page
    assert "42\u00a0% (lav)" in page
    bad = _post(anna, task_id, {"decision": "amended", "reason": "r", "f.department": "nope"})
    assert bad.status_code == 400 and "Vælg en af mulighederne." in bad.text
    ok = _post(anna, task_id, {"decision": "amended", "reason": "Skole", "f.department": "skole",
                               "then": "next"})
    assert ok.status_code == 303 and ok.headers["location"].startswith("/queue")
    with reading(engine) as s:
        assert s.get(SignoffTask, task_id).decision_value["department"] == "skole"


def test_approve_and_next_opens_the_next_task(app, task_factory):
    first = task_factory(deadline_hours=1)
    second = task_factory(deadline_hours=5)
    anna = login(app, "anna.byg")
    response = _post(anna, first, {"decision": "approved", "then": "next"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/tasks/{second}?decided={first}"
