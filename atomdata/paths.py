"""Where things live: the snapshot store, the processed tables and the shipped release."""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = PACKAGE_DIR.parent


def default_root() -> Path:
    """The project folder for ``raw/``, ``processed/`` and ``figures/``: the current directory
    (run the commands from the project folder, or pass --raw, --out, --processed)."""
    return Path.cwd()


def raw_dir(option: str | os.PathLike | None = None) -> Path:
    """Snapshot store: ``--raw``, else ``$ATOMDATA_RAW``, else ``raw/`` of the project."""
    if option:
        return Path(option)
    env = os.environ.get("ATOMDATA_RAW")
    return Path(env) if env else default_root() / "raw"


def processed_dir(option=None) -> Path:
    return Path(option) if option else default_root() / "processed"


def figures_dir(option=None) -> Path:
    return Path(option) if option else default_root() / "figures"


def release_dir() -> Path:
    """The release shipped inside the installed package (wheel), or the checkout's files (editable)."""
    shipped = resources.files("atomdata") / "_release"
    if shipped.is_dir():
        return Path(str(shipped))
    return CHECKOUT_DIR


def registry_path() -> Path:
    """The organization registry: ``raw/organizations.csv`` (shipped as package data)."""
    return release_dir() / "raw" / "organizations.csv"
