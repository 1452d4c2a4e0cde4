"""Does the application fit the buildings BBR has registered at the property? A small, explicit
rule set (no I/O here; ``flows/building_screening.py`` looks the buildings up):

* ``no_dwelling`` - a carport, garage, shed or extension belongs to a dwelling, but none of
  the registered buildings is one (e.g. only "Kontor, handel, lager").
* ``nothing_registered`` - an extension of a building BBR does not have at the address.
* ``already_registered`` - a carport/garage/shed where BBR already shows one (a duplicate, or
  an extension of the existing one).
* ``house_type_differs`` - the application names a kind of house (enfamiliehus, sommerhus,
  rækkehus) that no registered dwelling is (e.g. registered as "Etagebolig").

Each contradiction is a reason for a caseworker to look, never a refusal. The Danish sentence
(``title``) goes on the case; the inbox words each rule in the reader's language from ``rule``,
``applied_for``, ``registered``, ``area_m2`` and ``year_built``.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from connectors.bbr import Building
from flows.building_requirements import fold

# BBR anvendelseskoder: dwellings (helårs- and fritidsboliger) and the secondary buildings.
# 131 (række-, kæde- og klyngehus) and 132 (dobbelthus) replace 130, which BBR phases out.
DWELLING_CODES = frozenset({"110", "120", "121", "122", "130", "131", "132", "140", "150", "160",
                            "190", "510"})
SECONDARY_CODES = {"carport": "920", "garage": "910", "udhus": "930"}
# Words in the application -> the secondary building asked for.
SECONDARY_WORDS = (("carport", "carport"), ("garage", "garage"), ("udhus", "udhus"),
                   ("redskabsrum", "udhus"), ("redskabsskur", "udhus"), ("skur", "udhus"))
# A kind of house the application names -> the use codes that are that kind.
HOUSE_TYPES = (("enfamiliehus", frozenset({"120", "121", "122"})),
               ("parcelhus", frozenset({"120", "121", "122"})),
               ("sommerhus", frozenset({"510"})),
               ("rækkehus", frozenset({"130", "131"})),
               ("dobbelthus", frozenset({"130", "132"})))
BELONGS_TO_DWELLING = frozenset({"secondary_building", "extension"})

Rule = Literal["no_dwelling", "nothing_registered", "already_registered", "house_type_differs"]
Status = Literal["checked", "not_configured", "no_address", "address_not_found",
                 "address_ambiguous"]


class RegisteredBuilding(BaseModel):
    """A building as the caseworker reads it: BBR's Danish use text, area and year."""

    title: str = Field(description="e.g. 'Fritliggende enfamiliehus, 142 m², 1978'")
    use_code: str
    use_text: str
    area_m2: int | None = None
    year_built: int | None = None


class BuildingConflict(BaseModel):
    """One contradiction between the application and the register."""

    rule: Rule
    applied_for: str = Field(description="carport, garage, udhus, tilbygning or a house type")
    registered: list[str] = Field(default_factory=list, description="BBR use texts (Danish).")
    area_m2: int | None = None
    year_built: int | None = None
    title: str = Field(description="The contradiction in Danish, for the case.")


class BuildingCheck(BaseModel):
    """What the building registry says about the application's property."""

    building_registry: Status
    property_address: str | None = None
    registered_buildings: list[RegisteredBuilding] = Field(default_factory=list)
    conflicts: list[BuildingConflict] = Field(default_factory=list)


def registered(building: Building) -> RegisteredBuilding:
    use = building.use_text or f"anvendelseskode {building.use_code}"
    parts = [use] + ([f"{building.total_area_m2} m²"] if building.total_area_m2 else []) + (
        [str(building.year_built)] if building.year_built else [])
    return RegisteredBuilding(title=", ".join(parts), use_code=building.use_code, use_text=use,
                              area_m2=building.total_area_m2, year_built=building.year_built)


def _first(words: tuple[tuple[str, str], ...], texts: list[str]) -> str | None:
    """The kind named first: in the first text that names one, the earliest word."""
    for text in texts:
        folded = fold(text)
        hits = [(m.start(), kind) for word, kind in words
                for m in [re.search(rf"\b{re.escape(fold(word))}", folded)] if m]
        if hits:
            return min(hits)[1]
    return None


def applied_for(application_type: str | None, texts: list[str]) -> str | None:
    """The secondary building asked for, "tilbygning" for an extension, else None."""
    if application_type == "secondary_building":
        return _first(SECONDARY_WORDS, texts) or "udhus"
    if application_type == "extension":
        return "tilbygning"
    return None


