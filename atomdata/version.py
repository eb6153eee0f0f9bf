"""The code's version, in one place: the installed distribution's metadata (``pyproject.toml``).

The distribution is ``atomdata-hub`` (``pip install atomdata-hub``; the name ``atomdata`` on PyPI
belongs to an unrelated project); the import package and the command are ``atomdata``.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

DIST_NAME = "atomdata-hub"
#: when neither the distribution nor a checkout's pyproject.toml can tell (PEP 440 local version)
UNKNOWN = "0+unknown"


def _checkout_version() -> str | None:
    """The version in the pyproject.toml of a checkout that is run without being installed."""
    path = Path(__file__).resolve().parents[1] / "pyproject.toml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    import tomllib

    try:
        project = tomllib.loads(text).get("project", {})
    except tomllib.TOMLDecodeError:
        return None
    if project.get("name") != DIST_NAME:
        return None
    version = project.get("version")
    return version if isinstance(version, str) and re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", version) else None


@lru_cache(maxsize=1)
def code_version() -> str:
    """The version of the atomdata code: the installed ``atomdata-hub`` distribution's, else that of
    the checkout's pyproject.toml, else ``0+unknown``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DIST_NAME)
    except PackageNotFoundError:
        return _checkout_version() or UNKNOWN
