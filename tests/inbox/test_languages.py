"""Every inbox page in Danish, Norwegian (bokmål) and English: no untranslated key, no field
name or slug, and no English word on a Danish or Norwegian page (a word list), for the task
pages of the four robots' real result models among them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser

import pytest
from inbox_helpers import login, make_task
from sqlalchemy import update

from casework.case import Evidence, EvidenceDocument
from casework.db.models import SignoffTask
from casework.db.session import transaction
from casework.inbox import forms, i18n
from casework.inbox.i18n_nb import NB
from casework.inbox.present import Present
from flows.building_check import BuildingCheck, BuildingConflict, RegisteredBuilding
from flows.building_requirements import RequirementCheck
from flows.building_screening import DraftLetter, Screening
from flows.intake import GatheredData, Identification, PropertyFacts
from flows.journal_placement import Alternative, JournalSuggestion
from flows.routing import Alternative as RouteAlternative
from flows.routing import RoutingSuggestion

#: Words that are English and not Danish or Norwegian (so none of them may show on a da/nb page).
ENGLISH = {"the", "of", "and", "is", "are", "with", "from", "this", "that", "policy", "signoff",
           "missing", "present", "unsure", "decision", "decided", "approved", "rejected",
           "amended", "confidence", "step", "flow", "none", "true", "false", "null", "suggest",
           "read", "letter", "case", "please", "task", "tasks", "queue", "reason", "why",
           "department", "autonomous", "completed", "mode", "suggestion", "found", "number",
           "sign-off", "robot's", "citizen", "approve", "reject", "amend", "save", "search"}
#: Danish words with a different Norwegian spelling (none may show on a Norwegian page).
DANISH_ONLY = {"godkend", "afdeling", "sagen", "sagsnummer", "begrundelse", "oplysninger",
               "opgave", "opgaver", "borgeren", "medarbejder", "afvis", "gem", "søg", "vælg"}
SLUG = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|\b(?:teknik-miljo|sundhed-aeldre|born-unge)\b")
KEYS = set(i18n.TEXTS) | set(i18n.TASK_TEXTS)

REASONS = {"journal": ["signoff_when: confidence < 0.8", "signoff_when: case.sensitive"],
           "routing": ["signoff_when: confidence < 0.8"],
           "intake": ["signoff_when: result.method == 'none'",
                      "signoff_when: result.protected_address", "policy mode is signoff"],
           "screening": ["signoff_when: not result.type_certain", "signoff_when: result.unsure",
                         "flow stopped by an automation admin: vedligehold"],
           "building": ["signoff_when: result.conflicts",
                        "signoff_when: result.building_registry in ['no_address', "
                        "'address_not_found', 'address_ambiguous']"]}
EVIDENCE = Evidence(case_number="SAG-2026-0007", documents=[EvidenceDocument(
    title="Carport", text="Carport 30 m2, Vestergade 3.", sender="Jens Hansen <jens@example.dk>",
    received=datetime(2026, 3, 2, 9, 30, tzinfo=UTC), attachments=["tegning.pdf"])],
    facts={"identified_by": "cpr", "citizen_known": True, "protected_address": False,
           "open_cases": 1, "documents": 3, "kle": "02.34.02",
           "building_registry": "checked", "property_address": "Vestergade 3, 8600 Silkeborg",
           "registered_buildings": "Kontor, handel, lager, 860 m², 1991"})


def robot_results() -> dict[str, tuple[str, str, str, object]]:
    """(flow, step, reasons key, result) for each sign-off step of the four robots."""
    check = RequirementCheck(key="floor_plan", title="Plantegning", status="missing", source="BR18")
    return {
        "journal": ("journal_placement", "suggest_journal", "journal", JournalSuggestion(
            kle="02.34.02", title="Byggetilladelse", confidence=0.41, why=["carport"],
            alternatives=[Alternative(code="02.34.30", title="Nedrivning af bebyggelse",
                                      score=0.2)])),
        "routing": ("routing", "suggest_department", "routing", RoutingSuggestion(
            department="byggeri", confidence=0.52, why=["carport"], model="tfidf, 180 texts",
            alternatives=[RouteAlternative(department="teknik-miljo", score=0.3)])),
        "identify": ("intake", "identify_citizen", "intake", Identification(
            method="none", confidence=0.0, why=["no case number, no known CPR number"])),
        "gather": ("intake", "gather_registry_data", "intake", GatheredData(
            person_found=True, protected_address=False, other_open_cases=["SAG-1: Carport"],
            properties=[PropertyFacts(bfe_number=1, address="Vestergade 3",
                                      land_register_number="1a", plot_area_m2=700,
                                      built_area_m2=120, zoning_plan=None, building_year=1970,
                                      use="120 Fritliggende enfamiliehus")],
            note="Opslag ved modtagelse af brev")),
        "screen": ("building_screening", "screen_application", "screening", Screening(
            reference="r1", application_type="carport", application_title="Carport",
            type_certain=False, present=[], missing=[check], unsure=[], complete=False,
            confidence=0.5, why=["Plantegning: missing"], sources=["BR18"],
            requirements_version="1")),
        "building": ("building_screening", "check_building", "building", BuildingCheck(
            building_registry="checked", property_address="Vestergade 3, 8600 Silkeborg",
            registered_buildings=[RegisteredBuilding(
                title="Kontor, handel, lager, 860 m², 1991", use_code="320",
                use_text="Kontor, handel, lager", area_m2=860, year_built=1991)],
            conflicts=[BuildingConflict(rule="no_dwelling", applied_for="carport",
                                        registered=["Kontor, handel, lager"],
                                        title="Ansøgningen gælder en carport til en bolig")])),
        "draft": ("building_screening", "draft_request_letter", "screening", DraftLetter(
            subject="Manglende dokumenter", text="Kære ansøger\n\nVi mangler en plantegning.",
            missing=["Plantegning"], reply_by=date(2026, 5, 1), reference="r1")),
    }


class _Text(HTMLParser):
    """The text a reader sees: no scripts, styles or attribute values."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style") or dict(attrs).get("lang") == "en":
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "option") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html.split("<main", 1)[1] if "<main" in html else html)
    return " ".join(parser.parts)


