"""The benchmark's history generator (benchmarks/history.py): deterministic, reusable across series
lengths, and its snapshots pass the import checks with the Hub's shape (counters only grow but in
the stale snapshot, models appear by creation date, bases name earlier models)."""
from __future__ import annotations

import datetime as dt
import sys

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from testdata import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
history = pytest.importorskip("history")

END = "2026-08-01"


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    out = tmp_path_factory.mktemp("history")
    return history.generate(out / "a", 3000, 8, END), history.generate(out / "b", 3000, 3, END)


def test_deterministic_and_the_last_months_of_a_longer_series(series):
    long, short = series
    assert [p.parent.name for p in long[-3:]] == [p.parent.name for p in short]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(long[-3:], short))
    assert long[-1].parent.name == END  # the newest on its date; the others near the 1st of their month
    assert all(abs(dt.date.fromisoformat(p.parent.name).day - 1) <= 2 or dt.date.fromisoformat(p.parent.name).day >= 29
               for p in long)


def test_snapshots_pass_the_import_checks(series):
    from atomdata.ingest.dump import check_dump

    for p in series[0]:
        assert check_dump(p, dt.date.fromisoformat(p.parent.name)).num_rows > 0


def test_hub_shape(series):
    tabs = [pq.read_table(p).to_pandas().set_index("id") for p in series[0]]
    sizes = [len(t) for t in tabs]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]  # the Hub grows
    stale = {day.isoformat() for day, is_stale in history.plan(END, 8) if is_stale}
    assert len(stale) == 1  # 6 months before the end
    for prev, cur, p in zip(tabs, tabs[1:], series[0][1:]):
        both = cur.index.intersection(prev.index)
        down = (cur.loc[both, "downloadsAllTime"] < prev.loc[both, "downloadsAllTime"]).mean()
        assert (down > 0.5) == (p.parent.name in stale)
    last = pq.read_table(series[0][-1])
    assert pc.count_distinct(last.column("id")).as_py() == last.num_rows
    bases = pc.struct_field(pc.list_flatten(pc.struct_field(last.column("baseModels"), "models")), "id")
    assert pc.mean(pc.is_in(bases, value_set=last.column("id"))).as_py() > 0.9
    share = 1 - last.column("baseModels").null_count / last.num_rows
    assert 0.5 < share < 0.75  # 62% of the real rows declare a base
