"""Caseworkers' decisions (text → code) and the retrained model built from them.

Every approved, amended or rejected suggestion becomes a labelled ``Example`` with the code
the caseworker chose (and what the robot had suggested), appended to a JSON-lines store: one
file per taxonomy, in one folder per municipality when a municipality is given
(``<data_dir>/examples/<municipality>/kle.jsonl``; without one, ``<data_dir>/examples/kle.jsonl``).

A rejection names no right code, only a wrong one: it is stored with ``decision="rejected"``
and ``code`` = the suggestion ruled out, as negative evidence. ``retrain`` learns only from
``confirmed`` examples (approved or amended); the ranker has no feature for "not this code"
yet, so rejections are kept (and counted in the model's meta) but do not move the ranking.

``retrain`` snapshots the store into a model folder with the examples' embeddings precomputed
and **refits the ranker's weights and calibration** on the examples (cross-fitted: each
example is scored with the other folds' examples as evidence, as a new letter would be), with
the shipped weights as prior, so a few examples nudge and many examples move the ranking.
The texts are case content: both folders live in the installation's data dir and must be
protected like it.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from casework.suggest.encoders import Encoder, dense_encoder, resolve_engine
from casework.suggest.taxonomy import Taxonomy, TaxonomyError, load_taxonomy

if TYPE_CHECKING:
    from casework.suggest.ranker import RankerModel

log = logging.getLogger(__name__)
STORE_VERSION = 1
MIN_EXAMPLES_FOR_REFIT = 20
# Pull of the refit towards the shipped weights; per-example log-likelihoods are summed, so
# with 50 examples the data outweigh this prior on the features the examples exercise.
EXAMPLE_PRIOR_L2 = 2.0
BACKGROUND_LETTERS = 200
# What a municipality's examples refit. The other weights were learnt on thousands of held-out
# keyword queries; the background letters still contain their keywords, so letting those
# weights move would overrate exact keyword matches.
REFIT_FEATURES = ("example",)
_MUNICIPALITY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def _now() -> datetime:
    return datetime.now(UTC)


def _settings_dir(sub: str) -> Path:
    from casework.settings import get_settings

    return get_settings().data_dir / sub


class Example(BaseModel):
    """One confirmed choice."""

    model_config = ConfigDict(frozen=True, coerce_numbers_to_str=True)

    id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    code: str = Field(min_length=1, description="The code the caseworker chose; for a "
                      "rejection, the suggested code they ruled out.")
    confirmed_at: datetime = Field(default_factory=_now)
    suggested: str | None = Field(None, description="What the robot suggested, if known.")
    decision: Literal["approved", "amended", "rejected"] | None = None


class ExampleStore:
    """Append-only JSON lines, ``<folder>[/<municipality>]/<taxonomy>.jsonl``; the last entry
    per id wins."""

    def __init__(self, folder: Path | None = None, municipality: str | None = None) -> None:
        base = Path(folder) if folder else _settings_dir("examples")
        self.municipality = _check_municipality(municipality)
        self.folder = base / self.municipality if self.municipality else base

    def path(self, taxonomy: str) -> Path:
        return self.folder / f"{taxonomy}.jsonl"

    def add(self, taxonomy: Taxonomy, examples: Iterable[Example]) -> int:
        """Append examples after checking each code exists in ``taxonomy``."""
        known = taxonomy.by_code()
        items = list(examples)
        for ex in items:
            if ex.code not in known:
                raise TaxonomyError(
                    f"example {ex.id!r}: code {ex.code!r} is not in {taxonomy.name} "
                    f"({taxonomy.source})"
                )
        if not items:
            return 0
        self.folder.mkdir(parents=True, exist_ok=True)
        lines = "".join(ex.model_dump_json() + "\n" for ex in items)
        # One O_APPEND write per call: concurrent confirmers do not interleave lines.
        fd = os.open(self.path(taxonomy.name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, lines.encode("utf-8"))
        finally:
            os.close(fd)
        return len(items)

    def iter(self, taxonomy: str) -> Iterator[Example]:
        path = self.path(taxonomy)
        if not path.is_file():
            return
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    yield Example.model_validate_json(line)
                except ValidationError as exc:
                    raise ValueError(f"{path} line {lineno}: not a valid example: "
                                     f"{exc.errors()[0]['msg']}") from exc

    def latest(self, taxonomy: str) -> list[Example]:
        """One example per id (a later confirmation corrects an earlier one)."""
        by_id: dict[str, Example] = {}
        for ex in self.iter(taxonomy):
            by_id.pop(ex.id, None)
            by_id[ex.id] = ex
        return list(by_id.values())

    def confirmed(self, taxonomy: str) -> list[Example]:
        """The latest examples whose code a caseworker chose (not rejections)."""
        return [ex for ex in self.latest(taxonomy) if ex.decision != "rejected"]


class ExampleModelMeta(BaseModel):
    taxonomy: str
    taxonomy_sha256: str
    engine: str
    encoder: str | None
    examples: int
    codes: int
    skipped_unknown_codes: int
    created: datetime
    version: int = STORE_VERSION
    ranker: dict[str, float | str] | None = Field(
        None, description="The refitted ranker's file and cross-fitted metrics, if refitted.")
    rejected: int = Field(0, description="Rejections in the store: kept as negative "
                                         "evidence, not learnt from.")


class ExampleModel:
    """Snapshot of confirmed examples plus their dense vectors (``examples.jsonl`` +
    ``dense.npy`` + ``meta.json`` in the model folder)."""

    def __init__(self, meta: ExampleModelMeta, examples: list[Example],
                 dense: np.ndarray | None) -> None:
        self.meta, self.examples, self.dense = meta, examples, dense

    @property
    def texts(self) -> list[str]:
        return [ex.text for ex in self.examples]

    @property
    def codes(self) -> list[str]:
        return [ex.code for ex in self.examples]

    def dense_for(self, encoder_name: str | None) -> np.ndarray | None:
        """Stored vectors if they came from ``encoder_name``; else None (re-embed)."""
        if encoder_name and self.dense is not None and self.meta.encoder == encoder_name:
            return self.dense.astype(np.float32)
        return None

    @staticmethod
    def default_dir(taxonomy: str, municipality: str | None = None) -> Path:
        base = _settings_dir("models") / "suggest"
        municipality = _check_municipality(municipality)
        return base / municipality / taxonomy if municipality else base / taxonomy

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "examples.jsonl").open("w", encoding="utf-8") as fh:
            for ex in self.examples:
                fh.write(ex.model_dump_json() + "\n")
        dense_file = folder / "dense.npy"
        if self.dense is not None:
            np.save(dense_file, self.dense.astype(np.float16))
        else:
            dense_file.unlink(missing_ok=True)
        (folder / "meta.json").write_text(self.meta.model_dump_json(indent=2) + "\n",
                                          encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> ExampleModel:
        meta_file = folder / "meta.json"
        if not meta_file.is_file():
            raise FileNotFoundError(f"{folder}: not a retrained suggestion model (no meta.json)")
        meta = ExampleModelMeta.model_validate_json(meta_file.read_text(encoding="utf-8"))
        with (folder / "examples.jsonl").open(encoding="utf-8") as fh:
            examples = [Example.model_validate_json(line) for line in fh if line.strip()]
        dense_file = folder / "dense.npy"
        dense = np.load(dense_file) if dense_file.is_file() else None
        return cls(meta, examples, dense)

    @classmethod
    def load_if_present(cls, taxonomy: str, model_dir: Path | None = None) -> ExampleModel | None:
        folder = Path(model_dir) if model_dir else cls.default_dir(taxonomy)
        if not (folder / "meta.json").is_file():
            return None
        model = cls.load(folder)
        if model.meta.taxonomy != taxonomy:
            raise ValueError(f"{folder}: model is for {model.meta.taxonomy!r}, not {taxonomy!r}")
        return model


def build_example_model(taxonomy: Taxonomy, examples: list[Example], engine: str = "hybrid",
                        *, http_url: str | None = None) -> ExampleModel:
    """Keep examples whose code exists and embed them once with the engine's dense encoder."""
    known = taxonomy.by_code()
    kept = [ex for ex in examples if ex.code in known]
    skipped = len(examples) - len(kept)
    if skipped:
        log.warning("%d examples name codes that are not in %s; left out", skipped, taxonomy.name)
    engine = resolve_engine(engine)
    encoder = dense_encoder(engine, http_url=http_url)
    dense = encoder.encode([ex.text for ex in kept], role="query") if encoder and kept else None
    meta = ExampleModelMeta(
        taxonomy=taxonomy.name, taxonomy_sha256=taxonomy.sha256, engine=engine,
        encoder=encoder.name if encoder else None, examples=len(kept),
        codes=len({ex.code for ex in kept}), skipped_unknown_codes=skipped, created=_now(),
    )
    return ExampleModel(meta, kept, None if dense is None else np.asarray(dense))


