"""docs/tutorial.md, executed: its shell blocks run in bash in an empty folder (against a real
Prefect API and the case-system stand-in on loopback), and the files it shows are exactly what
``casework new robot`` writes. So the tutorial cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from standins import case_system
from standins.server import serving

REPO = Path(__file__).resolve().parents[2]
TUTORIAL = REPO / "docs" / "tutorial.md"
BLOCK = re.compile(r"(?:<!-- (?P<marker>[^>]*) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)```",
                   re.DOTALL)


def blocks() -> list[tuple[str, str, str]]:
    """(marker, language, body) of every fenced block, in order."""
    return [(m["marker"] or "", m["lang"], m["body"])
            for m in BLOCK.finditer(TUTORIAL.read_text(encoding="utf-8"))]


def test_tutorial_shows_every_file_the_scaffold_writes() -> None:
    shown = {marker.removeprefix("file: ") for marker, _, _ in blocks()
             if marker.startswith("file: ")}
    from casework.scaffold import FILES

    assert shown == {target.format(name="address_change") for target in FILES.values()}


@pytest.mark.usefixtures("prefect_api")
def test_following_the_tutorial_gives_a_deployed_signed_off_reported_robot(
        tmp_path: Path) -> None:
    script = ["set -euo pipefail"]
    for marker, lang, body in blocks():
        if lang == "sh" and not marker.startswith("tutorial-test: skip"):
            script.append(body)
    folder = tmp_path / "my-robots"
    folder.mkdir()
    from prefect.settings import PREFECT_API_URL

    with serving(case_system.create_app(None, "standin-token")) as cases:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("CASEWORK_", "PYTEST"))}
        env.update(PATH=f"{Path(sys.executable).parent}:{env['PATH']}",
                   PREFECT_API_URL=str(PREFECT_API_URL.value()),
                   CASEWORK_CASE_SYSTEM_URL=cases.url, CASEWORK_CASE_SYSTEM_TOKEN="standin-token",
                   PREFECT_LOGGING_LEVEL="WARNING", DO_NOT_TRACK="1")
        run = subprocess.run(["bash", "-c", "\n".join(script)], cwd=folder, env=env,
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        notes = {case_id: httpx.get(f"{cases.url}/cases/{case_id}/notes",
                                    headers={"Authorization": "Bearer standin-token"}).json()
                 for case_id in ("SAG-2026-0002", "SAG-2026-0003")}

    # The files are the tutorial's, byte for byte.
    for marker, _, body in blocks():
        if marker.startswith("file: "):
            path = folder / marker.removeprefix("file: ")
            assert path.read_text(encoding="utf-8") == body, path
    out = run.stdout
    assert "3 passed" in out and "4 passed" in out  # scenarios, then the robot's own test
    assert "address_change: 2 new item(s)" in out
    assert "awaiting_signoff" in out and ": amended" in out
    # The autonomous note and the caseworker's amended address, each written once.
    texts = {case_id: [n["text"] for n in found] for case_id, found in notes.items()}
    assert [t for t in texts["SAG-2026-0002"] if "Søndergade 4" in t] != []
    assert len([t for t in texts["SAG-2026-0003"] if "Torvet 2, 1. th." in t]) == 1
    assert re.search(r"address_change\s+read_letter\s+2\s+1\s+1", out)
    assert (folder / "report.xlsx").stat().st_size > 0
    assert "address-change" in out  # prefect deployment ls
