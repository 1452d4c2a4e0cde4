"""``casework new robot NAME``: the files of a new robot, as docs/tutorial.md builds them.

The templates are the tutorial's robot (``address_change``); the tutorial's test checks that
the tutorial shows exactly these files, so the scaffold and the tutorial cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

TEMPLATES = Path(__file__).with_name("templates")
EXAMPLE = "address_change"
NAME = re.compile(r"^[a-z][a-z0-9_]{1,60}$")
#: template file -> where it goes (``{name}`` filled in), relative to the project folder.
FILES = {
    "flow.py": "robots/{name}.py",
    "policy.yaml": "policies/{name}.yaml",
    "scenarios.yaml": "policies/{name}.scenarios.yaml",
    "test_flow.py": "tests/test_{name}.py",
    "prefect.yaml": "prefect.yaml",
}


class ScaffoldError(ValueError):
    """The robot cannot be written; the message says why in one line."""


@dataclass(frozen=True)
class Written:
    path: Path
    created: bool  # False: an existing file was left alone (only prefect.yaml)


def render(template: str, name: str) -> str:
    """A template with the example robot's name replaced by ``name``."""
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    return text.replace(EXAMPLE, name).replace(EXAMPLE.replace("_", "-"), name.replace("_", "-"))


def check_name(name: str) -> None:
    from casework.policy.hearing import PARTY_HEARING_STEP

    if not NAME.match(name) or name == PARTY_HEARING_STEP:
        raise ScaffoldError(f"robot name {name!r}: use lower-case letters, digits and _, "
                            "starting with a letter (e.g. address_change)")


def new_robot(name: str, folder: Path) -> list[Written]:
    """Write the robot's flow module, policy, scenarios and test into ``folder``; refuse to
    overwrite any of them. An existing ``prefect.yaml`` is kept (add the deployment by hand)."""
    check_name(name)
    if folder.exists() and not folder.is_dir():
        raise ScaffoldError(f"{folder}: not a folder")
    targets = {template: folder / target.format(name=name) for template, target in FILES.items()}
    existing = [p for t, p in targets.items() if p.exists() and t != "prefect.yaml"]
    if existing:
        raise ScaffoldError(f"{existing[0]}: already exists; nothing was written")
    written: list[Written] = []
    for template, path in targets.items():
        if path.exists():
            written.append(Written(path, created=False))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(template, name), encoding="utf-8")
        written.append(Written(path, created=True))
    init = folder / "robots" / "__init__.py"
    if not init.exists():
        init.write_text('"""This project\'s robots: one module per flow."""\n', encoding="utf-8")
        written.insert(0, Written(init, created=True))
    return written


def deployment_snippet(name: str) -> str:
    """The deployment entry to add to an existing prefect.yaml."""
    text = render("prefect.yaml", name)
    return text[text.index("  - name:"):]
