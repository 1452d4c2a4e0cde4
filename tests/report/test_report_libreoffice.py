"""A real spreadsheet program opens the workbook and recalculates the same totals.

LibreOffice (headless) converts the report to a new .xlsx, recalculating every formula on the
way; the Summary's check formulas (re-adding the Rows sheets) must then equal the figures the
report wrote. Skipped when LibreOffice is not installed (CI: ``apt-get install
libreoffice-calc``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from report_helpers import EXPECTED, summary_values

from casework.report import ReportRequest, build_report
from casework.report.labels import labels

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")

pytestmark = pytest.mark.skipif(
    SOFFICE is None,
    reason="LibreOffice not installed (soffice/libreoffice not on PATH); "
    "install libreoffice-calc to run this test",
)


def convert(source: Path, outdir: Path, profile: Path) -> Path:
    """Convert with LibreOffice using a private profile, so parallel runs never share one."""
    outdir.mkdir()
    result = subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(outdir), str(source)],
        capture_output=True, text=True, timeout=180, check=False,
    )
    converted = outdir / source.name
    assert result.returncode == 0 and converted.exists(), (result.stdout, result.stderr)
    return converted


@pytest.mark.parametrize("lang", ["da", "en"])
def test_libreoffice_opens_the_report_and_totals_match(ledger, tmp_path: Path, lang) -> None:
    t = labels(lang)
    source = tmp_path / "report.xlsx"
    # Two Rows sheets, so the recalculated check spans both.
    build_report(ledger, ReportRequest(date_from="2026-01-01", date_to="2026-12-31", lang=lang),  # type: ignore[arg-type]
                 source, rows_per_sheet=6)

    converted = convert(source, tmp_path / "converted", tmp_path / "lo-profile")
    wb = openpyxl.load_workbook(converted, data_only=True)  # values LibreOffice calculated
    assert wb.sheetnames[:7] == [t[k] for k in (
        "sheet_summary", "sheet_month", "sheet_flow_step", "sheet_department", "sheet_kle",
        "sheet_estimate", "sheet_charts")]
    values = summary_values(wb[t["sheet_summary"]])
    hours = EXPECTED["saved_minutes"] / 60
    assert values[t["hours_saved"]] == pytest.approx(hours)
    assert values[t["check_hours"]] == pytest.approx(hours)  # recalculated from the Rows
    assert values[t["check_runs"]] == EXPECTED["runs"]
    assert values[t["step_runs"]] == EXPECTED["runs"]

    saved = 0.0
    for title in (t["sheet_rows"], f"{t['sheet_rows']} (2)"):
        for row in wb[title].iter_rows(min_row=2, values_only=True):
            if row[0] is not None:
                saved += row[16]
    assert saved / 60 == pytest.approx(hours)
    month_hours = [r[7] for r in wb[t["sheet_month"]].iter_rows(min_row=2, values_only=True)]
    assert sum(month_hours) == pytest.approx(hours)


@pytest.mark.parametrize("lang", ["da", "nb"])
def test_printed_the_summary_is_one_landscape_page_and_charts_are_not_split(
        ledger, tmp_path: Path, lang) -> None:
    """LibreOffice prints the report to PDF: the summary fills exactly page 1 (its labels and
    values together, the By-month table starting on page 2), pages are landscape, and the
    charts sheet is fitted to one page so no chart is cut in two."""
    from pypdf import PdfReader

    t = labels(lang)
    source = tmp_path / "report.xlsx"
    build_report(ledger, ReportRequest(date_from="2026-01-01", date_to="2026-12-31", lang=lang),  # type: ignore[arg-type]
                 source)
    outdir = tmp_path / "pdf"
    result = subprocess.run(
        [SOFFICE, f"-env:UserInstallation={(tmp_path / 'lo-profile').as_uri()}", "--headless",
         "--norestore", "--convert-to", "pdf", "--outdir", str(outdir), str(source)],
        capture_output=True, text=True, timeout=180, check=False)
    pdf = outdir / "report.pdf"
    assert result.returncode == 0 and pdf.exists(), (result.stdout, result.stderr)
    pages = PdfReader(str(pdf)).pages
    texts = [" ".join(page.extract_text().split()) for page in pages]
    assert t["title"] in texts[0] and t["hours_saved"] in texts[0]
    assert t["check_hours"] in texts[0]  # the summary's last lines are on page 1 too
    assert t["col_month"] not in texts[0] and t["col_month"] in texts[1]
    assert all(page.mediabox.width > page.mediabox.height for page in pages)  # landscape

    wb = openpyxl.load_workbook(source)
    charts = wb[t["sheet_charts"]]
    assert charts.sheet_properties.pageSetUpPr.fitToPage
    assert (charts.page_setup.fitToWidth, charts.page_setup.fitToHeight) == (1, 1)
    rows = wb[t["sheet_rows"]]
    assert rows.print_title_rows == "$1:$1"  # the header row repeats on every printed page
