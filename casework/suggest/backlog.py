"""Suggestions for a large backlog, spread over processes or machines with Dask.

Embedding tens of thousands of letters is CPU-bound; Prefect's Dask task runner
(``prefect-dask``, extra ``scale``) maps the work over a Dask cluster instead of building a
scheduler of our own. Each chunk is one Prefect task; each Dask worker loads the suggester once
and keeps it. The input is JSON Lines ``{"id", "text"}`` (CPR numbers masked before they are
written anywhere); the output is JSON Lines ``{"id", "suggestions": [{code, title, score}]}``.

    from casework.suggest.backlog import suggest_backlog
    suggest_backlog("backlog.jsonl", "suggestions.jsonl", workers=4)          # a local cluster
    suggest_backlog(..., dask_address="tcp://scheduler:8786")                # an existing one

A new cluster per run (Prefect issue #21697: a shared scheduler grows per run).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect import flow, task

from casework.privacy import mask_cpr

_loaded: dict[tuple[str, str], Any] = {}  # per Dask worker process: the suggester, once


def _suggester(taxonomy: str, engine: str) -> Any:
    from casework.suggest.suggester import TaxonomySuggester

    key = (taxonomy, engine)
    if key not in _loaded:
        _loaded[key] = TaxonomySuggester.load(taxonomy, engine)
    return _loaded[key]


@task(name="suggest-chunk", persist_result=False, cache_policy=None)
def suggest_chunk(taxonomy: str, engine: str, chunk: list[tuple[str, str]], top: int,
                  ) -> list[dict[str, Any]]:
    suggester = _suggester(taxonomy, engine)
    ranked = suggester.suggest([text for _, text in chunk], top=top, with_evidence=False)
    return [{"id": item_id, "suggestions": [
        {"code": s.code, "title": s.title, "score": round(float(s.score), 4)} for s in best]}
        for (item_id, _), best in zip(chunk, ranked, strict=True)]


def read_backlog(path: Path) -> list[tuple[str, str]]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            items.append((str(row["id"]), mask_cpr(str(row["text"]))))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: expected {{\"id\", \"text\"}}: {exc}") from None
    return items


@flow(name="suggest-backlog")
def _suggest_backlog(input_path: str, output_path: str, taxonomy: str, engine: str,
                     chunk: int, top: int) -> int:
    items = read_backlog(Path(input_path))
    chunks = [items[i:i + chunk] for i in range(0, len(items), chunk)]
    futures = suggest_chunk.map(taxonomy, engine, chunks, top)
    with Path(output_path).open("w", encoding="utf-8") as out:
        for future in futures:
            for row in future.result():
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(items)


def suggest_backlog(input_path: str | Path, output_path: str | Path, *, taxonomy: str = "kle",
                    engine: str = "tfidf", chunk: int = 500, top: int = 5, workers: int = 2,
                    dask_address: str | None = None) -> int:
    """Suggest codes for every text of ``input_path`` on a Dask cluster; returns how many."""
    from prefect_dask import DaskTaskRunner  # extra "scale"

    runner = (DaskTaskRunner(address=dask_address) if dask_address else DaskTaskRunner(
        cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                        "dashboard_address": ":0"}))
    return _suggest_backlog.with_options(task_runner=runner)(
        str(input_path), str(output_path), taxonomy, engine, chunk, top)
