"""The required-documents lists for building applications, and the check against them.

The lists live in ``flows/data/building_requirements.yaml`` (sources and caveats there). This
module loads them with clear errors, recognises what each document of a case is (by its
``document_type``, else by keywords in its file name, title or text) and compares that with
what the application type requires. It recognises documents; it does not judge their content.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_REQUIREMENTS = Path(__file__).parent / "data" / "building_requirements.yaml"

Basis = Literal["document_type", "name", "text"]


class RequirementsError(ValueError):
    """The requirements file is unusable; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DocumentKind(_Strict):
    title: str = Field(min_length=1)
    asks: str = Field(min_length=1, description="What the letter asks for, in Danish.")
    source: str = Field(min_length=1)
    document_types: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(min_length=1)


class ApplicationType(_Strict):
    title: str = Field(min_length=1)
    keywords: list[str] = Field(min_length=1)
    required: list[str] = Field(min_length=1)


class Requirements(_Strict):
    version: str = Field(min_length=1)
    reply_days: int = Field(default=14, ge=1, le=365)
    sources: dict[str, str] = Field(default_factory=dict)
    documents: dict[str, DocumentKind]
    application_types: dict[str, ApplicationType]

    def source_title(self, source: str) -> str:
        """The source's name for a caseworker (the key itself when the file has no name)."""
        return self.sources.get(source, source)

    @model_validator(mode="after")
    def _known_documents(self) -> Requirements:
        for name, kind in self.application_types.items():
            unknown = [doc for doc in kind.required if doc not in self.documents]
            if unknown:
                raise ValueError(f"application_types.{name}.required: unknown document "
                                 f"{unknown[0]!r} (known: {', '.join(self.documents)})")
        return self

    def fingerprint(self, application_type: str | None) -> str:
        """Changes when the version or this type's list changes."""
        required = self.application_types[application_type].required if (
            application_type in self.application_types) else []
        return f"{self.version}:{','.join(required)}"


def load_requirements(path: Path | str | None = None) -> Requirements:
    """Read and check a requirements file; errors name the file and the offending field."""
    path = Path(path) if path else DEFAULT_REQUIREMENTS
    return _load(path.resolve(), path.stat().st_mtime_ns if path.exists() else -1)


@lru_cache(maxsize=8)
def _load(path: Path, _stamp: int) -> Requirements:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RequirementsError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise RequirementsError(f"{path}{where}: not valid YAML") from None
    try:
        return Requirements.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        message = first["msg"].removeprefix("Value error, ")
        field = ".".join(str(p) for p in first["loc"])
        raise RequirementsError(f"{path}: {field}: {message}" if field else f"{path}: {message}"
                                ) from None


# -- recognising documents ---------------------------------------------------------------------

_FOLD = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "_": " ", ".": " "})


def fold(text: str) -> str:
    """Lower case, Danish letters spelt out (``ansøgning`` = ``ansoegning``), ``_``/``.`` as
    spaces, so that file names and prose match the same keywords."""
    text = unicodedata.normalize("NFC", text).lower().translate(_FOLD)
    return re.sub(r"\s+", " ", text)


def _pattern(keyword: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])" + re.escape(fold(keyword)))


def first_keyword(keywords: list[str], text: str) -> str | None:
    """The first keyword that starts a word in ``text`` (folded), or ``None``."""
    folded = fold(text)
    for keyword in keywords:
        if _pattern(keyword).search(folded):
            return keyword
    return None


class CaseDocument(BaseModel):
    """What the screening knows of one document on the case."""

    id: int
    title: str
    filename: str
    document_type: str
    sha256: str
    text: str | None = Field(default=None, description="Text content (CPR masked), if text.")


class Evidence(BaseModel):
    document_id: int
    document_title: str
    basis: Basis
    detail: str


class RequirementCheck(BaseModel):
    key: str
    title: str
    status: Literal["present", "missing", "unsure"]
    evidence: list[Evidence] = Field(default_factory=list)
    source: str


def recognise(kind: DocumentKind, doc: CaseDocument) -> Evidence | None:
    """Whether ``doc`` is (or may be) a document of ``kind``, and why."""
    if doc.document_type in kind.document_types:
        return Evidence(document_id=doc.id, document_title=doc.title, basis="document_type",
                        detail=f"dokumenttype {doc.document_type}")
    found = first_keyword(kind.keywords, f"{doc.filename} {doc.title}")
    if found:
        return Evidence(document_id=doc.id, document_title=doc.title, basis="name",
                        detail=f"filnavn eller titel indeholder {found!r}")
    if doc.text:
        found = first_keyword(kind.keywords, doc.text)
        if found:
            return Evidence(document_id=doc.id, document_title=doc.title, basis="text",
                            detail=f"teksten nævner {found!r}")
    return None


def check_documents(requirements: Requirements, application_type: str,
                    documents: list[CaseDocument]) -> list[RequirementCheck]:
    """One check per required document: present (by type or name), unsure (only the text
    mentions it) or missing."""
    checks = []
    for key in requirements.application_types[application_type].required:
        kind = requirements.documents[key]
        evidence = [found for doc in documents if (found := recognise(kind, doc))]
        certain = [e for e in evidence if e.basis != "text"]
        status = "present" if certain else ("unsure" if evidence else "missing")
        checks.append(RequirementCheck(key=key, title=kind.title, status=status,
                                       evidence=certain or evidence, source=kind.source))
    return checks


class TypeFinding(BaseModel):
    application_type: str | None
    certain: bool
    evidence: list[str]


def find_application_type(requirements: Requirements, texts: list[str]) -> TypeFinding:
    """The first type (in file order) whose keywords occur in the texts; uncertain when none
    or more than one type matches."""
    joined = "\n".join(texts)
    matches = [(name, kw) for name, kind in requirements.application_types.items()
               if (kw := first_keyword(kind.keywords, joined))]
    if not matches:
        return TypeFinding(application_type=None, certain=False,
                           evidence=["ingen kendt ansøgningstype nævnt i sagens titel eller "
                                     "ansøgning"])
    return TypeFinding(application_type=matches[0][0], certain=len(matches) == 1,
                       evidence=[f"{requirements.application_types[name].title}: {kw!r}"
                                 for name, kw in matches])


def document_set_key(case_id: str, documents: list[CaseDocument], requirements: Requirements,
                     application_type: str | None) -> str:
    """A short stable key for "this case, these documents, these requirements": a re-run over
    the same set finds what the first run filed instead of filing it again."""
    parts = [case_id, requirements.fingerprint(application_type),
             *sorted(f"{d.id}:{d.sha256}" for d in documents)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
