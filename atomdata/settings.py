"""Where things live and the defaults a run starts from, in one settings object.

A project folder holds ``raw/`` (the snapshot store, and the curated inputs a project may keep
beside its snapshots), ``processed/`` (the tables) and ``figures/``. Commands run from the project
folder; ``--raw``, ``--out``, ``--processed`` and ``$ATOMDATA_RAW`` say otherwise. The curated
inputs (the organization registry, mirrors, families, model sizes, architectures, the scope
policy) are found the way snapshots are: in the store's folder first, else the copy shipped with
the package, and the build records which file it used.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from . import vocab

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = PACKAGE_DIR.parent
#: environment variable naming the snapshot store
RAW_ENV = "ATOMDATA_RAW"
#: the curated inputs a build reads, by file name (``raw/<name>``)
CURATED = {
    "organizations.csv": "the organization registry: Hub namespace, country, region, source",
    "mirrors.csv": "namespaces that republish other organizations' models",
    "architectures.csv": "model-type tags and family keywords of the attribution rules",
    "families.csv": "model families of first-party releases",
    "model_sizes.csv": "curated parameter counts",
    "scope_policy.toml": "the scope policy: presets of which models count in the share tables",
}


def release_dir() -> Path:
    """The release shipped inside the installed package (wheel), or the checkout's files (editable)."""
    shipped = resources.files("atomdata") / "_release"
    if shipped.is_dir():
        return Path(str(shipped))
    return CHECKOUT_DIR


def raw_dir(option: str | os.PathLike | None = None) -> Path:
    """Snapshot store: ``--raw``, else ``$ATOMDATA_RAW``, else ``raw/`` of the project (the current folder)."""
    if option:
        return Path(option)
    env = os.environ.get(RAW_ENV)
    return Path(env) if env else Path.cwd() / "raw"


def processed_dir(option=None) -> Path:
    return Path(option) if option else Path.cwd() / "processed"


def figures_dir(option=None) -> Path:
    return Path(option) if option else Path.cwd() / "figures"


@dataclass(frozen=True)
class CuratedFile:
    """A curated input as a build used it: its name, the file and whether it is the project's own
    (another file than the shipped one: in a checkout of atomdata, ``raw/`` holds the shipped files)."""

    name: str
    path: Path
    project: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def curated(name: str, raw: str | os.PathLike | None = None) -> CuratedFile:
    """The curated input ``name`` (a key of ``CURATED``): the store's own ``<raw>/<name>`` when it
    has one, else the shipped copy."""
    if name not in CURATED:
        raise KeyError(f"unknown curated input {name!r}; known: {', '.join(CURATED)}")
    shipped = release_dir() / "raw" / name
    own = Path(raw) / name if raw is not None else None
    if own is not None and own.is_file():
        return CuratedFile(name, own, own.resolve() != shipped.resolve())
    return CuratedFile(name, shipped, False)


@dataclass(frozen=True)
class Settings:
    """One run's settings: the folders and the defaults of the method (``vocab``)."""

    raw: Path = field(default_factory=raw_dir)
    processed: Path = field(default_factory=processed_dir)
    figures: Path = field(default_factory=figures_dir)
    tolerance_days: int = vocab.TOLERANCE_DAYS
    scope: str = "default"
    period: str = "month"

    def curated(self, name: str) -> CuratedFile:
        return curated(name, self.raw)
