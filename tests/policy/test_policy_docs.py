"""The legal-content document: both languages, both formats, and nothing a policy says can
inject markup."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from policy_helpers import WritePolicy
from sqlalchemy import Engine
from typer.testing import CliRunner

from casework.policy import load_policy
from casework.policy.activation import activate
from casework.policy.cli import register
from casework.policy.docs import DocumentedPolicy, markdown_escape, render_docs

HOSTILE = """\
flow: journal_placement
description: "<script>alert('x')</script> | **bold**"
ai_act:
  risk: high
  annex_iii_point: 5(a)
  dpia: "DPIA <b>7</b>"
  fria: FRIA-2026-03
steps:
  decide:
    kind: decision
    mode: autonomous
    manual_minutes: 20
    effects: [rejects_application]
    legal_basis: ["Lov om social service § 41 <img src=x onerror=alert(1)>"]
    automation_legal_basis: ["Lov om X § 12"]
    facts_relied_on: [income from eIndkomst]
    discretion: true
    main_considerations: [the child's need for stable care]
    signoff_when: ["case.note == '<i>'"]
    four_eyes: true
"""


def render(path: Path, lang: str, fmt: str) -> str:
    return render_docs([DocumentedPolicy(load_policy(path))], lang=lang, fmt=fmt)  # type: ignore[arg-type]


def test_html_escapes_everything_from_the_policy(write_policy: WritePolicy) -> None:
    html = render(write_policy(HOSTILE), "en", "html")
    assert "<script>" not in html and "<img" not in html and "<b>7" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "Lov om social service § 41 &lt;img src=x onerror=alert(1)&gt;" in html
    assert "<code>case.note == &#39;&lt;i&gt;&#39;</code>" in html
    assert '<html lang="en">' in html


def test_markdown_escapes_markup_and_table_pipes(write_policy: WritePolicy) -> None:
    md = render(write_policy(HOSTILE), "en", "md")
    assert "<script>" not in md and "<img" not in md
    assert "&lt;script>alert('x')&lt;/script> \\| \\*\\*bold\\*\\*" in md
    assert markdown_escape("a|b\nc_d") == "a\\|b c\\_d"
    for line in md.splitlines():
        if line.startswith("| ") and "Basis" in line:
            assert line.count(" | ") == 1  # no cell broke out of its table row


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_both_languages_describe_the_legal_content(write_policy: WritePolicy, fmt: str) -> None:
    path = write_policy(HOSTILE)
    policy_hash = load_policy(path).hash
    en, da = render(path, "en", fmt), render(path, "da", fmt)
    for text in (en, da):
        assert policy_hash in text
        assert "Lov om X § 12" in text
        assert "income from eIndkomst" in text
    assert "The legal content of the automations" in en
    assert "decision (afgørelse)" in en and "runs on its own" in en
    assert "Basis for automated decision" in en and "Annex III point 5(a)" in en
    assert "party hearing before the decision" in en and "within 14 days" in en
    assert "Automatiseringernes retlige indhold" in da
    assert "Hjemmel til automatisk afgørelse" in da and "kører selv" in da
    assert "giver afslag på en ansøgning" in da and "Bilag III, punkt 5(a)" in da
    assert "partshøring før afgørelsen" in da and "svarfrist 14 dage" in da
    assert "Lov om X" not in render_docs([], lang="en", fmt=fmt)  # type: ignore[arg-type]


def test_cli_documents_active_versions_or_given_files(
    db_engine: Engine, write_policy: WritePolicy, tmp_path: Path
) -> None:
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    none = runner.invoke(app, ["policy", "docs"])
    assert none.exit_code == 1
    assert none.output.startswith("error: no active policy versions to document")

    repo = Path(__file__).resolve().parents[2] / "policies"
    write_policy((repo / "journal_placement.scenarios.yaml").read_text(encoding="utf-8"),
                 "journal_placement.scenarios.yaml")
    path = write_policy((repo / "journal_placement.yaml").read_text(encoding="utf-8"))
    assert activate(path, by="anna", engine=db_engine).recorded
    out = tmp_path / "docs.md"
    result = runner.invoke(app, ["policy", "docs", "--lang", "en", "--format", "md", "-o",
                                 str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert load_policy(path).hash in text and "anna" in text
    from_file = runner.invoke(app, ["policy", "docs", str(path), "--format", "html"])
    assert from_file.exit_code == 0 and "ikke sat i kraft" in from_file.output
    bad = runner.invoke(app, ["policy", "docs", str(path), "--lang", "fr"])
    assert bad.exit_code == 1 and bad.output == "error: --lang must be da or en (got 'fr')\n"
