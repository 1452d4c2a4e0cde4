"""Render policies as a readable account of each automation's legal content.

Norwegian forvaltningsloven (2025) § 13 asks that the legal content of automated systems be
documented; Danish good administration expects the same. The document says, per flow and
version (policy hash), which steps run on their own, on which legal basis, with which
safeguards, in Danish or English, as HTML (autoescaped) or Markdown (escaped by hand).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from casework.policy.catalogue import (
    ANNEX_III_POINTS,
    ART_6_3_CONDITIONS,
    EFFECTS,
    HEARING_EXCEPTIONS,
    RISKS,
)
from casework.policy.loader import Policy, display_path

Language = Literal["da", "en"]
Format = Literal["html", "md"]
TEMPLATES = Path(__file__).parent / "templates"

LABELS: dict[str, dict[str, str]] = {
    "da": {
        "title": "Automatiseringernes retlige indhold",
        "intro": "Dette dokument beskriver for hver automatisering (flow), hvilke trin der kører "
                 "selv, på hvilket retsgrundlag og med hvilke retssikkerhedsgarantier. Det er "
                 "dannet ud fra politikfilerne; hver version er kendt på sin SHA-256.",
        "version": "Version (SHA-256)", "file": "Fil", "activated": "Sat i kraft",
        "not_activated": "ikke sat i kraft (dokumenteret fra fil)", "by": "af",
        "ai_act": "AI-forordningen", "risk": "Risikoklasse", "annex": "Bilag III",
        "dpia": "Konsekvensanalyse (DPIA)", "fria": "Konsekvensvurdering for grundlæggende "
        "rettigheder (art. 27)", "notes": "Bemærkninger", "not_classified": "ikke klassificeret",
        "runs_alone": "Trin der kan køre selv", "none": "ingen",
        "step": "Trin", "kind": "Art", "mode": "Afvikling", "effects": "Virkning",
        "legal_basis": "Retsgrundlag", "automation_legal_basis": "Hjemmel til automatisk afgørelse",
        "facts": "Faktiske oplysninger der lægges vægt på", "considerations": "Hovedhensyn "
        "(skøn)", "hearing": "Partshøring", "signoff_when": "Kræver godkendelse når",
        "signoff_by": "Godkendes af",
        "four_eyes": "Fire øjne: den der har godkendt eller rettet et tidligere trin i sagen, "
        "må hverken godkende eller rette dette trin",
        "deadline": "Frist for godkendelse (timer)", "art63": "Undtagelse efter art. 6, stk. 3",
        "own_department": "sagens egen afdeling", "yes": "ja", "fail_safe":
        "Kan en betingelse ikke afgøres (manglende oplysning), går sagen til godkendelse.",
        "preparatory": "forberedende (faktisk forvaltningsvirksomhed)",
        "decision": "afgørelse",
        "autonomous": "kører selv", "signoff": "kræver godkendelse", "manual": "manuel",
        "hearing_auto": "automatisk: partshøring før afgørelsen, når der er indhentet "
                        "oplysninger til ugunst for parten fra andre kilder "
                        "(svarfrist {days} dage)",
        "hearing_exempt": "undtaget: {reason}",
    },
    "en": {
        "title": "The legal content of the automations",
        "intro": "For each automation (flow) this document states which steps run on their own, "
                 "on which legal basis and with which safeguards. It is generated from the "
                 "policy files; each version is known by its SHA-256.",
        "version": "Version (SHA-256)", "file": "File", "activated": "In force since",
        "not_activated": "not activated (documented from file)", "by": "by",
        "ai_act": "AI Act", "risk": "Risk class", "annex": "Annex III",
        "dpia": "Data protection impact assessment (DPIA)", "fria": "Fundamental-rights impact "
        "assessment (Art. 27)", "notes": "Notes", "not_classified": "not classified",
        "runs_alone": "Steps that may run on their own", "none": "none",
        "step": "Step", "kind": "Kind", "mode": "Mode", "effects": "Effect",
        "legal_basis": "Legal basis", "automation_legal_basis": "Basis for automated decision",
        "facts": "Facts relied on", "considerations": "Main considerations (discretion)",
        "hearing": "Party hearing", "signoff_when": "Needs sign-off when",
        "signoff_by": "Signed off by",
        "four_eyes": "Four eyes: whoever approved or amended an earlier step of the case may "
        "neither approve nor amend this step",
        "deadline": "Sign-off deadline (hours)", "art63": "Art. 6(3) exemption",
        "own_department": "the case's own department", "yes": "yes", "fail_safe":
        "A condition that cannot be evaluated (missing fact) sends the case to sign-off.",
        "preparatory": "preparatory (no decision)",
        "decision": "decision (afgørelse)",
        "autonomous": "runs on its own", "signoff": "needs sign-off", "manual": "manual",
        "hearing_auto": "automatic: a party hearing before the decision whenever adverse facts "
                        "were gathered from other sources (reply within {days} days)",
        "hearing_exempt": "exempt: {reason}",
    },
}


@dataclass(frozen=True)
class DocumentedPolicy:
    """A policy to document, with its activation when it came from the database."""

    policy: Policy
    activated_by: str | None = None
    activated_at: datetime | None = None




def _number(value: float | None) -> float | int | None:
    """48.0 hours reads as 48."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def markdown_escape(value: Any) -> str:
    """Text safe inside Markdown (tables included): no markup, no raw HTML, one line."""
    text = " ".join(str(value).split())
    # Only what could start HTML or an entity becomes one ("<img", "&lt"); a comparison such
    # as "confidence < 0.55" stays readable in the raw file.
    text = re.sub(r"&(?=[#A-Za-z])", "&amp;", text)
    text = re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text)
    return re.sub(r"([\\`*_{}\[\]|#])", r"\\\1", text)


