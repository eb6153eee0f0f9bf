"""The whole monthly-share computation, from snapshot files to ``downloads_by_country``: atomdata's
rules against one DuckDB query over the same files.

    python benchmarks/shares.py atomdata --out a.parquet FILE...
    python benchmarks/shares.py duckdb --out d.parquet FILE...

Files are STORE/YYYY-MM-DD/models.parquet (the date is the folder's). Both sides compute, per
month and country of a registry organization (the scope: models of registry organizations,
``Scope()``): each model's all-time counter at the snapshot nearest each month boundary within 3
days that is not stale (lower than an earlier reading of the model), the difference across the
month where both boundaries have one (and the end reading is later), else the 30-day counter
nearest the month's end (``rolling_30d``); summed (``downloads``), the end counters summed
(``cumulative_downloads``) and the rows counted (``n_models``). The atomdata side reads the files
as the build does (pyarrow, ids coded once) and runs ``stale.flag_stale``,
``boundaries.downloads_per_period`` and ``shares.downloads_by_country``. Each prints its own
seconds (reading included, imports excluded) as the last line, JSON.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

REGISTRY = Path(__file__).resolve().parents[1] / "raw" / "organizations.csv"
KEY = ["month", "country"]
SIDES = ("atomdata", "duckdb", "duckdb-scoped")
VALUES = ["downloads", "cumulative_downloads", "n_models"]


def readings(files: list[str]):
    """Readings of every file as the build holds them: model ids a categorical over the sorted ids
    (one dictionary encoding), snapshots a categorical, nullable counters; and the snapshots."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    tabs = [pq.read_table(f, columns=["id", "downloadsAllTime", "downloads"]) for f in files]
    enc = pc.dictionary_encode(pa.chunked_array([c.cast(pa.string()) for x in tabs for c in x.column("id").chunks]))
    order = pc.sort_indices(enc.chunks[0].dictionary).to_numpy()
    vocab = enc.chunks[0].dictionary.take(pa.array(order))
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    names = [Path(f).parent.name for f in files]
    sizes = [x.num_rows for x in tabs]

    def counter(field):
        col = [c for x in tabs for c in x.column(field).chunks]
        return pd.arrays.IntegerArray(np.concatenate([c.fill_null(0).to_numpy() for c in col]),
                                      np.concatenate([c.is_null().to_numpy(zero_copy_only=False) for c in col]))
    r = pd.DataFrame({
        "snapshot": pd.Categorical.from_codes(np.repeat(np.arange(len(files)), sizes), categories=names),
        "date": np.repeat(np.array(names, dtype="datetime64[ns]"), sizes),
        "model_id": pd.Categorical.from_codes(rank[np.concatenate([c.indices.to_numpy() for c in enc.chunks])],
                                              categories=pd.Index(pd.array(vocab, dtype="string"))),
        "downloads_all_time": counter("downloadsAllTime"), "downloads_30d": counter("downloads"),
    }, copy=False)
    return r, pd.DataFrame({"snapshot": names, "date": pd.to_datetime(names)})


def atomdata_side(files: list[str]):
    """downloads_by_country with atomdata's rules (as the build's readings, monthly and share steps)."""
    import pandas as pd

    from atomdata.rules import boundaries, stale
    from atomdata.rules.ids import namespace
    from atomdata.rules.organizations import attribute, load_registry
    from atomdata.rules.scope import Scope
    from atomdata.steps import shares

    r, snaps = readings(files)
    r = stale.flag_stale(r)
    del r["previous_max"]
    pm, _ = boundaries.downloads_per_period(r, snaps, "month", 3)
    del r
    ids = pd.Series(pm["model_id"].cat.categories)
    att = attribute(namespace(ids), load_registry(REGISTRY))
    # in scope: models of registry organizations (Scope(): first-party, which every such model is)
    models = pd.DataFrame({"model_id": ids, "first_party": att["registry_org"].notna(), "base_model_id": pd.NA,
                           **{c: att[c] for c in ("registry_org", "country", "region")}})
    return shares.downloads_by_country(pm.rename(columns={"period": "month"}), models, Scope())


