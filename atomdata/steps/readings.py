"""The first steps: the pass over the snapshots, and which counter snapshots are readings."""
from __future__ import annotations

import pandas as pd

from ..rules import repeats
from .history import read_history
from .step import Built


def build_history(snaps, main, counter_names, snapinfo, registry, progress, typing) -> Built:
    """The pass over the snapshots (``history.read_history``): its products as items."""
    h = read_history(snaps, set(main), counter_names, snapinfo, registry, progress, typing)
    return Built(None, h.issues, {"latest": h.latest, "edges": h.edges, "readings": h.readings, "main_codes": h.main_codes,
                                  "ids": h.readings.ids,
                                  "counter_repeats": h.counter_repeats, "org_parts": h.org_parts,
                                  "trend_parts": h.trend_parts, "no_records": h.no_records})


def build_snaptab(snaps, readings, file_repeats, counter_repeats) -> Built:
    """The counter snapshots that are readings of their own date (snapshot, date), and a
    ``snapshot_repeated`` row for every snapshot that repeats an earlier one."""
    found = repeats.resolve(file_repeats, counter_repeats, {s.name: s.sha256 for s in snaps})
    assert not set(found) & set(readings.names), "a repeated snapshot read as a reading"
    dates = {s.name: pd.Timestamp(s.date) for s in snaps}
    snaptab = pd.DataFrame({"snapshot": list(readings.names), "date": [dates[n] for n in readings.names]})
    return Built(snaptab, [repeats.issues(found, snaps)])