def problems(html: str, lang: str) -> list[str]:
    text = visible_text(html)
    words = {w.lower() for w in re.findall(r"[A-Za-zÆØÅæøå'-]+", text)}
    found = [f"untranslated key {k!r}" for k in re.findall(r"\b[a-z][a-z0-9_]+\b", text)
             if k in KEYS and "_" in k]
    found += [f"slug or field name {s!r}" for s in SLUG.findall(text)]
    if lang in ("da", "nb"):
        found += [f"English word {w!r}" for w in sorted(words & ENGLISH)]
    if lang == "nb":
        found += [f"Danish word {w!r}" for w in sorted(words & DANISH_ONLY)]
    return found


@pytest.fixture
def tasks(engine) -> dict[str, str]:
    made = {}
    for name, (flow, step, reasons, result) in robot_results().items():
        task_id = make_task(engine, flow=flow, step=step, suggestion=result,
                            summary="Carport", department="byggeri")
        with transaction(engine) as s:
            task = s.get(SignoffTask, task_id)
            payload = {**task.payload, "signoff_reasons": REASONS[reasons],
                       "evidence": EVIDENCE.model_dump(mode="json")}
            s.execute(update(SignoffTask).where(SignoffTask.id == task_id)
                      .values(payload=payload))
        made[name] = task_id
    return made


@pytest.mark.parametrize("lang", ["da", "nb", "en"])
def test_every_page_in_every_language(app, tasks, lang):
    def as_(user: str):
        client = login(app, user)
        # The user's own setting wins over Accept-Language; set it through the page.
        page = client.get("/queue").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        client.post("/language", data={"language": lang, "csrf": csrf})
        return client

    anna, lise, mette, admin = as_("anna.byg"), as_("lise.leder"), as_("mette.chef"), \
        as_("admin")
    pages = {"/queue": anna, "/history": anna, "/oversight": lise, "/reports": mette,
             "/reports/download?from=2026-12-31&to=2026-01-01&department=byggeri": mette,
             "/admin/flows": admin, "/tasks/does-not-exist": anna}
    for task_id in tasks.values():
        pages[f"/tasks/{task_id}"] = anna
        pages[f"/tasks/{task_id}?kle_q=carport"] = anna
    pages[f"/tasks/{tasks['journal']}/explanation"] = anna
    found = {}
    for path, client in pages.items():
        response = client.get(path)
        assert f'<html lang="{lang}">' in response.text, path
        html = response.text
        if problems(html, lang):
            found[path] = problems(html, lang)
    assert found == {}


def test_the_word_list_catches_what_it_should():
    page = "<main><p>policy mode is signoff</p><p>Plantegning: missing</p><p>byggeri_x</p></main>"
    assert len(problems(page, "da")) >= 4
    assert problems("<main><p>Godkend sagen</p></main>", "nb")
    assert problems("<main><p>field_required</p></main>", "en")
    assert not problems("<main><p>Godkjenn saken</p></main>", "nb")


def test_every_text_has_danish_norwegian_and_english():
    assert set(NB) == set(i18n.TEXTS)
    for key in KEYS:
        texts = [i18n.text_of(key, lang) for lang in i18n.LANGUAGES]
        assert all(texts), key
        placeholders = [sorted(re.findall(r"{(\w+)}", t)) for t in texts]
        assert placeholders[0] == placeholders[1] == placeholders[2], key


def test_every_field_of_the_robots_results_has_a_label():
    for name, (flow, step, _reasons, result) in robot_results().items():
        fmt = Present("nb")
        assert fmt.flow(flow) != fmt.t("flow_unnamed"), flow
        assert fmt.step(flow, step) != fmt.t("step_unnamed"), step
        schema = type(result).model_json_schema(mode="validation")
        dumped = result.model_dump(mode="json")
        for field, _kind, _prop in forms.editable(schema, dumped):
            assert i18n.has(f"fact_{field}"), (name, field)
        for field in dumped:
            if field not in forms.NOT_DESCRIBED:
                assert i18n.has(f"fact_{field}"), (name, field)
    for key in EVIDENCE.facts:
        assert i18n.has(f"fact_{key}"), key
