"""The explanation of a case as a short letter to the citizen: Danish, Norwegian bokmål or
English; plain text, Markdown or HTML.

Simple sentences, one block per step: what the step does, which information it used, what the
robot suggested, who decided, and on which rules. The wording of the statutes governs; these
texts only point to them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from casework.policy.catalogue import EFFECTS
from casework.privacy import mask_cpr

if TYPE_CHECKING:
    from casework.rights.explain import Explanation, Person, StepExplanation

Format = Literal["text", "md", "html"]
ZONES = {"da": ZoneInfo("Europe/Copenhagen"), "nb": ZoneInfo("Europe/Oslo"),
         "en": ZoneInfo("Europe/Copenhagen")}

TEXTS: dict[str, dict[str, str]] = {
    "da": {
        "title": "Sådan er din sag behandlet med automatisering",
        "intro": "Kommunen bruger software-robotter til nogle trin i sagsbehandlingen. Her kan du "
                 "se hvert trin, der er registreret i din sag: hvad trinnet gør, hvilke "
                 "oplysninger det brugte, hvad robotten foreslog, hvem der besluttede, og hvilke "
                 "regler det bygger på.",
        "case": "Sagens reference: {ref}",
        "case_number": "Sagsnummer: {number}",
        "step_plain": "Trin {n} ({when})",
        "this_step": "dette trin",
        "step": "Trin {n}: {name} ({when})",
        "review_step": "Trin {n}: En medarbejder gennemgår trinnet «{name}» igen ({when})",
        "what": "Hvad trinnet gør: {text}",
        "effects": "Trinnet {text}.",
        "preparatory": "Det er forberedende arbejde. Her træffes ingen afgørelse om dig.",
        "decision_kind": "Det er en afgørelse.",
        "data": "Oplysninger, trinnet bygger på: {text}.",
        "considerations": "Hovedhensyn i vurderingen: {text}.",
        "suggested": "Robotten foreslog: {text}.",
        "not_stored": "Robotten brugte sit resultat direkte. Sagens historik gemmer, hvilket trin "
                      "der kørte og efter hvilke regler, men ikke selve resultatet.",
        "erased": "Detaljerne om forslaget og beslutningen er slettet, fordi opbevaringsperioden "
                  "er udløbet.",
        "auto": "Hvem besluttede: Ingen person. Reglerne tillod, at robotten gjorde det selv.",
        "manual": "Hvem besluttede: En medarbejder udførte trinnet uden robot.",
        "awaiting": "Hvem besluttede: Ingen endnu. Trinnet venter på en medarbejder.",
        "approved": "Hvem besluttede: {who} godkendte forslaget den {when}.",
        "amended": "Hvem besluttede: {who} rettede forslaget den {when}.",
        "rejected": "Hvem besluttede: {who} afviste forslaget den {when}.",
        "deadline_manual": "Hvem besluttede: Fristen udløb, og en medarbejder behandler trinnet "
                           "uden robot.",
        "review_approved": "Resultat: {who} gennemgik trinnet den {when} og lod resultatet stå.",
        "review_amended": "Resultat: {who} gennemgik trinnet den {when} og ændrede resultatet.",
        "review_rejected": "Resultat: {who} gennemgik trinnet den {when} og underkendte "
                           "resultatet.",
        "review_awaiting": "Du har bedt om, at en medarbejder gennemgår trinnet. Det er en "
                           "person, der ikke har været med til at behandle sagen. Gennemgangen "
                           "er ikke afsluttet endnu.",
        "changed_to": "Rettet til: {text}.",
        "reason": "Begrundelse: {text}",
        "failed": "Trinnet mislykkedes og blev ikke brugt.",
        "legal": "Retsgrundlag: {text}.",
        "automation_basis": "Lovhjemmel til at træffe afgørelsen automatisk: {text}.",
        "no_decision_basis": "Retsgrundlag: Forberedende arbejde, ingen afgørelse.",
        "no_basis_known": "Retsgrundlag: Ikke registreret for denne version af reglerne.",
        "version": "Reglernes version: {hash}",
        "version_missing": "Reglernes version: {hash} (teksten er ikke gemt)",
        "rights_title": "Dine rettigheder",
        "rights": "Du kan bede om, at en medarbejder, som ikke har været med til at behandle din "
                  "sag, gennemgår ethvert automatisk trin (databeskyttelsesforordningen artikel "
                  "22, stk. 3). Henvis til sagens reference. Denne forklaring gives efter "
                  "databeskyttelsesforordningen artikel 15, stk. 1, litra h, og "
                  "AI-forordningen artikel 86.",
        "none_recorded": "Der er ikke registreret nogen trin.",
        "caseworker": "sagsbehandler", "team_lead": "teamleder", "manager": "leder",
        "automation_admin": "automatiseringsadministrator",
    },
    "nb": {
        "title": "Slik er saken din behandlet med automatisering",
        "intro": "Kommunen bruker programvareroboter til noen trinn i saksbehandlingen. Her kan du "
                 "se hvert trinn som er registrert i saken din: hva trinnet gjør, hvilke "
                 "opplysninger det brukte, hva roboten foreslo, hvem som bestemte, og hvilke "
                 "regler det bygger på.",
        "case": "Sakens referanse: {ref}",
        "case_number": "Saksnummer: {number}",
        "step_plain": "Trinn {n} ({when})",
        "this_step": "dette trinnet",
        "step": "Trinn {n}: {name} ({when})",
        "review_step": "Trinn {n}: En medarbeider går gjennom trinnet «{name}» på nytt ({when})",
        "what": "Hva trinnet gjør: {text}",
        "effects": "Trinnet {text}.",
        "preparatory": "Dette er forberedende arbeid. Her blir det ikke truffet noe vedtak om "
                       "deg.",
        "decision_kind": "Dette er et vedtak.",
        "data": "Opplysninger trinnet bygger på: {text}.",
        "considerations": "Hovedhensyn i vurderingen: {text}.",
        "suggested": "Roboten foreslo: {text}.",
        "not_stored": "Roboten brukte resultatet sitt direkte. Sakens historikk lagrer hvilket "
                      "trinn som kjørte og etter hvilke regler, men ikke selve resultatet.",
        "erased": "Detaljene om forslaget og avgjørelsen er slettet fordi "
                  "oppbevaringstiden er ute.",
        "auto": "Hvem bestemte: Ingen person. Reglene tillot at roboten gjorde det selv.",
        "manual": "Hvem bestemte: En medarbeider utførte trinnet uten robot.",
        "awaiting": "Hvem bestemte: Ingen ennå. Trinnet venter på en medarbeider.",
        "approved": "Hvem bestemte: {who} godkjente forslaget {when}.",
        "amended": "Hvem bestemte: {who} endret forslaget {when}.",
        "rejected": "Hvem bestemte: {who} avviste forslaget {when}.",
        "deadline_manual": "Hvem bestemte: Fristen gikk ut, og en medarbeider behandler trinnet "
                           "uten robot.",
        "review_approved": "Resultat: {who} gikk gjennom trinnet {when} og lot resultatet stå.",
        "review_amended": "Resultat: {who} gikk gjennom trinnet {when} og endret resultatet.",
        "review_rejected": "Resultat: {who} gikk gjennom trinnet {when} og satte resultatet til "
                           "side.",
        "review_awaiting": "Du har bedt om at en medarbeider går gjennom trinnet. Det er en "
                           "person som ikke har vært med på å behandle saken. Gjennomgangen er "
                           "ikke ferdig ennå.",
        "changed_to": "Endret til: {text}.",
        "reason": "Begrunnelse: {text}",
        "failed": "Trinnet mislyktes og ble ikke brukt.",
        "legal": "Rettslig grunnlag: {text}.",
        "automation_basis": "Hjemmel for å treffe vedtaket automatisk: {text}.",
        "no_decision_basis": "Rettslig grunnlag: Forberedende arbeid, ikke noe vedtak.",
        "no_basis_known": "Rettslig grunnlag: Ikke registrert for denne versjonen av reglene.",
        "version": "Reglenes versjon: {hash}",
        "version_missing": "Reglenes versjon: {hash} (teksten er ikke lagret)",
        "rights_title": "Dine rettigheter",
        "rights": "Du kan be om at en medarbeider som ikke har vært med på å behandle saken din, "
                  "går gjennom ethvert automatisk trinn (personvernforordningen artikkel 22 nr. "
                  "3). Vis til sakens referanse. Denne forklaringen gis etter "
                  "personvernforordningen artikkel 15 nr. 1 bokstav h, KI-forordningen artikkel "
                  "86 og forvaltningsloven § 12.",
        "none_recorded": "Det er ikke registrert noen trinn.",
        "caseworker": "saksbehandler", "team_lead": "teamleder", "manager": "leder",
        "automation_admin": "automatiseringsansvarlig",
    },
    "en": {
        "title": "How automation was used in your case",
        "intro": "The municipality uses software robots for some steps of its casework. Below is "
                 "every step recorded in your case: what the step does, which information it "
                 "used, what the robot suggested, who decided, and which rules it rests on.",
        "case": "Case reference: {ref}",
        "case_number": "Case number: {number}",
        "step_plain": "Step {n} ({when})",
        "this_step": "this step",
        "step": "Step {n}: {name} ({when})",
        "review_step": "Step {n}: a person reviews the step \u201c{name}\u201d again ({when})",
        "what": "What the step does: {text}",
        "effects": "The step {text}.",
        "preparatory": "This is preparatory work. No decision about you is made here.",
        "decision_kind": "This is a decision.",
        "data": "Information the step relies on: {text}.",
        "considerations": "Main considerations of the assessment: {text}.",
        "suggested": "The robot suggested: {text}.",
        "not_stored": "The robot used its result directly. The case history keeps which step ran "
                      "and under which rules, not the result itself.",
        "erased": "The details of the suggestion and the decision were deleted because the "
                  "retention period ended.",
        "auto": "Who decided: no person. The rules allowed the robot to do this on its own.",
        "manual": "Who decided: a member of staff did this step without the robot.",
        "awaiting": "Who decided: nobody yet. The step is waiting for a member of staff.",
        "approved": "Who decided: {who} approved the suggestion on {when}.",
        "amended": "Who decided: {who} changed the suggestion on {when}.",
        "rejected": "Who decided: {who} rejected the suggestion on {when}.",
        "deadline_manual": "Who decided: the deadline passed, and a member of staff handles the "
                           "step without the robot.",
        "review_approved": "Result: {who} reviewed the step on {when} and kept the result.",
        "review_amended": "Result: {who} reviewed the step on {when} and changed the result.",
        "review_rejected": "Result: {who} reviewed the step on {when} and set the result aside.",
        "review_awaiting": "You asked for a person to review this step. It is someone who did "
                           "not take part in your case. The review is not finished yet.",
        "changed_to": "Changed to: {text}.",
        "reason": "Reason: {text}",
        "failed": "The step failed and its result was not used.",
        "legal": "Legal basis: {text}.",
        "automation_basis": "Law that allows this decision to be automated: {text}.",
        "no_decision_basis": "Legal basis: preparatory work, no decision.",
        "no_basis_known": "Legal basis: not recorded for this version of the rules.",
        "version": "Version of the rules: {hash}",
        "version_missing": "Version of the rules: {hash} (its text is not stored)",
        "rights_title": "Your rights",
        "rights": "You may ask for a person who did not take part in your case to review any "
                  "automated step (GDPR Article 22(3)). Please quote the case reference. This "
                  "explanation is given under GDPR Article 15(1)(h) and Article 86 of the AI "
                  "Act.",
        "none_recorded": "No steps are recorded.",
        "caseworker": "caseworker", "team_lead": "team lead", "manager": "manager",
        "automation_admin": "automation administrator",
    },
}

EFFECTS_NB: dict[str, str] = {
    "collects_data": "henter inn opplysninger", "suggests": "foreslår (et menneske bestemmer)",
    "routes_case": "fordeler saken til et team", "journals_document": "journalfører et dokument",
    "informs_party": "orienterer parten (uten å avgjøre noe)",
    "requests_information": "ber parten om opplysninger",
    "grants_application": "innvilger en søknad fullt ut",
    "rejects_application": "avslår en søknad", "grants_partially": "innvilger en søknad delvis",
    "closes_case": "avslutter saken", "reduces_benefit": "reduserer en ytelse",
    "stops_benefit": "stanser en ytelse", "demands_repayment": "krever tilbakebetaling",
    "imposes_obligation": "pålegger en plikt",
}

_AND = {"da": "og", "nb": "og", "en": "and"}


@dataclass
class _Block:
    heading: str
    lines: list[str] = field(default_factory=list)


Titles = Callable[[str, str], str]
Describe = Callable[[Any], list[tuple[str, str]]]


def render(explanation: Explanation, format: Format = "text", *, titles: Titles | None = None,
           describe: Describe | None = None, case_number: str | None = None) -> str:
    """The letter in the explanation's language, as ``text``, ``md`` or ``html``. With
    ``titles``, a step it has no title for (``""``) is named by its number and time only;
    without, by its identifier in words (the CLI's reader is the automation admin)."""
    lang = explanation.language
    t = TEXTS[lang]
    blocks = [_step_block(n, step, lang, titles, describe)
              for n, step in enumerate(explanation.steps, 1)]
    reference = t["case_number"].format(number=case_number) if case_number \
        else t["case"].format(ref=explanation.case_ref)
    intro = [t["intro"], reference]
    if not blocks:
        intro.append(t["none_recorded"])
    rights = _Block(t["rights_title"], [t["rights"]])
    if format == "html":
        return _html(t["title"], intro, blocks, rights, lang)
    if format == "md":
        return _markdown(t["title"], intro, blocks, rights)
    if format == "text":
        return _text(t["title"], intro, blocks, rights)
    raise ValueError(f"format must be text, md or html, not {format!r}")


def _step_block(n: int, step: StepExplanation, lang: str, titles: Titles | None = None,
                describe: Describe | None = None) -> _Block:
    t = TEXTS[lang]
    name = titles(step.flow, step.step) if titles else step.step.replace("_", " ")
    name = name[:1].upper() + name[1:] if titles else name
    when = _date(step.when, lang)
    if step.review:
        heading = t["review_step"].format(n=n, name=name or t["this_step"], when=when)
    elif name:
        heading = t["step"].format(n=n, name=name, when=when)
    else:
        heading = t["step_plain"].format(n=n, when=when)
    lines: list[str] = []
    if step.description:
        lines.append(t["what"].format(text=step.description))
    if step.effects:
        lines.append(t["effects"].format(text=_join([_effect(e, lang) for e in step.effects],
                                                     lang)))
    lines.append(t["decision_kind" if step.kind == "decision" else "preparatory"])
    if step.data_used and step.data_used != [step.description]:
        lines.append(t["data"].format(text=_join(step.data_used, lang)))
    if step.main_considerations:
        lines.append(t["considerations"].format(text=_join(step.main_considerations, lang)))
    lines.extend(_outcome_lines(step, lang, describe))
    lines.extend(_legal_lines(step, lang))
    key = "version" if step.policy_stored else "version_missing"
    lines.append(t[key].format(hash=step.policy_hash[:12]))
    return _Block(heading, lines)


def _words(raw: Any, fallback: str | None, describe: Describe | None) -> str | None:
    """A result in the reader's words: labelled rows when the caller can name the fields."""
    if describe is not None and raw is not None:
        rows = [f"{label}: {text}" if label else text for label, text in describe(raw) if text]
        if rows:
            return mask_cpr("; ".join(rows))
    return fallback


def _outcome_lines(step: StepExplanation, lang: str, describe: Describe | None = None
                   ) -> list[str]:
    t = TEXTS[lang]
    lines: list[str] = []
    suggested = _words(step.suggested_raw, step.suggested, describe) if step.suggested else None
    if step.erased:
        lines.append(t["erased"])
    elif suggested and not step.review:
        lines.append(t["suggested"].format(text=suggested))
    elif step.mode == "autonomous" and step.outcome != "failed":
        lines.append(t["not_stored"])
    who = _who(step.decided_by, lang)
    when = _date(step.decided_at, lang) if step.decided_at else ""
    if step.outcome == "failed":
        lines.append(t["failed"])
    elif step.review:
        key = f"review_{step.decision}" if step.decision in ("approved", "amended", "rejected") \
            else "review_awaiting"
        lines.append(t[key].format(who=who, when=when))
    elif step.mode == "autonomous":
        lines.append(t["auto"])
    elif step.decision == "manual" or (step.decided_by and step.decided_by.is_system):
        lines.append(t["deadline_manual"])
    elif step.decision in ("approved", "amended", "rejected"):
        lines.append(t[step.decision].format(who=who, when=when))
    elif step.mode == "manual":
        lines.append(t["manual"])
    else:
        lines.append(t["awaiting"])
    if step.decided_value and step.decision == "amended":
        lines.append(t["changed_to"].format(
            text=_words(step.decided_raw, step.decided_value, describe)))
    if step.decision_reason:
        lines.append(t["reason"].format(text=step.decision_reason))
    return lines


def _legal_lines(step: StepExplanation, lang: str) -> list[str]:
    t = TEXTS[lang]
    if step.legal_basis:
        lines = [t["legal"].format(text=_join(step.legal_basis, lang))]
        if step.mode == "autonomous" and step.automation_legal_basis:
            lines.append(t["automation_basis"].format(
                text=_join(step.automation_legal_basis, lang)))
        return lines
    if step.kind != "decision":
        return [t["no_decision_basis"]]
    return [t["no_basis_known"]]


def _who(person: Person | None, lang: str) -> str:
    if person is None:
        return "?"
    role = TEXTS[lang].get(person.role or "", "")
    if not role:
        return person.name
    # "Sagsbehandler Anna Byggesag": the role leads the sentence it starts.
    return f"{role[0].upper()}{role[1:]} {person.name}"


def _effect(code: str, lang: str) -> str:
    if lang == "nb":
        return EFFECTS_NB.get(code, code)
    term = EFFECTS.get(code)
    return getattr(term, lang) if term else code


def _join(items: list[str], lang: str) -> str:
    items = [i.strip().rstrip(".") for i in items if i and i.strip()]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {_AND[lang]} {items[-1]}"


def _date(when: datetime, lang: str) -> str:
    local = when.astimezone(ZONES[lang])
    if lang == "en":
        return f"{local.day} {local:%B %Y}, {local:%H:%M}"
    return f"{local:%d.%m.%Y} kl. {local:%H:%M}"


# -- formats ---------------------------------------------------------------------------------

def _text(title: str, intro: list[str], blocks: list[_Block], rights: _Block) -> str:
    out = [title, "=" * len(title), "", *_para(intro)]
    for block in [*blocks, rights]:
        out += [block.heading, "-" * len(block.heading)]
        out += [f"- {line}" if block is not rights else line for line in block.lines]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _para(lines: list[str]) -> list[str]:
    return [x for line in lines for x in (line, "")]


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-!|])")


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def _markdown(title: str, intro: list[str], blocks: list[_Block], rights: _Block) -> str:
    out = [f"# {_md(title)}", "", *_para([_md(x) for x in intro])]
    for block in blocks:
        out += [f"## {_md(block.heading)}", "", *[f"- {_md(line)}" for line in block.lines], ""]
    out += [f"## {_md(rights.heading)}", "", *_para([_md(x) for x in rights.lines])]
    return "\n".join(out).rstrip() + "\n"


def _html(title: str, intro: list[str], blocks: list[_Block], rights: _Block,
          lang: str) -> str:
    e = html.escape
    out = [f'<article class="explanation" lang="{e(lang)}">', f"<h2>{e(title)}</h2>"]
    out += [f"<p>{e(x)}</p>" for x in intro]
    for block in blocks:
        out.append(f"<section><h3>{e(block.heading)}</h3><ul>")
        out += [f"<li>{e(line)}</li>" for line in block.lines]
        out.append("</ul></section>")
    out.append(f"<section><h3>{e(rights.heading)}</h3>")
    out += [f"<p>{e(x)}</p>" for x in rights.lines]
    out.append("</section></article>")
    return "\n".join(out) + "\n"
