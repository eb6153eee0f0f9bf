"""Snapshots that repeat an earlier one: their counters are not readings of their own date.

Two ways a snapshot repeats (methodology, "Snapshots that repeat an earlier one"):

- its data file is byte for byte an earlier snapshot's (same sha256): a re-published file holds
  the readings of the day it was first published (the shared 2026-06-17 and 2026-07-01 files are
  the 2026-06-16 file);
- its all-time counters all equal the latest earlier readings of the models it shares with them
  (at least ``MIN_REPEATED_COUNTERS``): on the Hub some counter always moves within a day, so the
  listing re-published or lagged (the shared 2026-06-05 counters are 2026-05-20's).

A repeated snapshot's counters are never used as readings (month boundaries, stale checks,
adoption momentum); presence and the per-snapshot tables keep it.
"""
from __future__ import annotations

import numpy as np

from ..issues import issue
from ..vocab import MIN_REPEATED_COUNTERS


def repeated_files(snaps) -> dict[str, str]:
    """Snapshots whose data file is byte for byte that of an earlier snapshot, each mapped to the
    earliest such snapshot (snapshots in (date, name) order)."""
    first, out = {}, {}
    for s in sorted(snaps, key=lambda s: (s.date, s.name)):
        if s.sha256 in first:
            out[s.name] = first[s.sha256]
        else:
            first[s.sha256] = s.name
    return out


class CounterRepeats:
    """The latest all-time reading of every model so far, to recognise a snapshot that repeats them.

    Readings of the current date join the comparison only once a later date comes: a second
    listing of the same day that agrees with the first is another reading of that day, not a
    repeat of old counters."""

    def __init__(self, n_models: int, main: list[str]):
        self.main = main
        self.last = np.zeros(n_models, dtype=np.int64)
        self.known = np.zeros(n_models, dtype=bool)
        self.source = np.zeros(n_models, dtype=np.int32)  # the main snapshot (position) of that reading
        self.pending, self.pending_date = [], None
        self.found: dict[str, tuple[str, int]] = {}  # repeat -> (the snapshot it repeats, models compared)

    def observe(self, name: str, k: int, date, codes: np.ndarray, values: np.ndarray, valid: np.ndarray) -> bool:
        """Snapshot ``name`` (position ``k`` among the main snapshots) reads ``values`` (where
        ``valid``) for the models ``codes``. True when it repeats earlier readings (then it is not
        a reading: the comparison state stays as it was)."""
        if self.pending and self.pending_date < date:
            for i, v, j in self.pending:
                self.last[i], self.known[i], self.source[i] = v, True, j
            self.pending = []
        both = valid & self.known[codes]
        n_both = int(np.count_nonzero(both))
        if n_both >= MIN_REPEATED_COUNTERS and (values[both] == self.last[codes[both]]).all():
            # the snapshot that took the newest of the readings it repeats (not merely the last one read)
            self.found[name] = (self.main[int(self.source[codes[both]].max())], n_both)
            return True
        self.pending.append((codes[valid], values[valid], k))
        self.pending_date = date
        return False


def resolve(files: dict[str, str], counters: dict[str, tuple[str, int]], sha: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Every repeated snapshot -> (the snapshot whose readings it holds, why). A copy of a file whose
    counters repeat earlier ones holds those earlier counters: read by the snapshot it repeats."""
    out = {n: (counters.get(orig, (orig,))[0], f"data file identical (sha256 {sha[n][:12]}...) to that of snapshot {orig}")
           for n, orig in files.items()}
    out.update({n: (orig, f"all-time counters of all {k:,} models it shares with earlier readings equal "
                          f"their latest earlier readings, last taken by snapshot {orig}")
                for n, (orig, k) in counters.items()})
    return out


def issues(repeats: dict[str, tuple[str, str]], snaps):
    """One ``snapshot_repeated`` row per repeated snapshot; value = days after the snapshot it repeats."""
    by_name = {s.name: s for s in snaps}
    names = sorted(repeats)
    return issue("snapshot_repeated", snapshot=names,
                 value=[float((by_name[n].date - by_name[repeats[n][0]].date).days) for n in names],
                 detail=[f"{repeats[n][1]}: its counters were read by {repeats[n][0]}, not on {by_name[n].date.isoformat()}"
                         for n in names],
                 action="its counters are not used as readings (month boundaries, stale checks, adoption momentum); "
                        "presence and the per-snapshot tables keep it")
