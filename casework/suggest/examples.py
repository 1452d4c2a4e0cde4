"""Confirmed choices (text → code) and the retrained model built from them.

Caseworkers confirm or correct a suggestion; each confirmation is appended to a JSON-lines
store (one file per taxonomy). ``retrain`` snapshots the store into a model folder with the
examples' embeddings precomputed, so starting a suggester stays fast. The texts are case
content: both folders live in the installation's data dir and must be protected like it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from casework.suggest.encoders import dense_encoder, resolve_engine
from casework.suggest.taxonomy import Taxonomy, TaxonomyError, load_taxonomy

log = logging.getLogger(__name__)
STORE_VERSION = 1


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
    code: str = Field(min_length=1)
    confirmed_at: datetime = Field(default_factory=_now)


class ExampleStore:
    """Append-only JSON lines, ``<folder>/<taxonomy>.jsonl``; the last entry per id wins."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder else _settings_dir("examples")

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
    def default_dir(taxonomy: str) -> Path:
        return _settings_dir("models") / "suggest" / taxonomy

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


def retrain(taxonomy_name: str, *, store: ExampleStore | None = None,
            model_dir: Path | None = None, engine: str = "hybrid",
            taxonomy_path: Path | None = None, branches: Sequence[str] | None = None,
            http_url: str | None = None) -> ExampleModelMeta:
    """Rebuild ``<model_dir>`` from all confirmed examples of one taxonomy."""
    store = store or ExampleStore()
    examples = store.latest(taxonomy_name)
    if not examples:
        raise ValueError(
            f"no confirmed examples for {taxonomy_name} in {store.path(taxonomy_name)}")
    taxonomy = load_taxonomy(taxonomy_name, taxonomy_path, branches)
    model = build_example_model(taxonomy, examples, engine, http_url=http_url)
    folder = Path(model_dir) if model_dir else ExampleModel.default_dir(taxonomy_name)
    model.save(folder)
    log.info("retrained %s: %s", taxonomy_name, json.dumps(model.meta.model_dump(mode="json")))
    return model.meta
