"""Every selector and URL path the robot uses on the legacy case system, by page.

When the old system changes a label or a layout, this is the only file to edit. Selectors
read by visible label where the system has no stable ids, as a caseworker would.
"""

from __future__ import annotations


def field_cell(table: str, label: str) -> str:
    """The value cell next to a ``<th>`` label in a two-column field table."""
    return f'{table} tr:has(> th:text-is("{label}")) > td'


class Paths:
    LOGIN = "/login"
    SEARCH = "/soeg"
    CASE = "/sag/{case_number}"
    NEW_STEP = "/sag/{case_number}/skridt/ny"


class LoginPage:
    USERNAME = "#brugernavn"
    PASSWORD = "#adgangskode"
    SUBMIT = 'form[action="/login"] input[type="submit"]'
    ERROR = "#loginfejl"


class SearchPage:
    QUERY = "#soegetekst"
    SUBMIT = 'form[action="/soeg"] input[type="submit"]'
    ERROR = ".fejlboks"
    RESULTS_TABLE = "table#soegeresultat"
    RESULT_ROWS = "table#soegeresultat tr:has(td)"
    # Column order of a result row.
    COLUMNS = ("case_number", "title", "citizen_name", "cpr", "status")


class CasePage:
    TABLE = "table#sagsoplysninger"
    # Model field -> the label the system shows.
    FIELDS = {
        "case_number": "Sagsnummer",
        "title": "Titel",
        "citizen_name": "Borger",
        "cpr": "CPR-nummer",
        "status": "Status",
        "responsible_unit": "Ansvarlig enhed",
        "journal_number": "Journalnummer",
        "created": "Oprettet",
        "changed": "Senest ændret",
        "deadline": "Frist",
    }
    STEP_ROWS = "table#sagsskridt tr:has(td)"
    STEP_COLUMNS = ("step_date", "step_type", "note", "registered_by", "receipt_number")


class StepFormPage:
    STEP_TYPE = "#skridttype"
    DATE = "#dato"
    NOTE = "#notat"
    SUBMIT = "#registrer"
    ERROR_SUMMARY = "#fejlopsummering"
    FIELD_ERRORS = ".feltfejl"
    # id of a field error element -> the CaseStepForm field it is about.
    ERROR_FIELDS = {"fejl-skridttype": "step_type", "fejl-dato": "step_date",
                    "fejl-notat": "note"}
    DATE_FORMAT = "%d-%m-%Y"


class ReceiptPage:
    TABLE = "table#kvittering"
    RECEIPT_NUMBER = field_cell("table#kvittering", "Kvitteringsnummer")
    # What a receipt number looks like; anything else means the page was not read right.
    NUMBER_PATTERN = r"^KV-\d{4}-\d{6}$"


class ErrorPage:
    MESSAGE = "#systemfejl, .fejlboks"


# Elements that show a citizen's name, CPR number, free text about them or the case number
# (which leads to them): covered in every failure screenshot before it is stored.
PERSONAL_DATA = (
    "#top",  # the title bar repeats the page title, e.g. "Sag 2024-001203"
    "h2",
    field_cell(CasePage.TABLE, "Sagsnummer"),
    field_cell(ReceiptPage.TABLE, "Sagsnummer"),
    field_cell(CasePage.TABLE, "Borger"),
    field_cell(CasePage.TABLE, "CPR-nummer"),
    "table#sagsskridt td",
    "table#soegeresultat td",
    SearchPage.QUERY,
    StepFormPage.NOTE,
    LoginPage.PASSWORD,
)
