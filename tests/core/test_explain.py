"""The citizen's explanation of a case that went through routing, journal placement and a
signed-off decision, run by the real runtime (real Prefect API, real SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from case_history import CPR, FACT, LEGAL_BASIS, run_case
from typer.testing import CliRunner

from casework.cli import app
from casework.privacy import pseudonymise
from casework.rights.explain import CaseNotFound, explain_case

pytestmark = pytest.mark.usefixtures("prefect_api", "db_engine")
runner = CliRunner()

EXPECTED = {
    "da": ["route case", "suggest journal", "decide permit",
           "Ingen person. Reglerne tillod, at robotten gjorde det selv.",
           "Sagsbehandler Anna Byggesag rettede forslaget",
           "Rettet til: 02.34.24 Carporte og garager.",
           "Begrundelse: Det er en carport, ikke et nyt hus",
           "Teamleder Lise Teamleder godkendte forslaget",
           f"Retsgrundlag: {LEGAL_BASIS}.",
           "Retsgrundlag: Forberedende arbejde, ingen afgørelse.",
           "Det er en afgørelse.", f"Oplysninger, trinnet bygger på: {FACT}",
           "Robotten foreslog: 02.34.02 Byggetilladelse.",
           "Robotten foreslog: outcome: granted; conditions: max 40 m2.",
           "fordeler sagen til et team",
           "artikel 22, stk. 3"],
    "nb": ["Trinn 1: route case", "Ingen person. Reglene tillot at roboten gjorde det selv.",
           "Saksbehandler Anna Byggesag endret forslaget",
           "Teamleder Lise Teamleder godkjente forslaget",
           f"Rettslig grunnlag: {LEGAL_BASIS}.", "Dette er et vedtak.",
           "Rettslig grunnlag: Forberedende arbeid, ikke noe vedtak.",
           "fordeler saken til et team", "forvaltningsloven § 12"],
    "en": ["Step 3: decide permit", "Who decided: no person. The rules allowed the robot",
           "Caseworker Anna Byggesag changed the suggestion",
           "Team lead Lise Teamleder approved the suggestion",
           f"Legal basis: {LEGAL_BASIS}.", "Legal basis: preparatory work, no decision.",
           "The robot suggested: 02.34.02 Byggetilladelse.", "Article 22(3)"],
}


@pytest.mark.parametrize("language", ["da", "nb", "en"])
def test_explanation_names_each_step_who_decided_and_the_legal_basis(
        tmp_path: Path, language: str) -> None:
    case_id = f"SAG-{language}-{CPR}"
    run_case(tmp_path, case_id)
    explanation = explain_case(case_id, language=language)  # type: ignore[arg-type]

    assert [s.step for s in explanation.steps] == ["route_case", "suggest_journal",
                                                   "decide_permit"]
    route, journal, permit = explanation.steps
    assert (route.mode, route.decided_by, route.legal_basis) == ("autonomous", None, [])
    assert (journal.decision, journal.decided_by.name) == ("amended", "Anna Byggesag")
    assert (permit.kind, permit.decision, permit.legal_basis) == ("decision", "approved",
                                                                  [LEGAL_BASIS])
    assert len({s.policy_hash for s in explanation.steps}) == 1
    assert explanation.steps[0].policy_hash[:12] in explanation.text
    for phrase in EXPECTED[language]:
        assert phrase in explanation.text, phrase
    assert CPR not in explanation.text and case_id not in explanation.text
    assert any(e.action == "signoff.amended" and e.actor == "Anna Byggesag"
               for e in explanation.history)


def test_the_pseudonymised_ref_finds_the_same_history(tmp_path: Path) -> None:
    run_case(tmp_path, "SAG-REF-1")
    by_id = explain_case("SAG-REF-1", language="en")
    by_ref = explain_case(pseudonymise("SAG-REF-1"), language="en")
    assert by_id.text == by_ref.text and by_ref.case_ref == pseudonymise("SAG-REF-1")


def test_cli_explains_in_markdown_and_html_and_refuses_unknown_cases(tmp_path: Path) -> None:
    run_case(tmp_path, "SAG-CLI-1")
    md = runner.invoke(app, ["explain", "SAG-CLI-1", "--lang", "nb", "--format", "md"])
    assert md.exit_code == 0, md.output
    assert md.output.startswith("# Slik er saken din behandlet") and "## Trinn 2" in md.output
    page = runner.invoke(app, ["explain", "SAG-CLI-1", "--lang", "en", "--format", "html"])
    assert page.exit_code == 0 and '<article class="explanation" lang="en">' in page.output
    assert "Caseworker Anna Byggesag changed the suggestion" in page.output

    unknown = runner.invoke(app, ["explain", "SAG-NOPE"])
    assert unknown.exit_code == 1 and "no recorded step for case c_" in unknown.output
    assert "SAG-NOPE" not in unknown.output
    bad = runner.invoke(app, ["explain", "SAG-CLI-1", "--lang", "sv"])
    assert bad.exit_code == 2 and "--lang must be one of da, nb, en" in bad.output
    with pytest.raises(CaseNotFound):
        explain_case("SAG-NOPE")
