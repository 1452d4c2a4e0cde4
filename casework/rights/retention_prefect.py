"""Retention on Prefect's side: what Prefect keeps of our runs, erased after the same period.

Prefect keeps two things that may outlive our retention: the run inputs a waiting run stored
(the input form's schema and description, and whatever a resume handed it) in its database, and
task results persisted to the worker's disk (``PREFECT_HOME/storage``, or
``PREFECT_RESULTS_LOCAL_STORAGE_PATH``) for runs that wait with ``suspend``. The casework side
never gives Prefect personal data on purpose (item ids, task ids, pseudonyms), but a resume
typed into Prefect's UI or a step's result may; so both are erased once older than
``CASEWORK_RETENTION_DAYS``. Run inputs are erased for finished runs of the flows this
installation ran (as named in our ledger and work-item queue); results by file age, on the
machine the command runs on (run it on each worker). Best effort: an unreachable Prefect is
reported, never fatal — our own erasure has already happened.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import select

from casework.db.models import LedgerEntry, WorkItem
from casework.db.session import reading

PAGE = 200


class PrefectRetentionReport(BaseModel):
    cutoff: datetime
    dry_run: bool
    reachable: bool
    message: str | None = None
    flow_runs_checked: int = 0
    run_inputs_erased: int = 0
    results_dir: str
    result_files_erased: int = 0


def our_flows() -> list[str]:
    """Prefect names of the flows that ran here (``journal_placement`` → ``journal-placement``)."""
    with reading() as session:
        names = set(session.scalars(select(LedgerEntry.flow).distinct()))
        names |= set(session.scalars(select(WorkItem.flow).distinct()))
    return sorted(n.replace("_", "-") for n in names)


def results_dir() -> Path:
    from prefect.settings import get_current_settings

    return Path(get_current_settings().results.local_storage_path).expanduser()


def apply_prefect_retention(*, days: int, dry_run: bool = False,
                            now: datetime | None = None) -> PrefectRetentionReport:
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=days)
    folder = results_dir()
    report = PrefectRetentionReport(cutoff=cutoff, dry_run=dry_run, reachable=True,
                                    results_dir=str(folder))
    report.result_files_erased = _erase_result_files(folder, cutoff, dry_run)
    try:
        checked, erased = _erase_run_inputs(our_flows(), cutoff, dry_run)
    except Exception as exc:  # noqa: BLE001 - Prefect down: say so; our own erasure stands
        report.reachable = False
        report.message = (f"Prefect API not reachable ({type(exc).__name__}); run inputs were "
                          "not erased — run the command again when Prefect is up")
        return report
    report.flow_runs_checked, report.run_inputs_erased = checked, erased
    return report


def _erase_result_files(folder: Path, cutoff: datetime, dry_run: bool) -> int:
    if not folder.is_dir():
        return 0
    limit = cutoff.timestamp()
    erased = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                if not dry_run:
                    path.unlink()
                erased += 1
        except OSError:
            continue  # gone meanwhile, or not ours to delete: the next run tries again
    return erased


def _erase_run_inputs(flows: list[str], cutoff: datetime, dry_run: bool) -> tuple[int, int]:
    """(finished runs checked, run inputs erased) for ``flows``' runs that ended before
    ``cutoff``."""
    if not flows:
        return 0, 0
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterEndTime,
    )

    checked = erased = 0
    with get_client(sync_client=True) as client:
        offset = 0
        while True:
            runs = client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=flows)),
                flow_run_filter=FlowRunFilter(end_time=FlowRunFilterEndTime(before_=cutoff)),
                limit=PAGE, offset=offset)
            for run in runs:
                checked += 1
                seen: set[str] = set()
                while True:
                    inputs = client.filter_flow_run_input(run.id, key_prefix="", limit=100,
                                                          exclude_keys=seen)
                    if not inputs:
                        break
                    for found in inputs:
                        seen.add(found.key)
                        if not dry_run:
                            client.delete_flow_run_input(run.id, found.key)
                        erased += 1
            if len(runs) < PAGE:
                break
            offset += PAGE
    return checked, erased
