"""Every repository path the documentation names exists: a newcomer follows README.md and
docs/ without reading the source, so a path left behind by a reorganisation (casework/ into
rights/, oversight/, ops/, prefect_view/) is a dead end for them."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOP = ("casework/", "flows/", "connectors/", "policies/", "standins/", "demo/", "bench/", "docs/",
       "deploy/", "tests/", ".ci/")
TICKED = re.compile(r"`([^`\n]+)`")
LINKED = re.compile(r"\]\(([^)#\s]+)")


def documents() -> list[Path]:
    return sorted(p for p in REPO.rglob("*.md")
                  if not {".venv", ".casework", ".git", "node_modules"} & set(p.parts))


def scaffolded() -> set[str]:
    """The files ``casework new robot address_change`` writes: the tutorial names them, in the
    reader's own project, not in this repository."""
    from casework.scaffold import FILES

    return {target.format(name="address_change") for target in FILES.values()}


def broken(doc: Path, root: Path = REPO, theirs: frozenset[str] = frozenset()) -> list[str]:
    """``file:line: path`` for each backticked repository path or relative link that is missing.
    Backticked paths count from the repository root (``casework/rights/explain.py``); links
    from the document's folder, as a Markdown viewer reads them; ``theirs`` are paths in the
    reader's project."""
    found = []
    for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
        for text in TICKED.findall(line):
            path = text.strip().rstrip(".,:;")
            if not path.startswith(TOP) or re.search(r"[\s*<>{}|]", path):
                continue  # not a path, or a pattern (tests/*/test_x.py, casework/<pkg>/)
            path = re.sub(r"(::\w+|:\d+)$", "", path)  # tests/x.py::test_y, file.py:12
            if path not in theirs and not (root / path).exists():
                found.append(f"{doc.relative_to(root)}:{number}: {text}")
        for target in LINKED.findall(line):
            if target.startswith(("http:", "https:", "mailto:")):
                continue
            if not (doc.parent / target).exists():
                found.append(f"{doc.relative_to(root)}:{number}: link {target}")
    return found


def test_the_documents_are_found() -> None:
    names = {str(p.relative_to(REPO)) for p in documents()}
    assert {"README.md", "docs/tutorial.md", "docs/architecture.md", "flows/README.md",
            "connectors/README.md", "policies/README.md"} <= names


def test_every_path_the_documentation_names_exists() -> None:
    theirs = frozenset(scaffolded())
    assert [problem for doc in documents() for problem in broken(doc, theirs=theirs)] == []


def test_a_missing_path_is_reported_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "casework" / "rights").mkdir(parents=True)
    (tmp_path / "casework" / "rights" / "explain.py").write_text("")
    (tmp_path / "docs").mkdir()
    doc = tmp_path / "docs" / "guide.md"
    doc.write_text("intro\nsee `casework/rights/explain.py` and `casework/explain.py`, "
                   "[x](nowhere.md), [y](../casework/rights/explain.py), `robots/mine.py`\n"
                   "`tests/test_mine.py`\n", encoding="utf-8")
    assert broken(doc, tmp_path, frozenset({"tests/test_mine.py"})) == [
        "docs/guide.md:2: casework/explain.py", "docs/guide.md:2: link nowhere.md"]