def _check_municipality(name: str | None) -> str | None:
    if name is None or name == "":
        return None
    if not _MUNICIPALITY.match(name):
        raise ValueError(f"municipality {name!r}: use letters, digits, '-' or '_' (it names a "
                         "folder)")
    return name


def refit_ranker(taxonomy: Taxonomy, model: ExampleModel, engine: str, *,
                 cache_dir: Path | None = None, dense: Encoder | None = None,
                 folds: int = 5, progress: Callable[[int], None] | None = None
                 ) -> RankerModel | None:
    """Ranker weights and calibration refitted on the examples (None if under
    ``MIN_EXAMPLES_FOR_REFIT``).

    Each fold's examples are scored with only the other folds' examples loaded, as a new
    letter would be. Pseudo-letters of other codes (``background_letters``) join the weight
    fit, so that examples of one kind teach "letters like these get this code", not "every
    letter gets this code". The calibration is refitted on the examples alone (they are the
    municipality's real letters) when the fit has enough of them; otherwise the shipped one
    is kept. The starter examples (``casework.suggest.starter``) are loaded as at run time; they
    are their own feature, whose weight stays: only the weight of the municipality's examples
    moves (in one feature, the background letters, of random subjects the starter texts rarely
    share, taught "examples mislead" and 50 corrections no longer moved the ranking).
    """
    from casework.suggest import starter as starters
    from casework.suggest.calibration import Calibrator
    from casework.suggest.ranker import FEATURES, fit_weights, load_ranker
    from casework.suggest.suggester import TaxonomySuggester
    from casework.suggest.training import background_letters, collect

    n = len(model.examples)
    if n < MIN_EXAMPLES_FOR_REFIT:
        log.info("%d examples: ranker not refitted (needs %d)", n, MIN_EXAMPLES_FOR_REFIT)
        return None
    base = load_ranker(taxonomy.name, engine)
    suggester = TaxonomySuggester(taxonomy, engine, cache_dir=cache_dir, dense=dense,
                                  ranker=base)
    dense_vecs = model.dense_for(suggester.dense_encoder_name)
    with_starters = starters.enabled() and bool(
        suggester.add_starter_examples(*starters.starter_examples(taxonomy.name)))
    bg_texts, bg_codes = background_letters(taxonomy, BACKGROUND_LETTERS)
    fold_of = np.arange(n) % folds
    np.random.default_rng(0).shuffle(fold_of)
    bg_fold = np.arange(len(bg_texts)) % folds
    ex_feats, ex_gold, bg_feats, bg_gold = [], [], [], []
    for f in range(folds):
        train = np.flatnonzero(fold_of != f)
        suggester.add_examples([model.texts[i] for i in train], [model.codes[i] for i in train],
                               dense_vectors=None if dense_vecs is None else dense_vecs[train])
        test = np.flatnonzero(fold_of == f)
        x, g = collect(suggester, [model.texts[i] for i in test],
                       [model.codes[i] for i in test])
        ex_feats.append(x)
        ex_gold.append(g)
        bg = np.flatnonzero(bg_fold == f)
        x, g = collect(suggester, [bg_texts[i] for i in bg], [bg_codes[i] for i in bg])
        bg_feats.append(x)
        bg_gold.append(g)
        if progress:
            progress(len(test))
    xe, ge = np.concatenate(ex_feats), np.concatenate(ex_gold)
    xb, gb = np.concatenate(bg_feats), np.concatenate(bg_gold)
    prior = np.asarray(base._w(), dtype=np.float64)
    weights = fit_weights(np.concatenate([xe, xb]), np.concatenate([ge, gb]), prior,
                          EXAMPLE_PRIOR_L2, free=REFIT_FEATURES)
    refit = base.model_copy(update={
        "features": list(FEATURES), "weights": [round(float(v), 5) for v in weights],
        "trained_on": f"{n} confirmed examples (cross-fitted) + {len(bg_texts)} background "
                      f"pseudo-letters"
                      f"{', starter examples loaded' if with_starters else ''}; "
                      f"prior: {base.trained_on}",
        "created": datetime.now(UTC)})
    # Calibration: the refitted weights on the examples' out-of-fold features (the weights saw
    # these rows, so this is slightly optimistic; folds are too small to refit per fold).
    probs = refit.probabilities(xe.astype(np.float32))
    raw, right = probs.max(axis=1), probs.argmax(axis=1) == ge
    calibration = Calibrator.fit(raw, right, fitted_on=f"{n} confirmed examples")
    if calibration.kind != "identity":
        refit.calibration = calibration
    refit.metrics = {"examples": float(n), "examples_top1": round(float(right.mean()), 4),
                     "background": float(len(bg_texts)),
                     "background_top1": round(float((refit.probabilities(
                         xb.astype(np.float32)).argmax(axis=1) == gb).mean()), 4)}
    return refit


