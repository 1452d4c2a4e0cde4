"""Paths to the reference data shipped inside the package, and file hashing.

Everything is resolved relative to the installed package so the engines work offline and
never depend on the checkout layout or a shared drive.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
KLE_FILE = DATA_DIR / "kle" / "OS2KLE.txt"
FSIII_FILE = DATA_DIR / "fsiii" / "CodeSystem-FSIII.json"
SIB200_DIR = DATA_DIR / "sib200"
EMBEDDINGS_DIR = DATA_DIR / "embeddings"


def sib200_file(lang: str = "dan", split: str = "train") -> Path:
    """One SIB-200 topic file, e.g. ``sib200_file("nob", "dev")``."""
    path = SIB200_DIR / f"{lang}_Latn_{split}.tsv"
    if not path.is_file():
        raise FileNotFoundError(f"no SIB-200 file for language {lang!r}, split {split!r}: {path}")
    return path


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file; used to notice that a taxonomy file has changed."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha1_text(text: str) -> str:
    """Short stable hash of one label document (cache key for its embedding)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
