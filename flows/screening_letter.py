"""The Danish texts the screening writes: the letter asking for missing documents, and the
journal note for a complete application.

Every letter carries a notice that it was prepared with automated help and checked by a
caseworker (AI Act Art. 50; transparency towards the person affected, cf. Art. 26(11)). A
caseworker's amended text gets the notice back if it was deleted.
"""

from __future__ import annotations

from datetime import date, timedelta

from casework import letters
from casework.letters import off_weekend

INTAKE_TITLE_PREFIX = "Henvendelse: "  # flows/intake.py titles the cases it opens so

AI_NOTICE = (
    "Om dette brev: Brevet er forberedt med automatisk hjælp. Et it-system har gennemgået "
    "ansøgningens dokumenter og foreslået teksten, og en sagsbehandler har kontrolleret og "
    "godkendt brevet. Du er velkommen til at kontakte os, hvis du har spørgsmål."
)

_MONTHS = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august",
           "september", "oktober", "november", "december")


def danish_date(day: date) -> str:
    """``7. december 2026``."""
    return f"{day.day}. {_MONTHS[day.month - 1]} {day.year}"


def reply_deadline(today: date, reply_days: int) -> date:
    """``reply_days`` ahead; a deadline on a Saturday or Sunday moves to the Monday."""
    return off_weekend(today + timedelta(days=reply_days))


def with_notice(text: str) -> str:
    """The text, with the automated-help notice appended unless it is already there."""
    return letters.with_notice(text, AI_NOTICE)


def request_letter(*, case_id: str, case_title: str, application_title: str,
                   missing: list[tuple[str, str]], deadline: date, sender: str) -> str:
    """The letter asking the applicant for ``missing`` ((title, what to send) pairs).

    Addressed to "ansøger": the case system adds name and address when the letter is sent,
    so the draft holds no personal data beyond the case itself.
    """
    # The intake robot names a case it opened after the letter ("Henvendelse: <subject>"): the
    # applicant knows it by the subject.
    case_title = case_title.removeprefix(INTAKE_TITLE_PREFIX).strip() or case_title
    lines = [
        f"Vedrørende: Din ansøgning om byggetilladelse – {case_title} (sag {case_id})",
        "",
        "Kære ansøger",
        "",
        f"Tak for din ansøgning om {application_title}. Vi har gennemgået de dokumenter, du "
        "har sendt, og før vi kan behandle ansøgningen, mangler vi:",
        "",
        *[f"- {title}: {asks}" for title, asks in missing],
        "",
        f"Vi beder dig sende det manglende senest den {danish_date(deadline)}. Du kan uploade "
        "dokumenterne til din ansøgning i Byg og Miljø (bygogmiljoe.dk).",
        "",
        "Kontakt os, hvis du har brug for længere tid, eller hvis du mener, at vi allerede "
        "har dokumenterne. Vi behandler ansøgningen, når vi har modtaget det manglende.",
        "",
        "Med venlig hilsen",
        sender,
    ]
    return with_notice("\n".join(lines))


def complete_note(*, application_title: str, present: list[tuple[str, str]],
                  unsure_confirmed: list[str], reference: str, confirmed_by_caseworker: bool,
                  requirements_version: str) -> str:
    """The journal note for an application that has every required document.

    Deterministic for the same documents and requirements, so a retried filing with the same
    idempotency key is recognised as the same note.
    """
    lines = [
        f"Screening af byggeansøgning ({application_title}): ansøgningen indeholder de "
        "dokumenter, der kræves efter kommunens tjekliste "
        f"(version {requirements_version}).",
        "",
        *[f"- {title}: {evidence}" for title, evidence in present],
    ]
    if unsure_confirmed:
        lines += ["", "Vurderet af sagsbehandler: " + ", ".join(unsure_confirmed)]
    how = ("Screeningen er godkendt af en sagsbehandler." if confirmed_by_caseworker else
           "Screeningen er udført automatisk efter kommunens politik; indholdet af "
           "dokumenterne er ikke vurderet.")
    lines += ["", how, f"Reference: byggescreening-{reference}"]
    return "\n".join(lines)
