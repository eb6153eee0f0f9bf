"""The snapshot store: one immutable folder per dated snapshot, data file plus ``manifest.json``.

Like a DVC sidecar, git keeps the manifests (source, date, rows, sha256, fields); the data
files stay in the store. A snapshot becomes visible only when complete (written to a temporary
folder, manifest last, then renamed into place) and is never modified afterwards. Its sha256 is
checked every time it is read.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, SnapshotError
from ..io import dumps_json, sha256_file
from ..version import code_version

DATA_FILE = "models.parquet"
MANIFEST = "manifest.json"
NAME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:-([a-z0-9][a-z0-9-]{0,30}))?$")


def parse_date(text: str, what: str = "date") -> dt.date:
    """Parse a strict ``YYYY-MM-DD`` date; anything else (``../x``, ``2026-13-40``) is rejected."""
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise InputError(what, f"'{text}' is not a date in YYYY-MM-DD form")
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(what, f"'{text}' is not a valid calendar date ({exc})") from None


def snapshot_name(date: str, suffix: str | None = None) -> str:
    """Validated folder name: the date, optionally ``-suffix`` for a second source on that date."""
    parse_date(date)
    name = f"{date}-{suffix}" if suffix else date
    if not NAME_RE.fullmatch(name):
        raise InputError("--suffix", f"'{suffix}' must be lower-case letters, digits and '-' (at most 31)")
    return name


@dataclass(frozen=True)
class Snapshot:
    """A snapshot in the store, as described by its manifest."""

    path: Path
    manifest: dict

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def date(self) -> dt.date:
        return dt.date.fromisoformat(self.manifest["date"])

    @property
    def data_path(self) -> Path:
        return self.path / self.manifest.get("data_file", DATA_FILE)

    @property
    def sha256(self) -> str:
        return self.manifest["sha256"]

    @property
    def fields(self) -> list[str]:
        return list(self.manifest.get("fields", []))

    def verify(self) -> Path:
        """Return the data path after checking it exists and matches the manifest's sha256."""
        if not self.data_path.is_file():
            raise SnapshotError(
                f"{self.data_path}: data file of snapshot {self.name} is missing from the snapshot store "
                f"(git keeps only the manifest; re-run `atomdata ingest` for it or point --raw at the store)"
            )
        actual = sha256_file(self.data_path)
        if actual != self.sha256:
            raise SnapshotError(
                f"{self.data_path}: sha256 {actual} does not match manifest {self.sha256}; "
                f"the snapshot was modified or corrupted after it was written"
            )
        return self.data_path


def read_manifest(folder: Path) -> dict:
    """The manifest of a snapshot folder; a damaged or hand-edited one (not a JSON object, or
    without the date, sha256 and row count every manifest records) is a :class:`SnapshotError`."""
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict):
        raise SnapshotError(f"{path}: unreadable manifest (a JSON object was expected, found {type(manifest).__name__})")
    problems = [f"'{key}' is missing" for key in ("date", "sha256", "rows") if key not in manifest]
    sha = manifest.get("sha256")
    if "sha256" in manifest and not (isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha)):
        problems.append(f"'sha256' is not 64 hex digits ({sha!r})")
    if problems:
        raise SnapshotError(f"{path}: damaged manifest: {'; '.join(problems)}; restore it from git "
                            f"(`git checkout -- {path}`), or delete {Path(folder)} and import its dump again")
    return manifest


def list_snapshots(raw: Path, require_data: bool = False) -> list[Snapshot]:
    """All complete snapshots in the store, sorted by date then name (hidden temp folders skipped)."""
    raw = Path(raw)
    if not raw.is_dir():
        return []
    snaps = []
    for child in sorted(raw.iterdir()):
        if child.name.startswith(".") or not child.is_dir() or not NAME_RE.fullmatch(child.name):
            continue
        if not (child / MANIFEST).is_file():
            continue
        snap = Snapshot(child, read_manifest(child))
        if snap.manifest.get("date") != NAME_RE.fullmatch(child.name).group(1):
            raise SnapshotError(f"{child / MANIFEST}: manifest date {snap.manifest.get('date')!r} does not match "
                                f"the snapshot folder {child.name}; the store is inconsistent")
        if require_data and not snap.data_path.is_file():
            continue
        snaps.append(snap)
    return sorted(snaps, key=lambda s: (s.manifest["date"], s.name))


def find(raw: Path, name: str) -> Snapshot | None:
    folder = Path(raw) / name
    return Snapshot(folder, read_manifest(folder)) if (folder / MANIFEST).is_file() else None


def new_snapshot_dir(raw: Path, name: str) -> Path:
    """A hidden temporary folder in the store to fill before :func:`commit_snapshot`."""
    raw = Path(raw)
    raw.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=raw))


@contextlib.contextmanager
def staging(raw: Path, name: str):
    """:func:`new_snapshot_dir`, removed if the block fails: an import that fails or is
    interrupted leaves nothing in the store. (``ingest hub`` keeps its folder instead: it holds
    the checkpoint that ``--resume`` continues from.)"""
    tmp = new_snapshot_dir(raw, name)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def manifest(name: str, date: str, kind: str, source: str, license: str | None, retrieved_at: str | None,
             table) -> dict:
    """What every manifest records, whatever the source (each kind adds its own fields; the
    sha256 is added by :func:`commit_snapshot`). ``table``: what the data file holds, anything
    with ``num_rows`` and ``column_names`` (an Arrow table, a checked dump)."""
    return {"name": name, "date": date, "kind": kind, "source": source, "license": license,
            "retrieved_at": retrieved_at, "rows": table.num_rows, "data_file": DATA_FILE,
            "fields": sorted(table.column_names), "atomdata_version": code_version()}


def commit_snapshot(tmp: Path, raw: Path, name: str, manifest: dict) -> Snapshot:
    """Write the manifest last, then rename the folder into place; refuse to overwrite."""
    dest = Path(raw) / name
    if dest.exists():
        shutil.rmtree(tmp, ignore_errors=True)
        raise SnapshotError(f"{dest}: a snapshot named {name} already exists and snapshots are never overwritten")
    manifest = dict(manifest)
    manifest["sha256"] = sha256_file(Path(tmp) / manifest.get("data_file", DATA_FILE))
    mpath = Path(tmp) / MANIFEST
    with open(mpath, "w", encoding="utf-8") as f:
        f.write(dumps_json(manifest))
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o755)
    try:
        os.rename(tmp, dest)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SnapshotError(f"{dest}: could not move the snapshot into place ({exc})") from None
    return Snapshot(dest, manifest)