QUERY = """
with reg as (select lower(org) as org, country from read_csv($registry, header = true, all_varchar = true)),
r as (
  select id, downloadsAllTime as tot, downloads as d30, regexp_extract(filename, '([^/]+)/[^/]+$', 1) as snap,
         cast(regexp_extract(filename, '(\\d{4}-\\d{2}-\\d{2})[^/]*/[^/]+$', 1) as date) as d
  from read_parquet($files, filename = true)
  {scope_first}),
f as (  -- stale: below the highest earlier reading of the model
  select *, coalesce(tot < max(tot) over (partition by id order by d, snap rows between unbounded preceding and 1 preceding), false) as stale
  from r),
span as (select min(d) as lo, max(d) as hi from r),
bnd as (  -- month starts from the one at or before the first snapshot (and the month before, when that
          -- snapshot is within the tolerance of it) to the first after the last snapshot
  select unnest(generate_series(date_trunc('month', lo) - case when datediff('day', date_trunc('month', lo), lo) <= 3
         then interval 1 month else interval 0 month end, date_trunc('month', hi) + interval 1 month, interval 1 month))::date as b
  from span),
months as (select b as s, lead(b) over (order by b) as e from bnd),
cand as (
  select f.*, b, abs(datediff('day', b, d)) as dist, datediff('day', b, d) as off
  from f join bnd on d between b - 3 and b + 3),
at_b as (  -- per model and boundary: the nearest valid all-time reading
  select id, b, tot, d from cand where tot is not null and not stale
  qualify row_number() over (partition by id, b order by dist, off, snap) = 1),
d30_b as (  -- and the nearest 30-day reading
  select id, b, d30 from cand where d30 is not null
  qualify row_number() over (partition by id, b order by dist, off, snap) = 1),
ends as (
  select coalesce(e.id, x.id) as id, coalesce(e.b, x.b) as b, e.tot as at_e, e.d as d_e, x.d30 as d30_e
  from at_b e full outer join d30_b x on e.id = x.id and e.b = x.b),
rows as (
  select m.s, n.id, n.at_e, (s.tot is not null and n.at_e is not null and n.d_e > s.d) as diff, s.tot as at_s, n.d30_e
  from months m join ends n on n.b = m.e left join at_b s on s.id = n.id and s.b = m.s)
select strftime(s, '%Y-%m') as month, country,
       sum(case when diff then at_e - at_s else d30_e end)::bigint as downloads,
       coalesce(sum(at_e), 0)::bigint as cumulative_downloads, count(*)::bigint as n_models
from rows join reg on reg.org = lower(split_part(id, '/', 1))
where diff or d30_e is not null
group by all order by all
"""


#: the scoped query keeps the models of registry organizations only, as it reads the files
SCOPE_FIRST = "where lower(split_part(id, '/', 1)) in (select org from reg)"


def duckdb_side(files: list[str], scoped: bool = False):
    """The query, as atomdata computes it (every model's months, the scope applied at the end) or
    ``scoped`` (the scope applied while reading: the least work the headline table needs)."""
    import duckdb

    q = QUERY.replace("{scope_first}", SCOPE_FIRST if scoped else "")
    return duckdb.connect().execute(q, {"files": files, "registry": str(REGISTRY)}).df()


def compare(a_path: Path, d_path: Path) -> dict:
    """Both results, rows keyed by (month, country): equal in every value? Raises if not."""
    import pandas as pd

    a = pd.read_parquet(a_path)[KEY + VALUES].astype({k: "string" for k in KEY} | {v: "int64" for v in VALUES})
    d = pd.read_parquet(d_path)[KEY + VALUES].astype({k: "string" for k in KEY} | {v: "int64" for v in VALUES})
    a, d = (x.sort_values(KEY).reset_index(drop=True) for x in (a, d))
    if not a.equals(d):
        m = a.merge(d, on=KEY, how="outer", suffixes=("_atomdata", "_duckdb"), indicator=True)
        raise SystemExit(f"atomdata and DuckDB differ:\n{m[m['_merge'] != 'both'].head()}\n{m.head()}")
    return {"equal_rows": len(a), "months": int(a["month"].nunique()), "total_downloads": int(a["downloads"].sum())}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("side", choices=SIDES)
    ap.add_argument("--out", type=Path, required=True, help="result table (parquet)")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args(argv)
    # imports outside the timing, on both sides
    if a.side == "atomdata":
        import atomdata.rules.boundaries, atomdata.rules.organizations, atomdata.steps.shares  # noqa: E401,F401
    else:
        import duckdb  # noqa: F401
    t = time.perf_counter()
    res = atomdata_side(a.files) if a.side == "atomdata" else duckdb_side(a.files, scoped=a.side == "duckdb-scoped")
    seconds = time.perf_counter() - t
    res.to_parquet(a.out)
    print(json.dumps({"seconds": round(seconds, 2), "rows": len(res)}))


if __name__ == "__main__":
    main()
