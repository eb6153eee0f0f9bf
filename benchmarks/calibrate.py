"""Real rows against synthetic ones: the shape statistics that decide a build's memory and work.

    python benchmarks/calibrate.py --synthetic /tmp/atomhist/dumps-200000

prints a Markdown table: the real shared snapshot (``history.default_real()`` and the month
before it, for counter growth) against the newest two snapshots of a ``history.py`` series.
Tags per row and their bytes, lineage (share with a base, bases per derivative, relation mix,
bases that are derivatives, depth of first-base chains, fan-in), id, name and namespace lengths,
and the bytes a snapshot takes once read (Arrow) and once typed (``records.load_snapshot``:
records and edges, pandas deep size), per row. The real rows are a sample (leaderboard models
and official releases), so scale-dependent figures (fan-in) are not expected to match.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from history import default_real, registry_orgs  # noqa: E402


def _lineage(t: pa.Table) -> dict:
    """Share with a base, bases per derivative, relations, bases that are derivatives, chain depth, fan-in."""
    ids = t.column("id").combine_chunks().cast(pa.string())
    bm = t.column("baseModels").combine_chunks()
    models = pc.struct_field(bm, "models")
    nb = pc.fill_null(pc.list_value_length(models), 0).to_numpy(zero_copy_only=False)
    has = nb > 0
    flat = pc.struct_field(pc.list_flatten(models), "id").cast(pa.string())
    parent = pc.list_parent_indices(models).to_numpy()
    at = pc.index_in(flat, value_set=ids).to_numpy(zero_copy_only=False)
    base_row = np.where(np.isnan(at), -1, np.nan_to_num(at)).astype(np.int64) if at.dtype.kind == "f" else \
        pc.fill_null(pc.index_in(flat, value_set=ids), -1).to_numpy()
    first = np.full(len(ids), -1, dtype=np.int64)
    firsts = np.r_[True, parent[1:] != parent[:-1]] if len(parent) else np.zeros(0, bool)
    first[parent[firsts]] = base_row[firsts]
    depth, ptr = has.astype(np.int64), first.copy()
    for _ in range(60):  # follow every chain one step at a time (a cycle stops after 60)
        live = ptr >= 0
        if not live.any():
            break
        depth[live] += has[ptr[live]]
        ptr = np.where(live, first[np.maximum(ptr, 0)], -1)
    in_snap = base_row >= 0
    fan = pd.Series(flat.to_numpy(zero_copy_only=False)).value_counts().to_numpy()
    rel = pd.Series(pc.struct_field(bm, "relation").to_numpy(zero_copy_only=False)[has]).value_counts(normalize=True)
    d = np.bincount(np.minimum(depth, 4), minlength=5) / len(depth)
    return {
        "share with a base": f"{has.mean():.1%}",
        "bases per derivative (mean / max)": f"{nb[has].mean():.2f} / {nb.max()}",
        "relations (finetune/merge/quantized/adapter)": " / ".join(f"{rel.get(r, 0):.0%}" for r in ("finetune", "merge", "quantized", "adapter")),
        "bases found in the snapshot": f"{in_snap.mean():.1%}",
        # over every edge: a base outside the snapshot counts as declaring none (the sample's chains end there)
        "bases that declare a base themselves (of all edges)": f"{(in_snap & has[np.maximum(base_row, 0)]).mean():.1%}",
        "first-base chain depth 0/1/2/3/4+": " / ".join(f"{x:.0%}" for x in d),
        "fan-in: edges to the top 1% of bases / max": f"{fan[:max(1, len(fan) // 100)].sum() / fan.sum():.0%} / {fan[0]:,}",
    }


def _growth(t: pa.Table, prev: pa.Table) -> dict:
    """All-time downloads and their growth over the month before (models in both snapshots; also
    for those created over a year before: the real rows are mostly older models)."""
    a = t.select(["id", "downloadsAllTime", "createdAt"]).to_pandas().set_index("id")
    b = prev.select(["id", "downloadsAllTime"]).to_pandas().set_index("id")["downloadsAllTime"].reindex(a.index)
    ok = (b > 0) & a["downloadsAllTime"].notna()
    old = ok & (a["createdAt"] < a["createdAt"].max() - pd.Timedelta(days=365))
    la = np.log10(a["downloadsAllTime"].clip(lower=1).dropna().to_numpy(dtype=float))

    def pct(m):
        g = (a.loc[m, "downloadsAllTime"] / b[m] - 1).to_numpy(dtype=float)
        return " / ".join(f"{x:.1%}" for x in np.percentile(g, [10, 50, 90]))
    return {"log10 all-time downloads (mean, sd)": f"{la.mean():.2f}, {la.std():.2f}",
            "monthly all-time growth p10 / p50 / p90": pct(ok),
            "same, models over a year old": pct(old),
            "models created in the last 12 months": f"{(a['createdAt'] >= a['createdAt'].max() - pd.Timedelta(days=365)).mean():.0%}"}


def _typed(path: Path, n: int) -> dict:
    """Bytes per row once read (Arrow, the build's columns) and once typed (records + edges)."""
    import pyarrow.parquet as pq

    from atomdata.rules.records import load_snapshot
    from atomdata.steps.cache import default_typing
    from atomdata.vocab import SOURCE_FIELDS

    names = pq.read_schema(path).names
    arrow = pq.read_table(path, columns=[c for c in SOURCE_FIELDS if c in names]).nbytes / n
    recs, edges = load_snapshot(path, default_typing().model_types)
    return {"Arrow bytes per row (the build's columns read)": f"{arrow:,.0f}",
            "typed bytes per row (records + edges, deep)": f"{(recs.memory_usage(deep=True).sum() + edges.memory_usage(deep=True).sum()) / n:,.0f}",
            "edges per row": f"{len(edges) / n:.2f}"}


def describe(path: Path, prev: Path) -> dict:
    """Every statistic of one snapshot (``prev``: the snapshot a month before)."""
    t = pq.read_table(path)
    n = t.num_rows
    tags = t.column("tags").combine_chunks()
    ln = pc.fill_null(pc.list_value_length(tags), 0).to_numpy(zero_copy_only=False)
    flat = pc.list_flatten(tags)
    ids = pd.Series(t.column("id").to_numpy(zero_copy_only=False))
    name = ids.str.split("/", n=1).str[-1]
    out = {"rows": f"{n:,}",
           "tags per row (mean / p50 / p90)": f"{ln.mean():.1f} / {np.percentile(ln, 50):.0f} / {np.percentile(ln, 90):.0f}",
           "tag characters per row": f"{pc.sum(pc.utf8_length(flat)).as_py() / n:.0f}",
           "base_model tags per row": f"{pc.sum(pc.starts_with(flat, 'base_model:')).as_py() / n:.2f}",
           "id / name / namespace length (mean)": f"{ids.str.len().mean():.1f} / {name.str.len().mean():.1f} / "
                                                  f"{pd.Series(t.column('author').to_numpy(zero_copy_only=False)).str.len().mean():.1f}",
           "models of registry organizations": f"{pc.mean(pc.is_in(pc.utf8_lower(t.column('author')), value_set=pa.array(sorted(registry_orgs())))).as_py():.1%}",
           "distinct namespaces per 1,000 models": f"{pc.count_distinct(t.column('author')).as_py() / n * 1000:.0f}",
           "pipeline text-generation / none": f"{pc.mean(pc.equal(t.column('pipeline_tag'), 'text-generation')).as_py():.0%} / "
                                              f"{t.column('pipeline_tag').null_count / n:.0%}",
           "library transformers / none": f"{pc.mean(pc.equal(t.column('library_name'), 'transformers')).as_py():.0%} / "
                                          f"{t.column('library_name').null_count / n:.0%}",
           "safetensors present": f"{1 - t.column('safetensors').null_count / n:.0%}"}
    out |= _lineage(t) | _growth(t, pq.read_table(prev, columns=["id", "downloadsAllTime"])) | _typed(path, n)
    return out


def _short_names(t: pa.Table, limit: int) -> pa.Table:
    """The real rows with every repo name (ids, declared bases, base tags) cut to ``limit``
    characters, so that a copy's suffix keeps it a valid Hub id (a few thousand rows: in Python)."""
    def cut(repo_id):
        ns, _, name = repo_id.rpartition("/")
        return f"{ns}/{name[:limit].rstrip('-.')}" if len(name) > limit else repo_id

    def cut_tag(tag):
        head, _, rest = tag.rpartition(":")
        return f"{head}:{cut(rest)}" if tag.startswith("base_model:") else tag
    rows = t.to_pylist()
    for r in rows:
        r["id"] = cut(r["id"])
        r["tags"] = [cut_tag(x) for x in r["tags"]] if r["tags"] is not None else None
        for m in (r["baseModels"] or {}).get("models") or []:
            m["id"] = cut(m["id"])
    return pa.Table.from_pylist(rows, schema=t.schema)


def replica(real: Path, folds: int, out: Path) -> Path:
    """``folds`` copies of a real snapshot, ids suffixed ``-rK`` per copy, bases (tags and
    ``baseModels``) renamed within the same copy: the real rows, tags and lineage at Hub size
    (the issue's calibration case: 540 copies of 2026-07/08, 2.2 M models)."""
    t = _short_names(pq.read_table(real), 96 - len(f"-r{folds - 1}"))
    n = t.num_rows
    t = t.take(pa.array(np.tile(np.arange(n), folds)))
    copy = pa.array(np.repeat(np.arange(folds), n)).cast(pa.string())

    def renamed(values, parents):  # value + "-rK", K the copy of the row each value belongs to
        out = pc.binary_join_element_wise(values.cast(pa.string()), copy.take(pa.array(parents)), "-r")
        return out.cast(values.type)
    cols = {c: t.column(c).combine_chunks() for c in t.column_names}
    cols["id"] = renamed(cols["id"], np.arange(len(copy)))
    tags = cols["tags"]
    flat, parents = pc.list_flatten(tags), pc.list_parent_indices(tags).to_numpy()
    values = pc.if_else(pc.starts_with(flat, "base_model:"), renamed(flat, parents), flat)
    cols["tags"] = pa.ListArray.from_arrays(tags.offsets, values, mask=tags.is_null())
    bm = cols["baseModels"]
    models = pc.struct_field(bm, "models")
    items = pc.list_flatten(models)
    ids = renamed(pc.struct_field(items, "id"), pc.list_parent_indices(models).to_numpy())
    items = pa.StructArray.from_arrays([pc.struct_field(items, "_id"), ids], names=["_id", "id"])
    models = pa.ListArray.from_arrays(models.offsets, items, mask=models.is_null())
    cols["baseModels"] = pa.StructArray.from_arrays([pc.struct_field(bm, "relation"), models], names=["relation", "models"],
                                                    mask=bm.is_null()).cast(bm.type)
    path = out / real.parent.name / "models.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(cols), path, compression="zstd")
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 2)[2],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--synthetic", type=Path, help="folder of a history.py series (its newest two snapshots)")
    ap.add_argument("--real", type=Path, default=default_real(), help="real snapshot (default %(default)s)")
    ap.add_argument("--real-prev", type=Path, default=None, help="the real snapshot a month before (default: 2026-07-01 beside --real)")
    ap.add_argument("--replica", type=int, metavar="FOLDS", help="instead: write FOLDS copies of --real and --real-prev into --out")
    ap.add_argument("--out", type=Path, help="folder for --replica")
    a = ap.parse_args(argv)
    if a.replica:
        for real in (a.real_prev or a.real.parents[1] / "2026-07-01" / "models.parquet", a.real):
            print(replica(real, a.replica, a.out))
        return
    prev = a.real_prev or a.real.parents[1] / "2026-07-01" / "models.parquet"
    syn = sorted(a.synthetic.glob("*/models.parquet"))[-2:]
    real, synth = describe(a.real, prev), describe(syn[1], syn[0])
    print(f"| statistic | real ({a.real.parent.name}) | synthetic ({syn[1].parent.name}) |\n|---|---:|---:|")
    for k in real:
        print(f"| {k} | {real[k]} | {synth[k]} |")


if __name__ == "__main__":
    main()
