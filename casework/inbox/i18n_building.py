"""The building screening's registry check on a task page: facts, values and reasons, as
(Danish, Norwegian bokmål, English). BBR's own use texts ("Kontor, handel, lager") stay in
Danish in every language: they are the register's words, quoted."""

from __future__ import annotations

BUILDING_TEXTS: dict[str, tuple[str, str, str]] = {
    "step_building_screening_look_up_building": ("slå ejendommen op i BBR",
                                                 "slå opp eiendommen i BBR",
                                                 "look the property up in BBR"),
    "step_building_screening_check_building": ("tjek ansøgningen mod BBR",
                                               "sjekk søknaden mot BBR",
                                               "check the application against BBR"),
    # -- facts --------------------------------------------------------------------------------
    "fact_building_registry": ("Bygnings- og boligregistret (BBR)",
                               "Det danske bygningsregisteret (BBR)",
                               "Building register (BBR)"),
    "fact_property_address": ("Ejendommens adresse", "Eiendommens adresse", "Property address"),
    "fact_registered_buildings": ("Bygninger registreret i BBR", "Bygninger registrert i BBR",
                                  "Buildings registered in BBR"),
    "fact_conflicts": ("Uoverensstemmelser med BBR", "Avvik fra BBR",
                       "Contradictions with BBR"),
    "value_building_registry_checked": ("tjekket", "sjekket", "checked"),
    "value_building_registry_not_configured": (
        "ikke tjekket: BBR er ikke sat op til robotten",
        "ikke sjekket: BBR er ikke satt opp for roboten",
        "not checked: the building register is not set up for the robot"),
    "value_building_registry_no_address": (
        "ikke tjekket: sagen nævner ingen adresse på ejendommen",
        "ikke sjekket: saken nevner ingen adresse for eiendommen",
        "not checked: the case gives no address for the property"),
    "value_building_registry_address_not_found": (
        "ikke tjekket: adressen findes ikke i adresseregistret (DAR)",
        "ikke sjekket: adressen finnes ikke i adresseregisteret (DAR)",
        "not checked: the address is not in the address register (DAR)"),
    "value_building_registry_address_ambiguous": (
        "ikke tjekket: adressen passer på flere adresser i adresseregistret (DAR)",
        "ikke sjekket: adressen passer med flere adresser i adresseregisteret (DAR)",
        "not checked: the address matches more than one address in the register (DAR)"),
    # -- why it waits -------------------------------------------------------------------------
    "reason_building_no_address": (
        "Robotten kunne ikke tjekke ejendommens bygninger i BBR: sagen nævner ingen adresse.",
        "Roboten kunne ikke sjekke eiendommens bygninger i BBR: saken nevner ingen adresse.",
        "The robot could not check the property's buildings in BBR: the case gives no "
        "address."),
    "reason_building_address_not_found": (
        "Robotten kunne ikke tjekke bygningerne i BBR: adressen {address} findes ikke i "
        "adresseregistret.",
        "Roboten kunne ikke sjekke bygningene i BBR: adressen {address} finnes ikke i "
        "adresseregisteret.",
        "The robot could not check the buildings in BBR: the address {address} is not in the "
        "address register."),
    "reason_building_address_ambiguous": (
        "Robotten kunne ikke tjekke bygningerne i BBR: adressen {address} passer på flere "
        "adresser (angiv postnummer).",
        "Roboten kunne ikke sjekke bygningene i BBR: adressen {address} passer med flere "
        "adresser (oppgi postnummer).",
        "The robot could not check the buildings in BBR: the address {address} matches more "
        "than one address (give the postcode)."),
    "reason_building_unchecked": (
        "Robotten kunne ikke tjekke ejendommens bygninger i BBR.",
        "Roboten kunne ikke sjekke eiendommens bygninger i BBR.",
        "The robot could not check the property's buildings in BBR."),
    "reason_building_no_dwelling": (
        "Ansøgningen gælder {applied_for} til en bolig, men bygningerne på adressen er i BBR "
        "kun registreret som {registered}.",
        "Søknaden gjelder {applied_for} til en bolig, men bygningene på adressen er i BBR "
        "bare registrert som {registered}.",
        "The application is for {applied_for} to a dwelling, but the buildings at the address "
        "are registered in BBR only as {registered}."),
    "reason_building_nothing_registered": (
        "Ansøgningen gælder {applied_for}, men BBR har ingen bygninger registreret på "
        "adressen.",
        "Søknaden gjelder {applied_for}, men BBR har ingen bygninger registrert på adressen.",
        "The application is for {applied_for}, but BBR has no buildings registered at the "
        "address."),
    "reason_building_already_registered": (
        "BBR viser allerede {applied_for}{details} på adressen: mulig dublet eller udvidelse "
        "af den eksisterende.",
        "BBR viser allerede {applied_for}{details} på adressen: mulig duplikat eller "
        "utvidelse av den eksisterende.",
        "BBR already shows {applied_for}{details} at the address: possibly a duplicate, or an "
        "extension of the existing one."),
    "reason_building_house_type_differs": (
        "Ansøgningen nævner {applied_for}, men boligen på adressen er i BBR registreret som "
        "{registered}.",
        "Søknaden nevner {applied_for}, men boligen på adressen er i BBR registrert som "
        "{registered}.",
        "The application mentions {applied_for}, but the dwelling at the address is "
        "registered in BBR as {registered}."),
    "reason_building_conflict": (
        "Ansøgningen passer ikke med bygningerne registreret i BBR.",
        "Søknaden passer ikke med bygningene registrert i BBR.",
        "The application does not fit the buildings registered in BBR."),
    # -- what is applied for (with the article the sentences need) ---------------------------
    "building_kind_carport": ("en carport", "en carport", "a carport"),
    "building_kind_garage": ("en garage", "en garasje", "a garage"),
    "building_kind_udhus": ("et udhus", "et uthus", "a shed"),
    "building_kind_tilbygning": ("en tilbygning", "et tilbygg", "an extension"),
    "building_kind_enfamiliehus": ("et enfamiliehus", "en enebolig", "a detached house"),
    "building_kind_parcelhus": ("et parcelhus", "en enebolig", "a detached house"),
    "building_kind_sommerhus": ("et sommerhus", "en fritidsbolig", "a holiday home"),
    "building_kind_rækkehus": ("et rækkehus", "et rekkehus", "a terraced house"),
    "building_kind_dobbelthus": ("et dobbelthus", "en tomannsbolig", "a semi-detached house"),
}
