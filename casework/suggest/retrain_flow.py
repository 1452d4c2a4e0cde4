"""Scheduled retraining: refit each taxonomy's (and municipality's) model once enough new
decisions have come in since the last retrain.

``casework suggest retrain`` does one taxonomy by hand; this Prefect flow (deployment
``suggest-retrain`` in prefect.yaml, schedule inactive until turned on) looks at every example
store (``<data_dir>/examples[/<municipality>]/<taxonomy>.jsonl``), counts the confirmed choices
the current model has not seen (new letters, or a later correction of one it has), and runs
``retrain`` where there are at least ``min_new``. Each retrain, and each failure, is an audit
event with the numbers only; Prefect sees taxonomy and municipality names and counts, never a
letter's text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from prefect import flow, task
from pydantic import BaseModel

from casework import audit
from casework.db.session import transaction
from casework.suggest.examples import (
    _MUNICIPALITY,
    Example,
    ExampleModel,
    ExampleStore,
    retrain,
)

log = logging.getLogger(__name__)

TAXONOMIES = ("kle", "fsiii")
DEFAULT_MIN_NEW = 25
ACTOR = "robot:suggest_retrain"


class RetrainPlan(BaseModel):
    """One example store and how many of its confirmed choices the model has not seen."""

    taxonomy: str
    municipality: str | None = None
    confirmed: int
    new: int


class RetrainResult(BaseModel):
    taxonomy: str
    municipality: str | None = None
    new: int
    status: str  # retrained | skipped | failed
    examples: int = 0
    rejected: int = 0
    ranker_refitted: bool = False
    error: str | None = None


def stores(base: Path | None = None) -> list[ExampleStore]:
    """The installation's store and one per municipality folder under it."""
    root = ExampleStore(base)
    found = [root]
    if root.folder.is_dir():
        found += [ExampleStore(root.folder, child.name) for child in sorted(root.folder.iterdir())
                  if child.is_dir() and _MUNICIPALITY.match(child.name)]
    return found


def _key(example: Example) -> tuple[str, str, str]:
    return example.id, example.code, example.confirmed_at.isoformat()


def plan(store: ExampleStore, taxonomy: str, model_dir: Path | None = None) -> RetrainPlan:
    """Confirmed choices in ``store`` that the model in ``model_dir`` (default: the store's own
    model folder) was not trained on."""
    confirmed = store.confirmed(taxonomy)
    folder = model_dir or ExampleModel.default_dir(taxonomy, store.municipality)
    try:
        model = ExampleModel.load_if_present(taxonomy, folder)
    except (OSError, ValueError) as exc:  # unreadable model: retrain from the store
        log.warning("model in %s cannot be read (%s); counting every example as new", folder,
                    type(exc).__name__)
        model = None
    seen = {_key(ex) for ex in model.examples} if model is not None else set()
    return RetrainPlan(taxonomy=taxonomy, municipality=store.municipality,
                       confirmed=len(confirmed),
                       new=sum(1 for ex in confirmed if _key(ex) not in seen))


def _audit_failure(where: dict[str, object], exc: Exception) -> str:
    error = type(exc).__name__
    with transaction() as session:
        audit.append(session, actor=ACTOR, action="suggest.retrain_failed",
                     details={**where, "error": error})
    log.error("retrain of %s (%s) failed: %s", where["taxonomy"],
              where.get("municipality") or "-", error)
    return error


@task(name="suggest-retrain-one", persist_result=False, cache_policy=None)
def retrain_one(taxonomy: str, municipality: str | None, new: int, engine: str,
                examples_dir: str | None = None) -> RetrainResult:
    """Retrain one store's model and audit it (or the failure)."""
    store = ExampleStore(Path(examples_dir) if examples_dir else None, municipality)
    where = {"taxonomy": taxonomy, "municipality": municipality, "new": new, "engine": engine}
    try:
        meta = retrain(taxonomy, store=store, engine=engine)
    except Exception as exc:  # noqa: BLE001 - one store's failure must not stop the others
        return RetrainResult(taxonomy=taxonomy, municipality=municipality, new=new,
                             status="failed", error=_audit_failure(where, exc))
    details = {**where, "examples": meta.examples, "codes": meta.codes,
               "rejected": meta.rejected, "ranker": meta.ranker}
    with transaction() as session:
        audit.append(session, actor=ACTOR, action="suggest.retrained", details=details)
    return RetrainResult(taxonomy=taxonomy, municipality=municipality, new=new,
                         status="retrained", examples=meta.examples, rejected=meta.rejected,
                         ranker_refitted=meta.ranker is not None)


class RetrainFailed(RuntimeError):
    """At least one store could not be retrained (the others were; see the audit log)."""


def retrain_due(run_one: Callable[..., RetrainResult], *, min_new: int, engine: str,
                taxonomies: Sequence[str] | None, examples_dir: str | None
                ) -> list[RetrainResult]:
    """Plan every store and run ``run_one`` (the task, or its function in tests) where due."""
    if min_new < 1:
        raise ValueError(f"min_new must be at least 1, got {min_new}")
    results = []
    for store in stores(Path(examples_dir) if examples_dir else None):
        for taxonomy in taxonomies or TAXONOMIES:
            if not store.path(taxonomy).is_file():
                continue
            try:
                todo = plan(store, taxonomy)
            except ValueError as exc:  # a corrupt store: say which, go on with the others
                where = {"taxonomy": taxonomy, "municipality": store.municipality}
                results.append(RetrainResult(taxonomy=taxonomy, municipality=store.municipality,
                                             new=0, status="failed",
                                             error=_audit_failure(where, exc)))
                continue
            if todo.new < min_new:
                results.append(RetrainResult(taxonomy=taxonomy, municipality=store.municipality,
                                             new=todo.new, status="skipped"))
                continue
            results.append(run_one(taxonomy, store.municipality, todo.new, engine,
                                   examples_dir))
    return results


@flow(name="suggest-retrain", log_prints=False)
def scheduled_retrain(min_new: int = DEFAULT_MIN_NEW, engine: str = "hybrid",
                      taxonomies: list[str] | None = None,
                      examples_dir: str | None = None) -> list[RetrainResult]:
    """Retrain every taxonomy and municipality with at least ``min_new`` confirmed choices its
    model has not seen; the run fails (after doing the rest) if any retrain failed."""
    results = retrain_due(retrain_one, min_new=min_new, engine=engine, taxonomies=taxonomies,
                          examples_dir=examples_dir)
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise RetrainFailed("retrain failed for " + ", ".join(
            f"{r.taxonomy} ({r.municipality or 'installation'}): {r.error}" for r in failed))
    return results