def retrain(taxonomy_name: str, *, store: ExampleStore | None = None,
            model_dir: Path | None = None, engine: str = "hybrid",
            taxonomy_path: Path | None = None, branches: Sequence[str] | None = None,
            http_url: str | None = None, cache_dir: Path | None = None,
            progress: Callable[[int], None] | None = None) -> ExampleModelMeta:
    """Rebuild ``<model_dir>`` from all confirmed examples of one taxonomy: the examples
    model, and (with enough examples) ``ranker.<engine>.json`` with refitted weights and
    calibration."""
    from casework.suggest.ranker import local_ranker_file

    store = store or ExampleStore()
    latest = store.latest(taxonomy_name)
    examples = [ex for ex in latest if ex.decision != "rejected"]
    if not examples:
        rejected = f" (only {len(latest)} rejection(s))" if latest else ""
        raise ValueError(
            f"no confirmed examples for {taxonomy_name} in {store.path(taxonomy_name)}"
            f"{rejected}")
    taxonomy = load_taxonomy(taxonomy_name, taxonomy_path, branches)
    engine = resolve_engine(engine)
    model = build_example_model(taxonomy, examples, engine, http_url=http_url)
    model.meta.rejected = len(latest) - len(examples)
    folder = Path(model_dir) if model_dir else ExampleModel.default_dir(
        taxonomy_name, store.municipality)
    dense = dense_encoder(engine, http_url=http_url) if engine != "tfidf" else None
    ranker = refit_ranker(taxonomy, model, engine, cache_dir=cache_dir, dense=dense,
                          progress=progress)
    model.save(folder)
    local = local_ranker_file(folder, engine)
    if ranker is not None:
        ranker.save(local)
        model.meta.ranker = {"file": local.name, **ranker.metrics}
        model.save(folder)
    else:
        local.unlink(missing_ok=True)
    log.info("retrained %s: %s", taxonomy_name, json.dumps(model.meta.model_dump(mode="json")))
    return model.meta
