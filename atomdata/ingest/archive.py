"""``atomdata ingest archive``: backfill dated snapshots from a public archive of Hub dumps.

For each boundary from ``since`` to ``until`` (the 1st of each month, each Monday or each day),
the archive's observation nearest to it within the tolerance is stored as a snapshot named by
its observation date (``ingest.archive_history`` says how a file is dated). Per boundary:

1. a boundary that a snapshot of this archive in the store was stored for is skipped before any
   request (so a second run of a finished backfill makes none);
2. otherwise the observation is found from metadata only (commit list, LFS sha256s);
   an observation already stored (for another boundary) is not read again;
3. the file's needed columns are read (``ingest.archive_read``), checked with the checks of
   ``ingest dump`` and stored atomically (``store.commit_snapshot``): written to a hidden
   temporary folder, manifest last, renamed into place, never overwriting.

A boundary whose file cannot be read is reported and the run goes on; the run then ends with an
error listing them. A run stopped by the network or the Hub (retries exhausted, a rate limit
asking to wait too long, Ctrl-C) keeps every snapshot stored so far: running it again (``--resume``
is the same) continues. Every request goes through the shared retry layer (``ingest.client``).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import AtomdataError, InputError, SnapshotError
from ..io import atomic_write_bytes, parquet_bytes
from . import archive_read, store
from .archive_history import History, Observation
from .client import HubError, RetryingClient, hub_session
from .dump import check_dump

EVERY = {"month": "MS", "week": "W-MON", "day": "D"}
LOCK = ".archive-lock"


def boundaries(since: dt.date, until: dt.date, every: str = "month") -> list[dt.date]:
    """The 1st of each month (each Monday, each day) from ``since`` to ``until``, both included."""
    if every not in EVERY:
        raise InputError("--every", f"'{every}' is not one of {', '.join(EVERY)}")
    return [d.date() for d in pd.date_range(since, until, freq=EVERY[every])]


@dataclass
class Options:
    repo: str = "cfahlgren1/hub-stats"
    every: str = "month"
    tolerance: int = 3
    suffix: str | None = None
    license: str | None = None   # the dataset card's licence when None
    listing: str = "full"        # what one file lists: the whole Hub (full) or a sample


@dataclass
class Outcome:
    boundary: dt.date
    status: str                 # stored | skipped | same | none | failed
    message: str
    snapshot: str | None = None
    bytes_read: int = 0
    size: int = 0
    seconds: float = 0.0


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    bytes_read: int = 0

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    def summary(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in ("stored", "skipped", "same", "none", "failed") if self.count(s)]
        return (f"{len(self.outcomes)} boundaries: {', '.join(parts) or 'none'}; {self.requests} requests, "
                f"{self.retries} retries, {self.rate_limited} rate-limited, {self.bytes_read:,} bytes received")


def _archive_snapshots(raw: Path, repo: str) -> list[store.Snapshot]:
    return [s for s in store.list_snapshots(raw) if (s.manifest.get("archive") or {}).get("repo") == repo]


def clean_stale_temps(raw: Path) -> None:
    """Remove temporary folders that a killed ``ingest archive`` left (only unlocked ones)."""
    for tmp in Path(raw).glob(".tmp-*") if Path(raw).is_dir() else []:
        lock = tmp / LOCK
        if not lock.is_file():
            continue
        with open(lock, "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # another run is writing it
            shutil.rmtree(tmp, ignore_errors=True)


def _manifest(obs: Observation, opts: Options, boundary: dt.date, table, source_fields, dropped, licence,
              client: RetryingClient, bytes_read: int, name: str) -> dict:
    from huggingface_hub import __version__ as hfh_version

    stored = ("column subset" if obs.format == "parquet" else "the CSV file parsed, written as Parquet: a column subset")
    source = (f"Hugging Face dataset {obs.repo}, {obs.path} at commit {obs.commit} ({stored} of the file with "
              f"sha256 {obs.sha256})")
    retrieved_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    return {
        **store.manifest(name, obs.observed.isoformat(), "archive", source, licence, retrieved_at, table),
        "listing": opts.listing, "huggingface_hub_version": hfh_version,
        "archive": {
            "repo": obs.repo, "repo_type": "dataset", "endpoint": client.endpoint, "commit": obs.commit,
            "commit_time": obs.commit_time.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
            "path": obs.path, "format": obs.format, "sha256": obs.sha256, "size": obs.size,
            "observed": obs.observed.isoformat(), "observation_rule": obs.rule, "label": obs.label,
            "boundary": boundary.isoformat(), "every": opts.every, "tolerance_days": opts.tolerance,
            "source_fields": list(source_fields), "dropped_fields": dropped,
            "stored": f"{stored} of the source file named by its sha256 (columns {', '.join(table.column_names)}; "
                      f"rows in the source's order)",
            "bytes_read": bytes_read,
        },
    }


def _store(raw: Path, name: str, data: bytes, obs: Observation, manifest: dict) -> store.Snapshot:
    """Check the stored table with ``ingest dump``'s checks, then commit it atomically."""
    with store.staging(raw, name) as tmp, open(tmp / LOCK, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        atomic_write_bytes(tmp / store.DATA_FILE, data)
        try:
            check_dump(tmp / store.DATA_FILE, obs.observed)
        except InputError as exc:
            raise InputError(obs.where, exc.problem, column=exc.column, examples=exc.examples) from None
        (tmp / LOCK).unlink()
        return store.commit_snapshot(tmp, raw, name, manifest)


def _read(obs: Observation, fs, client: RetryingClient) -> tuple:
    if obs.format == "csv":
        table, names = archive_read.read_csv(obs, client.endpoint, client.token)
    else:
        table, names = archive_read.read_parquet(fs, obs)
    table, dropped = archive_read.conform(table, obs.where)
    return table, names, dropped


class Run:
    """One backfill: the store, the archive's history and the client, boundary by boundary."""

    def __init__(self, raw: Path, opts: Options, client: RetryingClient):
        self.raw, self.opts, self.client = Path(raw), opts, client
        self.history: History | None = None
        self.fs = None
        self.licence = opts.license

    def open(self) -> None:
        from huggingface_hub import HfFileSystem

        cache = self.raw / ".cache" / "archive" / (self.opts.repo.replace("/", "--") + ".json")
        self.history = History(self.client.api, self.opts.repo, cache)
        self.fs = HfFileSystem(endpoint=self.client.endpoint, token=self.client.token, skip_instance_cache=True)

    def dataset_licence(self) -> str | None:
        """``--license``, else the licence the dataset card declares (asked once, when first needed)."""
        if self.licence is None:
            card = self.client.api.dataset_info(self.opts.repo, revision=self.history.head.commit_id).card_data
            self.licence = getattr(card, "license", None) if card is not None else None
        return self.licence

    def boundary(self, b: dt.date) -> Outcome:
        obs = self.history.nearest(b, self.opts.tolerance)
        self.history.save()
        if obs is None:
            near = self.history.nearest_any(b)
            far = f" (nearest: {near[0]}, {abs(near[1])} days {'after' if near[1] > 0 else 'before'})" if near else ""
            return Outcome(b, "none", f"no observation within {self.opts.tolerance} days in {self.opts.repo}{far}; "
                                      f"nothing stored for it")
        for s in _archive_snapshots(self.raw, self.opts.repo):
            if s.manifest["archive"].get("sha256") == obs.sha256:
                return Outcome(b, "same", f"its nearest observation ({obs.observed}, {obs.where}) is stored already "
                                          f"as {s.name}", s.name)
        name = store.snapshot_name(obs.observed.isoformat(), self.opts.suffix)
        other = store.find(self.raw, name)
        if other is not None:
            raise SnapshotError(f"{other.path}: snapshot {name} exists from another source "
                                f"({other.manifest.get('kind', 'dump')}); store the archive's {obs.observed} beside it "
                                f"with --suffix")
        t0, before = time.monotonic(), self.client.stats.bytes
        table, names, dropped = _read(obs, self.fs, self.client)
        read = self.client.stats.bytes - before
        manifest = _manifest(obs, self.opts, b, table, names, dropped, self.dataset_licence(), self.client, read, name)
        snap = _store(self.raw, name, parquet_bytes(table), obs, manifest)
        return Outcome(b, "stored", f"stored {snap.name}: {table.num_rows:,} models from {obs.where} "
                                    f"({read:,} bytes read of {obs.size:,})", snap.name, read, obs.size,
                       time.monotonic() - t0)


def backfill(raw: Path, since: dt.date, until: dt.date, opts: Options, client: RetryingClient,
             progress=None, on_outcome=None) -> Report:
    """Store the archive's observation nearest each boundary (see the module docstring).
    ``progress``: a ``commands.progress.Bar``; ``on_outcome``: called with each boundary's Outcome."""
    report = Report()

    def done(out: Outcome) -> None:
        report.outcomes.append(out)
        if on_outcome is not None:
            on_outcome(out)

    stored = {s.manifest["archive"].get("boundary"): s.name for s in _archive_snapshots(raw, opts.repo)}
    todo = []
    for b in boundaries(since, until, opts.every):
        if b.isoformat() in stored:
            done(Outcome(b, "skipped", f"stored already as {stored[b.isoformat()]}", stored[b.isoformat()]))
        else:
            todo.append(b)
    if todo:
        clean_stale_temps(raw)
        run = Run(raw, opts, client)
        with hub_session(client), _as_hub_error(client):
            run.open()
            if progress is not None:
                progress.total(len(todo))
            for b in todo:
                try:
                    done(run.boundary(b))
                except (InputError, SnapshotError) as exc:
                    done(Outcome(b, "failed", client.scrub(str(exc))))
                if progress is not None:
                    progress.advance(1, _status(report, client))
    report.outcomes.sort(key=lambda o: o.boundary)
    report.requests, report.retries = client.stats.requests, client.stats.retries
    report.rate_limited, report.bytes_read = client.stats.rate_limited, client.stats.bytes
    return report


def _status(report: Report, client: RetryingClient) -> str:
    s = client.stats
    return f"{report.count('stored')} stored, {s.bytes / 1e6:,.1f} MB received, {s.retries} retries"


@contextlib.contextmanager
def _as_hub_error(client: RetryingClient):
    """huggingface_hub's errors (repo or revision not found, refused token, offline mode) as one
    line naming the archive, with the token scrubbed."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    try:
        yield
    except (HfHubHTTPError, OfflineModeIsEnabled, LookupError) as exc:
        raise HubError(client.scrub(f"{client.endpoint}: {type(exc).__name__}: {exc}")) from None
    except AtomdataError:
        raise
