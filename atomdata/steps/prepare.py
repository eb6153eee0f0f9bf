"""Snapshots typed before the pass: cold cache entries filled in worker processes.

When two or more Hub-sized snapshots (``PARALLEL_MIN_ROWS`` rows or more) are not cached yet, two
worker processes type them side by side and fill their cache entries (typed records, edges,
claims rows); the build then reads them from the cache. The tables are the same bytes either way
(tested). Also here: the glibc setting that gives freed memory back to the system during a build.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed

import pandas as pd

from . import cache, claims_cache
from .claims import snapshot_claims
from .lanes import workers_available

#: snapshots of at least this many rows are typed in worker processes when two or more are cold
PARALLEL_MIN_ROWS = 100_000


def hub_sized(snap) -> bool:
    """A snapshot big enough for work in worker processes to pay off (``PARALLEL_MIN_ROWS``)."""
    return (snap.manifest.get("rows") or 0) >= PARALLEL_MIN_ROWS


def return_freed_memory() -> None:
    """Fix glibc's threshold for mapping a block on its own at 32 MB. By default it starts at
    128 kB and rises as mapped blocks are freed, and the heap then keeps up to twice that free at
    its top: a build over millions of rows would keep GBs it no longer uses. Fixed, blocks of 32
    MB and more (a column of millions of rows) are mapped and given back to the system when freed,
    and the heap gives back what is free at its top above 128 kB. Smaller blocks are reused from
    the heap: at a 1 MB threshold each was mapped and zeroed by the kernel anew, a third of an
    added month's CPU time, for a peak at most 0.35 GB lower (``benchmarks/RESULTS.md``). Linux
    with glibc only; elsewhere nothing changes."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # glibc, not musl
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


def _prepare(snap, snapinfo: pd.DataFrame, registry: pd.DataFrame, typing, records_done=None) -> str:
    """Fill the cache of one snapshot (typed records, edges, claims rows); run in a worker process.
    ``records_done()``: called once the records and edges are cached, before the claims rows."""
    ckey = claims_cache.claims_key(registry, snapinfo.set_index("snapshot").loc[snap.name].to_dict(), typing)
    snap.verify()
    r, _ = cache.cached_load(snap, typing=typing)
    if not all(p.is_file() for p in cache.cache_paths(snap, typing)):
        raise OSError(f"{snap.name}: cache entry not written")  # the build types it itself
    if records_done is not None:
        records_done()
    if not claims_cache.has_claims(snap, ckey):
        r["snapshot"] = snap.name
        r["date"] = pd.Timestamp(snap.date)
        claims_cache.store_claims(snap, ckey, snapshot_claims(r, snap, snapinfo, registry))
    if not claims_cache.has_claims(snap, ckey):
        raise OSError(f"{snap.name}: claims entry not written")
    return snap.name


#: what a ``Preparing`` worker reports, in this order: its records cached, then its claims rows too
RECORDS, DONE = "records", "done"


def _prepare_beside(report, snap, snapinfo, registry, typing) -> None:
    """``_prepare`` in the worker of a ``Preparing``, reporting each stage done on ``report``
    (anything else, or the pipe closed early: it failed)."""
    try:
        _prepare(snap, snapinfo, registry, typing, records_done=lambda: report.send(RECORDS))
        report.send(DONE)
    except Exception as exc:  # noqa: BLE001 - redone (and reported) by the build's own pass
        report.send(repr(exc))
    finally:
        report.close()


class Preparing:
    """One cold Hub-sized snapshot (a month just added) typed in a worker process while the
    build's pass reads the others: the pass reaches it last when it is the newest. The worker
    reports its records cached (what the pass reads) before it computes the snapshot's claims rows
    (what only the claims tables read), so that the pass takes the records while the claims rows
    are made. ``name``: the snapshot's."""

    def __init__(self, snap, snapinfo: pd.DataFrame, registry: pd.DataFrame, typing):
        self.name = snap.name
        fork = multiprocessing.get_context("fork")
        self._reports, report = fork.Pipe(duplex=False)
        self._proc = fork.Process(target=_prepare_beside, args=(report, snap, snapinfo, registry, typing), daemon=True)
        self._proc.start()
        report.close()  # the worker's end: the pipe reads as closed once the worker is gone
        self._stage = None  # the last stage reported: RECORDS, DONE, or False (failed)

    def _until(self, stage: str) -> bool:
        while self._stage not in (stage, DONE, False):
            try:
                got = self._reports.recv()
            except (EOFError, OSError):
                got = False
            self._stage = got if got in (RECORDS, DONE) else False
        if self._stage in (DONE, False):
            self._proc.join()
        return self._stage is not False

    def records(self) -> bool:
        """True once the worker has cached the snapshot's typed records and edges; False where it
        could not (the build then types the snapshot itself, and reports what went wrong)."""
        return self._until(RECORDS)

    def wait(self) -> bool:
        """True once the worker has filled the snapshot's whole cache entry (its claims rows too)."""
        return self._until(DONE)

    def close(self) -> None:
        """Stop the worker if it still runs (a pass that failed)."""
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join()
        self._reports.close()


def prepare_snapshots(snaps, snapinfo: pd.DataFrame, registry: pd.DataFrame, typing,
                      progress=None) -> tuple[set[str], Preparing | None]:
    """Type the snapshots whose cache is cold in parallel worker processes (one per core, at most
    two: each holds one snapshot in memory). Returns the names prepared (the build then reads
    them from the cache) and, when a single snapshot is cold, its ``Preparing``: typed beside the
    pass rather than before it. Anything a worker cannot do (a read-only store, a damaged
    snapshot) is left to the build's own pass, which reports it."""
    info = snapinfo.set_index("snapshot")
    cold = []
    for snap in snaps:
        ckey = claims_cache.claims_key(registry, info.loc[snap.name].to_dict(), typing)
        if not (all(p.is_file() for p in cache.cache_paths(snap, typing)) and claims_cache.has_claims(snap, ckey)):
            cold.append(snap)
    # a worker pays off for Hub-sized snapshots only (starting one costs more than typing a small sample)
    cold = [s for s in cold if hub_sized(s)]
    workers = min(workers_available(), len(cold))  # none off Linux (fork is safe and cheap there only)
    folder = snaps[0].path.parent / ".cache" if snaps else None
    try:
        folder.mkdir(exist_ok=True)
    except (OSError, AttributeError):
        return set(), None
    if not workers or not os.access(folder, os.W_OK):  # the build types them itself
        return set(), None
    if workers < 2:
        return set(), Preparing(cold[0], snapinfo, registry, typing)
    done = set()
    # fork: the workers inherit the (still small) build state and never re-run the caller's script
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        # the largest first: the last to finish are small, so neither worker waits long for the other
        biggest_first = sorted(cold, key=lambda s: -(s.manifest.get("rows") or 0))
        futures = [pool.submit(_prepare, snap, snapinfo, registry, typing) for snap in biggest_first]
        for f in as_completed(futures):
            try:
                done.add(f.result())
            except Exception:  # noqa: BLE001 - redone (and reported) by the build's own pass
                continue
            if progress:
                progress(1)
    return done, None
