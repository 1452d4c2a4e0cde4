"""Does a case system's Swagger/OpenAPI file offer every path a client calls? Municipalities
run different SBSYS versions; this finds a missing or renamed endpoint before a robot does.

Path parameters match whatever they are called (``/api/sag/{id}`` = ``/api/sag/{sagId}``);
Swagger 2's ``basePath`` and OpenAPI 3's server path are honoured. JSON or YAML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

import yaml

_PARAM = re.compile(r"\{[^}]*\}")
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


class SwaggerFileError(ValueError):
    """The file is not a readable Swagger/OpenAPI document; ``str()`` names file and problem."""


def _shape(path: str) -> str:
    return _PARAM.sub("{}", "/" + path.strip("/")).lower()


def load_operations(file: Path) -> set[tuple[str, str]]:
    """(METHOD, path shape) for every operation in the file."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SwaggerFileError(f"{file}: cannot read: {exc.strerror or exc}") from None
    try:
        spec = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise SwaggerFileError(f"{file}: not JSON or YAML: {exc}") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("paths"), dict):
        raise SwaggerFileError(f"{file}: no 'paths' object: not a Swagger/OpenAPI document")
    prefix = str(spec.get("basePath") or "")
    servers = spec.get("servers") or []
    if not prefix and servers and isinstance(servers[0], dict):
        prefix = urlsplit(str(servers[0].get("url", ""))).path
    operations = set()
    for path, item in spec["paths"].items():
        if not isinstance(item, dict):
            raise SwaggerFileError(f"{file}: paths.{path}: not an object")
        for method in item:
            if method.lower() in _METHODS:
                operations.add((method.upper(), _shape(prefix.rstrip("/") + "/" + path)))
                operations.add((method.upper(), _shape(path)))
    return operations


def check_paths(file: Path, calls: Iterable[tuple[str, str]]) -> list[str]:
    """The client's calls the file lacks, as ``METHOD /path``; empty when all are there."""
    offered = load_operations(file)
    return [f"{method} {path}" for method, path in calls
            if (method.upper(), _shape(path)) not in offered]
