"""The legal vocabulary policy files may use: declared effects, hearing exceptions, AI Act terms.

One place for the codes and their plain-language meaning (Danish and English), so that the
linter, the engine and the rendered documentation always agree. Descriptions are short
summaries for readers of a policy; the statute's own wording governs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Polarity = Literal["none", "informs", "favourable", "adverse"]


class Term(BaseModel):
    """One code with its meaning in Danish and English."""

    model_config = ConfigDict(frozen=True)

    da: str
    en: str


class EffectTerm(Term):
    """A declared external effect; ``polarity`` says what it means for the citizen."""

    polarity: Polarity


EFFECTS: dict[str, EffectTerm] = {
    "collects_data": EffectTerm(
        polarity="none", da="indhenter oplysninger", en="collects information"
    ),
    "suggests": EffectTerm(
        polarity="none", da="foreslår (et menneske beslutter)", en="suggests (a person decides)"
    ),
    "routes_case": EffectTerm(
        polarity="none", da="fordeler sagen til et team", en="routes the case to a team"
    ),
    "journals_document": EffectTerm(
        polarity="none", da="journaliserer et dokument", en="files a document in the journal"
    ),
    "informs_party": EffectTerm(
        polarity="informs", da="orienterer parten (uden at afgøre noget)",
        en="informs the party (deciding nothing)",
    ),
    "requests_information": EffectTerm(
        polarity="informs", da="beder parten om oplysninger", en="asks the party for information"
    ),
    "grants_application": EffectTerm(
        polarity="favourable", da="imødekommer en ansøgning fuldt ud",
        en="grants an application in full",
    ),
    "rejects_application": EffectTerm(
        polarity="adverse", da="giver afslag på en ansøgning", en="rejects an application"
    ),
    "grants_partially": EffectTerm(
        polarity="adverse", da="imødekommer en ansøgning delvist",
        en="grants an application in part",
    ),
    "closes_case": EffectTerm(
        polarity="adverse", da="lukker sagen", en="closes the case"
    ),
    "reduces_benefit": EffectTerm(
        polarity="adverse", da="nedsætter en ydelse", en="reduces a benefit"
    ),
    "stops_benefit": EffectTerm(
        polarity="adverse", da="standser en ydelse", en="stops a benefit"
    ),
    "demands_repayment": EffectTerm(
        polarity="adverse", da="kræver tilbagebetaling", en="demands repayment"
    ),
    "imposes_obligation": EffectTerm(
        polarity="adverse", da="pålægger en pligt", en="imposes an obligation"
    ),
}

# Forvaltningsloven (LBK nr. 433 af 22/04/2014) § 19, stk. 2: when no party hearing is needed.
HEARING_EXCEPTIONS: dict[str, Term] = {
    "fvl19_2_1": Term(
        da="§ 19, stk. 2, nr. 1: ubetænkeligt at afgøre på det foreliggende grundlag, "
        "eller partshøring er åbenbart unødvendig",
        en="§ 19(2)(1): deciding on the facts at hand is unproblematic, "
        "or a hearing is obviously unnecessary",
    ),
    "fvl19_2_2": Term(
        da="§ 19, stk. 2, nr. 2: udsættelsen vil overskride en lovbestemt frist for afgørelsen",
        en="§ 19(2)(2): the delay would exceed a statutory deadline for the decision",
    ),
    "fvl19_2_3": Term(
        da="§ 19, stk. 2, nr. 3: underretning af parten vil forspilde afgørelsens formål",
        en="§ 19(2)(3): telling the party would defeat the purpose of the decision",
    ),
    "fvl19_2_4": Term(
        da="§ 19, stk. 2, nr. 4: partens interesse må vige for afgørende offentlige eller "
        "private interesser (ingen aktindsigt i oplysningerne)",
        en="§ 19(2)(4): the party's interest yields to decisive public or private interests "
        "(no access to the information)",
    ),
    "fvl19_2_5": Term(
        da="§ 19, stk. 2, nr. 5: anden lovgivning har særlige regler om, hvordan parten "
        "gøres bekendt med oplysningerne",
        en="§ 19(2)(5): other legislation has its own rules on how the party is told",
    ),
    "fvl19_2_6": Term(
        da="§ 19, stk. 2, nr. 6: afgørelsen angår et stort antal personer efter "
        "generelle kriterier, hvor høring af hver enkelt ikke er mulig",
        en="§ 19(2)(6): the decision concerns many people under general criteria, "
        "where hearing each one is not possible",
    ),
}

# AI Act Art. 6(3): an Annex III system is not high-risk when it only does one of these.
ART_6_3_CONDITIONS: dict[str, Term] = {
    "a": Term(da="udfører en snæver proceduremæssig opgave",
              en="performs a narrow procedural task"),
    "b": Term(da="forbedrer resultatet af en allerede afsluttet menneskelig aktivitet",
              en="improves the result of a previously completed human activity"),
    "c": Term(da="finder mønstre eller afvigelser uden at erstatte menneskets vurdering",
              en="detects patterns or deviations without replacing the human assessment"),
    "d": Term(da="udfører en forberedende opgave til en vurdering",
              en="performs a preparatory task to an assessment"),
}

ANNEX_III_POINTS: dict[str, Term] = {
    "5(a)": Term(
        da="Bilag III, punkt 5(a): adgang til offentlige ydelser og tjenester",
        en="Annex III point 5(a): access to essential public assistance benefits and services",
    ),
}

RISKS: dict[str, Term] = {
    "minimal": Term(da="minimal risiko (ikke højrisiko)", en="minimal risk (not high-risk)"),
    "high": Term(da="højrisiko", en="high-risk"),
}


def is_adverse(effect: str) -> bool:
    """True when the effect decides against the citizen (unknown codes count as adverse)."""
    term = EFFECTS.get(effect)
    return term is None or term.polarity == "adverse"