def conflicts(application_type: str | None, texts: list[str],
              buildings: list[RegisteredBuilding]) -> list[BuildingConflict]:
    """The contradictions between the application (type and texts) and the buildings."""
    kind = applied_for(application_type, texts)
    if kind is None:
        return []
    uses = sorted({b.use_text for b in buildings})
    dwellings = [b for b in buildings if b.use_code in DWELLING_CODES]
    what = {"carport": "en carport", "garage": "en garage", "udhus": "et udhus",
            "tilbygning": "en tilbygning"}[kind]
    if not buildings:
        if kind != "tilbygning":
            return []  # a carport on a plot with no building yet: nothing contradicts it
        return [BuildingConflict(
            rule="nothing_registered", applied_for=kind,
            title="Ansøgningen gælder en tilbygning, men BBR har ingen bygninger registreret "
                  "på adressen.")]
    if not dwellings:
        return [BuildingConflict(
            rule="no_dwelling", applied_for=kind, registered=uses,
            title=f"Ansøgningen gælder {what} til en bolig, men bygningerne på adressen er i "
                  f"BBR kun registreret som: {', '.join(uses)}.")]
    found: list[BuildingConflict] = []
    code = SECONDARY_CODES.get(kind)
    same = [b for b in buildings if code and b.use_code == code]
    if same:
        first = same[0]
        size = f" på {first.area_m2} m²" if first.area_m2 else ""
        year = f" (opført {first.year_built})" if first.year_built else ""
        found.append(BuildingConflict(
            rule="already_registered", applied_for=kind, registered=[first.use_text],
            area_m2=first.area_m2, year_built=first.year_built,
            title=f"BBR viser allerede {what}{size}{year} på adressen: mulig dublet eller "
                  "udvidelse af den eksisterende."))
    house = _first(tuple((word, word) for word, _ in HOUSE_TYPES), texts)
    if house is not None:
        codes = dict(HOUSE_TYPES)[house]
        if not any(b.use_code in codes for b in dwellings):
            homes = sorted({b.use_text for b in dwellings})
            found.append(BuildingConflict(
                rule="house_type_differs", applied_for=house, registered=homes,
                title=f"Ansøgningen nævner et {house}, men boligen på adressen er i BBR "
                      f"registreret som: {', '.join(homes)}."))
    return found


# -- the property's address in the case ---------------------------------------------------------

# A capital starts a street or town (also "Émilie Allé"); a street ends in a letter (any, so
# "Øster Allé") or a dot; a house letter may be written small ("12a": DAR writes "12A").
_UPPER = "A-ZÆØÅÄÖÜÉÈÁÀ"
_ADDRESS = re.compile(
    rf"(?P<street>[{_UPPER}][\w.'\- ]*?(?:[^\W\d_]|\.))\s+(?P<number>\d{{1,4}}\s?[A-Za-z]?)"
    rf"(?P<post>,\s*\d{{4}}\s+[{_UPPER}][\w.\- ]*)?\s*$")
_ADDRESS_LINE = re.compile(r"(?im)^\s*(?:ejendommens\s+)?adresse\s*:\s*(.+?)\s*$")
_WORD = rf"[{_UPPER}][\w.'\-]*"
_TRAILING = [re.compile(rf"(?:^|[\s:–\-])({_WORD}(?:\s+{_WORD}){{{n}}}\s+\d{{1,4}}\s?[A-Za-z]?)"
                        r"\s*$") for n in (2, 1, 0)]


def property_addresses(title: str, texts: list[str]) -> list[str]:
    """Where the case gives the property's address, most likely first: the end of the case
    title after its last comma ("Byggetilladelse: carport, Ågade 12"), an "Adresse:" line in
    the application text, or a street and number ending the title ("... tilbygning Skovvej
    28", as three, two and one capitalised words). The caller tries them in turn."""
    parts = [part.strip() for part in title.split(",")[1:]]
    # "..., Ågade 12, 8600 Silkeborg": the street and the postcode are the last two parts
    candidates = ([", ".join(parts[-2:])] if len(parts) >= 2 else []) + parts[::-1]
    candidates += [line for text in texts for line in _ADDRESS_LINE.findall(text)]
    candidates += [m.group(1) for pattern in _TRAILING for m in [pattern.search(title)] if m]
    found: list[str] = []
    for candidate in candidates:
        match = _ADDRESS.fullmatch(candidate.strip())
        if match:
            number = match.group("number").replace(" ", "").upper()
            address = f"{match.group('street').strip()} {number}{match.group('post') or ''}"
            if address not in found:
                found.append(address)
    return found


def property_address(title: str, texts: list[str]) -> str | None:
    """The most likely of ``property_addresses``, or None when the case gives none."""
    found = property_addresses(title, texts)
    return found[0] if found else None
