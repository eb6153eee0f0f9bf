"""The first steps: the pass over the snapshots, which counter snapshots are readings, stale flags."""
from __future__ import annotations

import pandas as pd

from ..rules import presence as presence_rules
from ..rules import repeats, stale
from .history import read_history
from .step import Built


def build_history(snaps, main, counter_names, snapinfo, registry, progress, typing) -> Built:
    """The pass over the snapshots (``history.read_history``): its products as items."""
    h = read_history(snaps, set(main), counter_names, snapinfo, registry, progress, typing)
    return Built(None, [h.gaps], {"latest": h.latest, "edges": h.edges, "raw_readings": h.readings, "presence": h.presence,
                                  "counter_repeats": h.counter_repeats, "org_parts": h.org_parts,
                                  "trend_parts": h.trend_parts, "no_records": h.no_records})


def build_snaptab(snaps, counter_names, file_repeats, counter_repeats) -> Built:
    """The counter snapshots that are readings of their own date (snapshot, date), and a
    ``snapshot_repeated`` row for every snapshot that repeats an earlier one."""
    found = repeats.resolve(file_repeats, counter_repeats, {s.name: s.sha256 for s in snaps})
    used = [s for s in snaps if s.name in counter_names and s.name not in found]
    snaptab = pd.DataFrame({"snapshot": [s.name for s in used], "date": [pd.Timestamp(s.date) for s in used]})
    return Built(snaptab, [repeats.issues(found, snaps)])


def build_readings(raw_readings: pd.DataFrame) -> Built:
    """The readings flagged once (``stale``): the quality rows and every later step use the flags."""
    readings = stale.flag_stale(raw_readings)
    issues = stale.issues(readings[readings["stale"].to_numpy()])
    del readings["previous_max"]  # a column of models x snapshots, needed on the stale rows only
    return Built(readings, [issues])


def build_presence_issues(presence: pd.DataFrame, main: list[str]) -> Built:
    """``model_missing`` and ``renamed`` rows (``rules.presence``)."""
    return Built(None, presence_rules.issues(presence, main))
