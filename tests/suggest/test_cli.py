"""CLI contract: JSON lines in/out, stdin, streaming, errors, confirm/retrain, router."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from casework.suggest import cli as suggest_cli
from casework.suggest.cli import register
from casework.suggest.jsonl import TextItem
from casework.suggest.resources import sib200_file

LETTERS = [
    {"id": "a1", "text": "Jeg søger om byggetilladelse til en carport på min grund."},
    {"id": 17, "text": "Jeg vil gerne søge om boligstøtte til min nye lejlighed."},
]


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def _jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False))
                            + "\n" for r in rows), encoding="utf-8")
    return path


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_groups_are_registered(app: typer.Typer) -> None:
    runner = CliRunner()
    for group, commands in (("suggest", ["kle", "fsiii", "confirm", "retrain"]),
                            ("router", ["train", "predict", "evaluate"])):
        result = runner.invoke(app, [group, "--help"])
        assert result.exit_code == 0, result.output
        for command in commands:
            assert command in result.output


def test_suggest_kle_file_to_file(app: typer.Typer, cli_env: Path, tmp_path: Path) -> None:
    src = _jsonl(tmp_path / "in.jsonl", LETTERS)
    out = tmp_path / "out" / "result.jsonl"
    result = CliRunner().invoke(app, ["suggest", "kle", "--input", str(src), "--top", "3",
                                      "--engine", "tfidf", "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = _lines(out.read_text(encoding="utf-8"))
    assert [r["id"] for r in rows] == ["a1", 17]  # ids are echoed with their JSON type
    for row in rows:
        assert len(row["suggestions"]) == 3
        for s in row["suggestions"]:
            assert set(s) == {"code", "title", "score", "confidence", "evidence"}
            assert 0 <= s["score"] <= 1
    assert any(s["code"].startswith("02.") for s in rows[0]["suggestions"])


def test_suggest_stdin_to_stdout_without_evidence(app: typer.Typer, cli_env: Path) -> None:
    stdin = "".join(json.dumps(r) + "\n" for r in LETTERS)
    result = CliRunner().invoke(app, ["suggest", "kle", "--input", "-", "--top", "2",
                                      "--engine", "tfidf", "--no-evidence"], input=stdin)
    assert result.exit_code == 0, result.output
    rows = _lines(result.stdout)
    assert len(rows) == 2 and set(rows[0]["suggestions"][0]) == {"code", "title", "score",
                                                                "confidence"}


@pytest.mark.usefixtures("require_e5")
def test_suggest_fsiii_hybrid(app: typer.Typer, cli_env: Path, tmp_path: Path) -> None:
    src = _jsonl(tmp_path / "in.jsonl", [{"id": "x", "text": "Hun har et tryksår på hælen."}])
    result = CliRunner().invoke(app, ["suggest", "fsiii", "-i", str(src), "--top", "3"])
    assert result.exit_code == 0, result.output
    [row] = _lines(result.stdout)
    assert "I4.4" in [s["code"] for s in row["suggestions"]]


def test_bad_line_names_file_and_line(app: typer.Typer, cli_env: Path, tmp_path: Path) -> None:
    src = _jsonl(tmp_path / "in.jsonl", [LETTERS[0], "{not json", LETTERS[1]])
    result = CliRunner().invoke(app, ["suggest", "kle", "-i", str(src), "--engine", "tfidf"])
    assert result.exit_code == 2
    assert f"{src} line 2: not valid JSON" in result.stderr
    assert "1 result written before it" in result.stderr
    assert [r["id"] for r in _lines(result.stdout)] == ["a1"]

    missing = _jsonl(tmp_path / "m.jsonl", [{"id": "1"}])
    result = CliRunner().invoke(app, ["suggest", "kle", "-i", str(missing), "--engine", "tfidf"])
    assert result.exit_code == 2 and "m.jsonl line 1: text: Field required" in result.stderr

    result = CliRunner().invoke(app, ["suggest", "kle", "-i", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2 and "no such input file" in result.stderr


def test_skip_invalid_goes_on(app: typer.Typer, cli_env: Path, tmp_path: Path) -> None:
    src = _jsonl(tmp_path / "in.jsonl", [LETTERS[0], "[1, 2]", LETTERS[1]])
    result = CliRunner().invoke(app, ["suggest", "kle", "-i", str(src), "--engine", "tfidf",
                                      "--top", "1", "--skip-invalid"])
    assert result.exit_code == 0
    assert "skipped:" in result.stderr and "line 2" in result.stderr
    assert [r["id"] for r in _lines(result.stdout)] == ["a1", 17]


def test_output_streams_in_batches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Results for the first batch are written before the rest of the input is read."""
    consumed = 0

    class CountingStdin(io.StringIO):
        def __iter__(self):
            nonlocal consumed
            for line in self.getvalue().splitlines(keepends=True):
                consumed += 1
                yield line

    n = suggest_cli.BATCH * 3 + 5
    monkeypatch.setattr("sys.stdin", CountingStdin(
        "".join(json.dumps({"id": i, "text": f"tekst {i}"}) + "\n" for i in range(n))))
    seen_at_write: list[int] = []

    def handle(batch: list[TextItem]) -> list[dict[str, object]]:
        seen_at_write.append(consumed)
        return [{"id": it.id} for it in batch]

    written = suggest_cli._stream("-", tmp_path / "o.jsonl", TextItem, handle)
    assert written == n
    assert seen_at_write[0] == suggest_cli.BATCH < n
    assert len(_lines((tmp_path / "o.jsonl").read_text())) == n