def _environment(fmt: Format) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default=fmt == "html"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = markdown_escape
    return env


def _step_view(name: str, policy: Policy, lang: Language) -> dict[str, Any]:
    labels = LABELS[lang]
    step = policy.step(name)
    hearing = None
    if step.effective_hearing == "auto":
        hearing = labels["hearing_auto"].format(days=step.hearing_reply_days)
    elif step.effective_hearing == "exempt" and step.hearing_exception:
        meaning = getattr(HEARING_EXCEPTIONS[step.hearing_exception], lang)
        hearing = labels["hearing_exempt"].format(reason=meaning)
    exemption = None
    if step.ai_act_exemption is not None:
        condition = getattr(ART_6_3_CONDITIONS[step.ai_act_exemption.condition], lang)
        exemption = f"({step.ai_act_exemption.condition}) {condition}: " \
                    f"{step.ai_act_exemption.reason}"
    return {
        "name": name,
        "description": step.description,
        "kind": labels[step.kind],
        "mode": labels[step.mode],
        "effects": [getattr(EFFECTS[e], lang) for e in step.effects],
        "legal_basis": step.legal_basis,
        "automation_legal_basis": step.automation_legal_basis,
        "facts": step.facts_relied_on,
        "considerations": step.main_considerations if step.discretion else [],
        "hearing": hearing,
        "signoff_when": step.signoff_when if step.mode == "autonomous" else [],
        "signoff_by": ", ".join(step.signoff_by.roles) + " — " + (
            ", ".join(step.signoff_by.departments) or labels["own_department"]),
        "needs_signoff": step.mode == "signoff" or bool(step.signoff_when),
        "four_eyes": step.four_eyes,
        "deadline": _number(step.deadline_hours),
        "art63": exemption,
    }


def _policy_view(item: DocumentedPolicy, lang: Language) -> dict[str, Any]:
    policy = item.policy
    ai_act = policy.model.ai_act
    ai = None
    if ai_act is not None:
        point = ai_act.annex_iii_point
        ai = {
            "risk": getattr(RISKS[ai_act.risk], lang),
            "annex": (getattr(ANNEX_III_POINTS[point], lang) if point in ANNEX_III_POINTS
                      else point),
            "dpia": ai_act.dpia, "fria": ai_act.fria, "notes": ai_act.notes,
        }
    steps = [_step_view(name, policy, lang) for name in policy.model.steps]
    return {
        "flow": policy.flow,
        "description": policy.model.description,
        "hash": policy.hash,
        "path": display_path(policy.path),
        "activated_by": item.activated_by,
        "activated_at": item.activated_at.strftime("%Y-%m-%d %H:%M UTC")
        if item.activated_at else None,
        "ai_act": ai,
        "runs_alone": [s["name"] for s, name in zip(steps, policy.model.steps, strict=True)
                       if policy.step(name).mode == "autonomous"],
        "steps": steps,
    }


def render_docs(items: list[DocumentedPolicy], *, lang: Language = "da",
                fmt: Format = "html") -> str:
    """The document for ``items`` in ``lang`` as ``fmt`` (``html`` or ``md``)."""
    if lang not in LABELS:
        raise ValueError(f"unknown language {lang!r}: use da or en")
    if fmt not in ("html", "md"):
        raise ValueError(f"unknown format {fmt!r}: use html or md")
    template = _environment(fmt).get_template(f"policy_docs.{fmt}")
    policies = [_policy_view(item, lang) for item in sorted(items, key=lambda i: i.policy.flow)]
    return template.render(t=LABELS[lang], lang=lang, policies=policies)
