"""Realistic pseudo care notes for FSIII conditions, to calibrate the FSIII confidence.

FSIII suggestions are asked for short home-care and nursing notes ("Borger ... "), not for
the conditions' definitions. A calibration fitted on definitions was far too cautious on
notes, so the FSIII calibration is fitted on notes built from TRAIN conditions: an opening,
observations that name no condition, a fragment of the condition's definition (held out of
its label, so the note says it in other words than the label, as real notes do), often the
words of its title (which the label keeps), sometimes another condition mentioned in passing,
and a closing. The hand-written notes of ``bench/suggest_accuracy.py`` are never used here.
"""

from __future__ import annotations

import random
import re

from casework.suggest.taxonomy import Label, Taxonomy
from casework.suggest.training import definition_holdout

_OPENINGS = ("", "", "Besøg kl. 8.", "Aftenbesøg.", "Dagvagt:", "Sygeplejenotat.",
             "Hjemmeplejen, morgenbesøg.", "Opfølgning efter weekenden.",
             "Telefonopkald fra datter.")
_CONTEXT = (
    "Borger var glad og snakkesalig i dag.", "Borger sad i stolen ved vinduet ved ankomst.",
    "Datter var på besøg.", "Borger bor alene i lejlighed på 2. sal.",
    "Hjemmeplejen kommer tre gange dagligt.", "Borger virkede træt i dag.",
    "Ægtefælle hjælper med det meste.", "Borger er 84 år.", "Aftalt ny tid i næste uge.",
    "Borger siger selv, at det går fint.", "Kontaktperson er orienteret.",
    "Borger er netop udskrevet fra sygehuset.", "Det regnede, så borger var ikke ude.",
    "Borger ønsker at blive boende i eget hjem.", "Der var ryddet pænt op ved ankomst.",
)
_CORE = (
    "Borger har svært ved {a}.", "Borger har brug for hjælp til {a}.",
    "Observeret: {a}.", "Borger giver udtryk for udfordringer med {a}.",
    "Obs. {a}.", "Pårørende fortæller om problemer med {a}.", "Borger klarer ikke selv {a}.",
    "Vurderet behov for støtte ift. {a}.", "Personalet oplever, at borger har det svært med {a}.",
    "Borger fortæller om {a} de sidste par uger.",
)
_TITLE = (
    "Det drejer sig om {t}.", "Problemstilling: {t}.", "Der er fortsat {t}.",
    "Tidligere noteret: {t}.", "Følges: {t}.",
)
_DISTRACTOR = ("Ingen tegn på {d}.", "Tidligere {d}, men det er ikke aktuelt nu.")
_CLOSINGS = ("", "", "Følges op ved næste besøg.", "Sygeplejerske orienteret.",
             "Aftalt at observere.", "Dokumenteret i plan.")

_LEAD = re.compile(r"^(brug for støtte til( at)?|udføre sammensatte handlinger i forbindelse "
                   r"med|specifikke mentale funktioner|overordnede mentale funktioner)\s*",
                   re.IGNORECASE)
_TITLE_LEAD = re.compile(r"^(problemer med|andre problemer med)\s+", re.IGNORECASE)


def definition_fragments(description: str) -> list[str]:
    """Short phrases of a definition (its list items), without the boilerplate lead."""
    text = _LEAD.sub("", re.sub(r"\s*\([^)]*\)", "", description).strip().rstrip("."))
    parts = re.split(r"[,;:]| som f\. ?eks\.| f\. ?eks\.| og/eller | eller ", text)
    frags = [_LEAD.sub("", p.strip()).strip() for p in parts]
    frags = [f for f in frags if 2 <= len(f.split()) <= 8 or (len(f) >= 6 and " " not in f)]
    return frags or [text]


def title_words(label: Label) -> str:
    """The title as a note would say it ("Problemer med hukommelse" → "hukommelse")."""
    return _TITLE_LEAD.sub("", label.title).lower()


def realistic_note(rng: random.Random, label: Label, others: list[Label]) -> str:
    """One care note about ``label`` (see the module docstring for its parts)."""
    context = rng.sample(_CONTEXT, 3)
    parts = [rng.choice(_OPENINGS), *context[:rng.randint(0, 2)]]
    frag = rng.choice(definition_fragments(label.description) if label.description
                      else [title_words(label)])
    parts.append(rng.choice(_CORE).format(a=frag[0].lower() + frag[1:]))
    if rng.random() < 0.6:
        parts.append(rng.choice(_TITLE).format(t=title_words(label)))
    if others and rng.random() < 0.25:
        other = rng.choice(others)
        if other.code != label.code:
            parts.append(rng.choice(_DISTRACTOR).format(d=title_words(other)))
    if rng.random() < 0.4:
        parts.append(context[2])
    parts.append(rng.choice(_CLOSINGS))
    return " ".join(p for p in parts if p)


def note_holdout(taxonomy: Taxonomy, split: str, per_condition: int = 6, seed: int = 0
                 ) -> tuple[Taxonomy, list[dict[str, str]]]:
    """Pseudo care notes of ``split`` conditions, and the taxonomy without their definitions
    (``definition_holdout``): each item has ``code``, ``note`` and ``definition``."""
    variant, defs = definition_holdout(taxonomy, split)
    by_code = {lab.code: lab for lab in taxonomy.labels}
    items = []
    for it in defs:
        rng = random.Random(f"note-{seed}-{it['code']}")
        for _ in range(per_condition):
            items.append({"code": it["code"], "definition": it["q_test"],
                          "note": realistic_note(rng, by_code[it["code"]],
                                                 list(taxonomy.labels))})
    return variant, items
