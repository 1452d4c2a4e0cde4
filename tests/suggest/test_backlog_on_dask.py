"""A backlog's suggestions computed on a real local Dask cluster (two worker processes) through
Prefect's Dask task runner: every text once, the same answers as the suggester in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("prefect_dask")
pytestmark = pytest.mark.usefixtures("prefect_api", "casework_env")

TEXTS = ["Ansøgning om byggetilladelse til carport", "Mit pas er udløbet, jeg skal have nyt",
         "Storskrald blev ikke hentet", "Vi søger vuggestueplads til vores søn",
         "Jeg vil rive mit udhus ned", "Hjælp til rengøring efter operation"]


def test_backlog_on_two_dask_workers_matches_in_process(tmp_path: Path) -> None:
    from casework.suggest.backlog import suggest_backlog
    from casework.suggest.suggester import TaxonomySuggester

    backlog = tmp_path / "backlog.jsonl"
    backlog.write_text("".join(json.dumps({"id": f"t{n}", "text": t}) + "\n"
                               for n, t in enumerate(TEXTS * 3)))
    out = tmp_path / "suggestions.jsonl"
    assert suggest_backlog(backlog, out, chunk=4, top=3, workers=2) == len(TEXTS) * 3
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [f"t{n}" for n in range(len(TEXTS) * 3)]
    local = TaxonomySuggester.load("kle", "tfidf").suggest(TEXTS, top=3, with_evidence=False)
    for row, best in zip(rows, local * 3, strict=True):
        assert [s["code"] for s in row["suggestions"]] == [s.code for s in best]


def test_a_bad_backlog_line_is_named(tmp_path: Path) -> None:
    from casework.suggest.backlog import read_backlog

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "text": "ok"}\n{"id": 2}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: expected"):
        read_backlog(bad)
