"""Time-saved reports for managers: the ledger as an Excel workbook.

The same builder serves the CLI (``casework report``) and the inbox's "Download report"::

    from casework.report import ReportRequest, build_report

    summary = build_report(engine, ReportRequest(date_from="2026-01-01", date_to="2026-12-31"),
                           buffer)
"""

from casework.report.builder import build_report
from casework.report.query import known_departments, known_flows
from casework.report.request import ReportError, ReportRequest, ReportSummary

__all__ = [
    "ReportError",
    "ReportRequest",
    "ReportSummary",
    "build_report",
    "known_departments",
    "known_flows",
]