def test_confirm_retrain_then_suggest(app: typer.Typer, cli_env: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    before = _rank_of(app, tmp_path, "09.19.00")
    text = "Spørgsmål om hundeskov ved søen og hegn omkring"
    result = runner.invoke(app, ["suggest", "confirm", "kle", "--id", "c1", "--text", text,
                                 "--code", "09.19.00"])
    assert result.exit_code == 0, result.output
    assert (cli_env / "examples" / "kle.jsonl").is_file()
    batch = _jsonl(tmp_path / "confirmed.jsonl",
                   [{"id": "c2", "text": "Carport ansøgning", "code": "02.34.02"}])
    assert runner.invoke(app, ["suggest", "confirm", "kle", "-i", str(batch)]).exit_code == 0
    bad = runner.invoke(app, ["suggest", "confirm", "kle", "--id", "c3", "--text", "x",
                              "--code", "99.99.99"])
    assert bad.exit_code == 2 and "code '99.99.99' is not in kle" in bad.stderr
    incomplete = runner.invoke(app, ["suggest", "confirm", "kle", "--id", "c4"])
    assert incomplete.exit_code == 2 and "--input FILE.jsonl" in incomplete.stderr

    result = runner.invoke(app, ["suggest", "retrain", "kle", "--engine", "tfidf"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["examples"] == 2
    assert (cli_env / "models" / "suggest" / "kle" / "meta.json").is_file()

    after = _rank_of(app, tmp_path, "09.19.00")
    assert after < before, (before, after)


def _rank_of(app: typer.Typer, tmp_path: Path, code: str) -> int:
    src = _jsonl(tmp_path / "q.jsonl", [{"id": 1, "text": "Om hundeskov ved Nørresø og hegn"}])
    result = CliRunner().invoke(app, ["suggest", "kle", "-i", str(src), "--engine", "tfidf",
                                      "--top", "50", "--no-evidence"])
    codes = [s["code"] for s in _lines(result.stdout)[0]["suggestions"]]
    return codes.index(code) if code in codes else 99


GOLD = [
    {"id": 1, "text": "Jeg søger om byggetilladelse til en carport på min grund.",
     "code": ["02.34.02", "02.34.24"]},
    {"id": 2, "text": "Jeg vil gerne søge om boligstøtte til min nye lejlighed.",
     "code": "32.06.*"},
    {"id": 3, "text": "Min mor har brug for hjemmehjælp til rengøring og personlig pleje.",
     "code": "27.36.04"},
]


def test_evaluate_prints_accuracy_ece_and_reliability(app: typer.Typer, cli_env: Path,
                                                      tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", GOLD)
    runner = CliRunner()
    result = runner.invoke(app, ["suggest", "evaluate", "--input", str(gold), "--engine",
                                 "tfidf"])
    assert result.exit_code == 0, result.output
    assert "3 texts" in result.stdout and "@10" in result.stdout and "ECE" in result.stdout
    assert "confidence bin" in result.stdout
    as_json = runner.invoke(app, ["suggest", "evaluate", "-i", str(gold), "--engine", "tfidf",
                                  "--json"])
    report = json.loads(as_json.stdout)
    assert set(report["accuracy"]) == {"1", "3", "10"} and report["n"] == 3
    assert report["accuracy"]["10"] >= report["accuracy"]["1"] > 0
    assert sum(b["n"] for b in report["reliability"]) == 3
    bad = _jsonl(tmp_path / "bad.jsonl", [{"id": 1, "text": "x", "code": []}])
    result = runner.invoke(app, ["suggest", "evaluate", "-i", str(bad), "--engine", "tfidf"])
    assert result.exit_code == 2 and "bad.jsonl line 1: code" in result.stderr


def test_progress_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    with suggest_cli.progress("x", 3) as advance:  # pytest's stderr is not a TTY
        advance(3)
        seen.append(1)
    assert seen == [1]

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    fake = Tty()
    monkeypatch.setattr("sys.stderr", fake)
    with suggest_cli.progress("training", 2) as advance:
        advance(2)
    assert "training" in fake.getvalue()


def test_http_engine_against_loopback_service(app: typer.Typer, cli_env: Path, tmp_path: Path,
                                              embedding_service: Any) -> None:
    src = _jsonl(tmp_path / "in.jsonl", [{"id": 1, "text": "Borgeren har tryksår på hælen"}])
    args = ["suggest", "fsiii", "-i", str(src), "--engine", "http", "--top", "3",
            "--embed-url", embedding_service.url + "/v1/embeddings"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    [row] = _lines(result.stdout)
    assert len(row["suggestions"]) == 3
    label_requests = [r for r in embedding_service.requests
                      if r["body"]["input_type"] == "passage"]
    assert sum(len(r["body"]["input"]) for r in label_requests) == 73
    before = len(embedding_service.requests)
    assert CliRunner().invoke(app, args).exit_code == 0
    assert len(embedding_service.requests) == before + 1  # labels cached, only the query


def test_router_train_predict_evaluate(app: typer.Typer, cli_env: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    model = tmp_path / "model"
    result = runner.invoke(app, ["router", "train", "--data", str(sib200_file("dan", "train")),
                                 "--text-col", "text", "--label-col", "category",
                                 "-o", str(model), "--engine", "tfidf"])
    assert result.exit_code == 0, result.output
    assert (model / "meta.json").is_file() and "701 texts" in result.stderr

    src = _jsonl(tmp_path / "in.jsonl", [
        {"id": "s", "text": "Holdet vandt kampen 3-0 og gik videre til semifinalen."}])
    result = runner.invoke(app, ["router", "predict", "--model", str(model), "-i", str(src)])
    assert result.exit_code == 0, result.output
    [row] = _lines(result.stdout)
    assert row["id"] == "s" and len(row["suggestions"]) == 3
    top = row["suggestions"][0]
    assert top["code"] == top["title"] == "sports"
    assert set(top) == {"code", "title", "score", "confidence"}
    assert 0 < top["confidence"] <= 1

    dev = str(sib200_file("dan", "dev"))
    result = runner.invoke(app, ["router", "evaluate", "--model", str(model), "--data", dev,
                                 "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["accuracy"] > 0.5 and report["n"] == 99
    assert {"macro_f1", "per_class", "confusion", "labels"} <= set(report)
    assert report["calibration"]["n"] == 99 and 0 <= report["calibration"]["ece"] < 0.25
    text = runner.invoke(app, ["router", "evaluate", "--model", str(model), "--data", dev])
    assert "macro-F1" in text.stdout and "confusion" in text.stdout and "ECE" in text.stdout


def test_router_errors(app: typer.Typer, cli_env: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "cases.tsv"
    data.write_text("text\tteam\nen sag\tByg\n", encoding="utf-8")
    result = runner.invoke(app, ["router", "train", "--data", str(data), "--label-col",
                                 "afdeling", "-o", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert f"{data}: no label column 'afdeling' (columns: text, team)" in result.stderr
    result = runner.invoke(app, ["router", "train", "--data", str(data), "--label-col", "team",
                                 "-o", str(tmp_path / "m"), "--engine", "tfidf"])
    assert result.exit_code == 2 and "column 'team' has only one label" in result.stderr
    src = _jsonl(tmp_path / "in.jsonl", [{"id": 1, "text": "x"}])
    result = runner.invoke(app, ["router", "predict", "--model", str(tmp_path / "none"),
                                 "-i", str(src)])
    assert result.exit_code == 2 and "no such model folder" in result.stderr
