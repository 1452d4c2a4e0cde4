"""Parsers for the two shipped taxonomies (KLE and Fælles Sprog III) into one label shape.

The suggesters only need ``Label`` (code, title, group, keywords, description); the parsers keep
the richer source shapes (``Subject``, ``Concept``) for callers that want them. Malformed input
fails loudly with file and line (or JSON path): a silently half-read taxonomy would give
plausible but wrong suggestions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from casework.suggest import resources
from casework.suggest.errors import TaxonomyError

__all__ = ["TaxonomyError"]  # re-exported: callers catch it from here too

KLE_NAME = "kle"
FSIII_NAME = "fsiii"
DEFAULT_FSIII_BRANCHES: tuple[str, ...] = ("I", "J")
ALL_BRANCHES: tuple[str, ...] = ("*",)  # every FSIII branch (e.g. to validate confirmed codes)

_KLE_LINE = re.compile(
    r"^KLENummer='(?P<code>[^']*)':KLETitel='(?P<title>.*?)':Keywords\[Weight\][=:](?P<kw>.*)$"
)
_KLE_CODE = re.compile(r"^\d\d\.\d\d\.\d\d$")
_KEYWORD = re.compile(r"^(?P<text>.*?)\s*\[(?P<weight>\d+)\]$")


class Keyword(NamedTuple):
    """A KLE keyword and its weight (a tuple: 32,000 of them must parse in milliseconds)."""

    text: str
    weight: int


class Subject(BaseModel):
    """One KLE subject (``NN.NN.NN``) with its weighted keywords."""

    model_config = ConfigDict(frozen=True)

    code: str
    title: str
    keywords: tuple[Keyword, ...] = ()
    line: int = Field(description="1-based line in the source file, for error messages.")

    @property
    def main_group(self) -> str:
        """Hovedgruppe, e.g. ``02`` (Byggeri)."""
        return self.code[:2]

    @property
    def group(self) -> str:
        """Gruppe, e.g. ``02.34``."""
        return self.code[:5]


class Concept(BaseModel):
    """One FSIII concept with its place in the hierarchy."""

    model_config = ConfigDict(frozen=True)

    code: str
    display: str
    definition: str | None = None
    branch: str = Field(description="Top-level code, e.g. 'I' (helbredstilstande).")
    branch_display: str
    parent: str | None = None
    parent_display: str | None = None
    depth: int = Field(ge=0, description="0 for a branch, 1 for a group, ...")
    is_leaf: bool


class Label(BaseModel):
    """What a suggester ranks: one code with the text that describes it."""

    model_config = ConfigDict(frozen=True)

    code: str
    title: str
    group: str = ""
    group_title: str = ""
    keywords: tuple[Keyword, ...] = ()
    description: str = ""


class Taxonomy(BaseModel):
    """A named list of labels plus the hash of the file they came from."""

    model_config = ConfigDict(frozen=True)

    name: str
    source: str = Field(description="File name the labels were read from.")
    sha256: str
    labels: tuple[Label, ...]

    def by_code(self) -> dict[str, Label]:
        return {label.code: label for label in self.labels}

    def with_labels(self, labels: Iterable[Label], note: str) -> Taxonomy:
        """A variant (e.g. with held-out keywords removed); ``note`` keeps cache keys apart."""
        return Taxonomy(
            name=self.name, source=f"{self.source}#{note}", sha256=f"{self.sha256}#{note}",
            labels=tuple(labels),
        )


# --------------------------------------------------------------------------- KLE


def parse_kle(path: Path) -> list[Subject]:
    """Read an OS2KLE export: one subject per line, ``Keywords[Weight]=`` or ``:``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaxonomyError(f"{path}: cannot read KLE file: {exc}") from exc
    subjects: list[Subject] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        match = _KLE_LINE.match(line)
        if not match:
            raise TaxonomyError(
                f"{path}:{lineno}: not a KLE line (expected \"KLENummer='NN.NN.NN':"
                f"KLETitel='...':Keywords[Weight]=...\"): {line[:80]!r}"
            )
        code = match["code"]
        if not _KLE_CODE.match(code):
            raise TaxonomyError(f"{path}:{lineno}: KLE number {code!r} is not NN.NN.NN")
        if code in seen:
            raise TaxonomyError(f"{path}:{lineno}: KLE number {code} already on line {seen[code]}")
        seen[code] = lineno
        title = match["title"].strip()
        if not title:
            raise TaxonomyError(f"{path}:{lineno}: KLE number {code} has an empty title")
        subjects.append(
            Subject(code=code, title=title, keywords=_kle_keywords(match["kw"], path, lineno),
                    line=lineno)
        )
    if not subjects:
        raise TaxonomyError(f"{path}: no KLE subjects found (empty file?)")
    return subjects


def _kle_keywords(field: str, path: Path, lineno: int) -> tuple[Keyword, ...]:
    keywords: list[Keyword] = []
    for part in field.split(";"):
        part = part.strip()
        if not part:
            continue
        match = _KEYWORD.match(part)
        if not match or not match["text"].strip():
            raise TaxonomyError(
                f"{path}:{lineno}: keyword {part[:60]!r} is not 'text[weight]'"
            )
        keywords.append(Keyword(match["text"].strip(), int(match["weight"])))
    return tuple(keywords)


def kle_labels(subjects: Sequence[Subject]) -> list[Label]:
    """KLE subjects as labels; the group title is the title of ``NN.NN.00`` when present."""
    titles = {s.code: s.title for s in subjects}
    return [
        Label(
            code=s.code, title=s.title, group=s.group,
            group_title=titles.get(f"{s.group}.00", ""), keywords=s.keywords,
        )
        for s in subjects
    ]


def load_kle(path: Path | None = None) -> Taxonomy:
    """The KLE taxonomy from ``path`` or the copy shipped in the package."""
    path = Path(path) if path else resources.KLE_FILE
    labels = kle_labels(parse_kle(path))
    return Taxonomy(name=KLE_NAME, source=path.name, sha256=resources.sha256_file(path),
                    labels=tuple(labels))


# --------------------------------------------------------------------------- FSIII


def parse_fsiii(path: Path) -> list[Concept]:
    """Read the FSIII FHIR CodeSystem into a flat list of concepts (all branches)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise TaxonomyError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise TaxonomyError(f"{path}: cannot read FSIII file: {exc}") from exc
    if not isinstance(data, dict) or data.get("resourceType") != "CodeSystem":
        raise TaxonomyError(f"{path}: not a FHIR CodeSystem (resourceType must be 'CodeSystem')")
    top = data.get("concept")
    if not isinstance(top, list) or not top:
        raise TaxonomyError(f"{path}: CodeSystem has no 'concept' list")
    concepts: list[Concept] = []
    seen: set[str] = set()

    def walk(items: Any, where: str, depth: int, branch: tuple[str, str] | None,
             parent: tuple[str, str] | None) -> None:
        if not isinstance(items, list):
            raise TaxonomyError(f"{path}: {where} must be a list")
        for i, item in enumerate(items):
            here = f"{where}[{i}]"
            if not isinstance(item, dict):
                raise TaxonomyError(f"{path}: {here} is not an object")
            code, display = item.get("code"), item.get("display")
            if not isinstance(code, str) or not code.strip():
                raise TaxonomyError(f"{path}: {here} has no 'code'")
            if not isinstance(display, str) or not display.strip():
                raise TaxonomyError(f"{path}: {here} (code {code}) has no 'display'")
            if code in seen:
                raise TaxonomyError(f"{path}: {here}: code {code} appears twice")
            seen.add(code)
            definition = item.get("definition")
            children = item.get("concept") or []
            this = (code, display.strip())
            own_branch = branch or this
            concepts.append(
                Concept(
                    code=code, display=this[1],
                    definition=definition.strip() if isinstance(definition, str) else None,
                    branch=own_branch[0], branch_display=own_branch[1],
                    parent=parent[0] if parent else None,
                    parent_display=parent[1] if parent else None,
                    depth=depth, is_leaf=not children,
                )
            )
            if children:
                walk(children, f"{here}.concept", depth + 1, own_branch, this)

    walk(top, "concept", 0, None, None)
    return concepts


def fsiii_labels(concepts: Sequence[Concept], branches: Sequence[str] = DEFAULT_FSIII_BRANCHES
                 ) -> list[Label]:
    """Leaf concepts of the chosen branches (default I helbreds-, J funktionsevnetilstande;
    ``("*",)`` = all)."""
    known = {c.branch for c in concepts}
    if tuple(branches) == ALL_BRANCHES:
        branches = sorted(known)
    unknown = [b for b in branches if b not in known]
    if unknown:
        raise TaxonomyError(
            f"unknown FSIII branch(es) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    wanted = set(branches)
    return [
        Label(
            code=c.code, title=c.display, group=c.parent or c.branch,
            group_title=c.parent_display or c.branch_display, description=c.definition or "",
        )
        for c in concepts
        if c.branch in wanted and c.is_leaf and c.depth > 0
    ]


def load_fsiii(path: Path | None = None, branches: Sequence[str] = DEFAULT_FSIII_BRANCHES
               ) -> Taxonomy:
    """FSIII conditions from ``path`` or the shipped copy, limited to ``branches``."""
    path = Path(path) if path else resources.FSIII_FILE
    labels = fsiii_labels(parse_fsiii(path), branches)
    return Taxonomy(name=FSIII_NAME, source=path.name,
                    sha256=resources.sha256_file(path), labels=tuple(labels))


def load_taxonomy(name: str, path: Path | None = None,
                  branches: Sequence[str] | None = None) -> Taxonomy:
    """``kle`` or ``fsiii`` by name (what the CLI and the example store use)."""
    if name == KLE_NAME:  # KLE has no branches; ALL_BRANCHES or None both mean everything
        return load_kle(path)
    if name == FSIII_NAME:
        return load_fsiii(path, tuple(branches) if branches else DEFAULT_FSIII_BRANCHES)
    raise TaxonomyError(f"unknown taxonomy {name!r}; expected 'kle' or 'fsiii'")
