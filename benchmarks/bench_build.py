"""Build benchmarks on synthetic snapshots: wall time and peak memory, with a DuckDB reference.

    python benchmarks/bench_build.py --models 2200000 --months 24 --work /tmp/atombench

Each step runs in its own subprocess so that its peak RSS is its own. Results are printed as a
Markdown table (append them to benchmarks/RESULTS.md with the machine description).
Not part of the test run: it takes minutes at full scale.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_step(code: str) -> dict:
    """Run python code in a child; return its wall seconds, peak RSS (MB) and printed JSON."""
    wrapper = textwrap.dedent("""
        import json, os, resource, sys, threading, time

        def rss_tree(pid):
            # resident memory of a process and all its descendants (the build's worker processes), MB
            try:
                with open(f"/proc/{pid}/status") as f:
                    kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))
                kids = []
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/children") as f:
                        kids += f.read().split()
            except (OSError, StopIteration):
                return 0.0
            return kb / 1024 + sum(rss_tree(k) for k in kids)

        peak = [0.0]
        stop = threading.Event()

        def sample():
            while not stop.wait(0.05):
                peak[0] = max(peak[0], rss_tree(os.getpid()))

        threading.Thread(target=sample, daemon=True).start()
        t0 = time.perf_counter()
        out = {}
        exec(compile(sys.argv[1], "<bench>", "exec"))
        out["seconds"] = time.perf_counter() - t0
        stop.set()
        out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # sampled every 50 ms: this process and its worker processes together
        out["peak_with_workers_mb"] = round(max(peak[0], out["peak_mb"]))
        print(json.dumps(out, default=str))
    """)
    res = subprocess.run([sys.executable, "-c", wrapper, textwrap.dedent(code)], capture_output=True, text=True,
                         cwd=HERE.parent)
    if res.returncode:
        raise SystemExit(res.stderr[-4000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=2_200_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--work", type=Path, default=Path("/tmp/atombench"))
    ap.add_argument("--steps", default="import,lineage,build,aggregation,load",
                    help="comma-separated subset of: import, lineage, build, aggregation, load, fit "
                         "(fit: cold builds over 3, 6, 9 and 12 snapshots and the least-squares line through them)")
    a = ap.parse_args()
    steps = set(a.steps.split(","))
    dumps = a.work / f"dumps-{a.models}-{a.months}"
    if not (dumps / "done").exists():
        t = time.perf_counter()
        # in a child process: a step's peak memory (its ru_maxrss) would otherwise start from this
        # process's, which the generator leaves at GBs (Linux keeps the high-water mark across exec)
        subprocess.run([sys.executable, str(HERE / "synth.py"), "--models", str(a.models), "--months", str(a.months),
                        "--out", str(dumps)], check=True)
        (dumps / "done").write_text("ok")
        print(f"generated {a.months} snapshots of {a.models} models in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    files = sorted(str(p) for p in dumps.glob("*/models.parquet"))
    rows = []

    def step(name, code, kind):
        if kind not in steps:
            return None
        r = run_step(code)
        rows.append((name, r))
        print(f"{name}: {r['seconds']:.2f}s, peak {r['peak_mb']:.0f} MB {({k: v for k, v in r.items() if k not in ('seconds', 'peak_mb')}) or ''}", file=sys.stderr)
        return r

    store = a.work / f"store-{a.models}"
    import shutil

    shutil.rmtree(store, ignore_errors=True)
    step("import one dump", f"""
        from atomdata.ingest.dump import import_dump
        import_dump({files[0]!r}, __import__('pathlib').Path({str(store)!r}))
    """, "import")
    step("lineage over one snapshot", f"""
        from atomdata.rules.records import load_snapshot
        from atomdata.steps.cache import default_typing
        from atomdata.rules import lineage
        r, e = load_snapshot({files[-1]!r}, default_typing().model_types)
        t = time.perf_counter()
        roots = lineage.resolve(r[["model_id", "base_id"]])
        out["lineage_seconds"] = round(time.perf_counter() - t, 2)
        out["models"] = len(r)
    """, "lineage")
    for k in sorted({min(12, a.months), a.months}):
        kstore = a.work / f"store-{a.models}-{k}"
        shutil.rmtree(kstore, ignore_errors=True)
        step(f"import {k} dumps", f"""
            from pathlib import Path
            from atomdata.ingest.dump import import_dump
            for f in {files[:k]!r}:
                import_dump(f, Path({str(kstore)!r}))
        """, "build")
        step(f"full build, {k} snapshots (cold cache)", f"""
            from pathlib import Path
            from atomdata.build import build
            from atomdata.rules.scope import Scope
            build(Path({str(kstore)!r}), Path({str(a.work / 'out')!r}), scope=Scope(orgs="all", pipelines=None))
        """, "build")
        if k < a.months:
            step(f"add snapshot {k + 1} to a built history (warm cache)", f"""
                from pathlib import Path
                from atomdata.build import build
                from atomdata.ingest.dump import import_dump
                from atomdata.rules.scope import Scope
                import_dump({files[k]!r}, Path({str(kstore)!r}))
                build(Path({str(kstore)!r}), Path({str(a.work / 'out')!r}), scope=Scope(orgs="all", pipelines=None))
            """, "build")
    k = min(12, a.months)
    step("monthly aggregation (atomdata, reading the files included)", f"""
        import numpy as np, pandas as pd, pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
        from atomdata.rules import boundaries
        files = {files[:k]!r}
        t = time.perf_counter()
        # as the build does (steps.history): model ids coded once against the sorted vocabulary
        tabs = [pq.read_table(f, columns=["id", "downloadsAllTime", "downloads"]) for f in files]
        enc = pc.dictionary_encode(pa.chunked_array([c for x in tabs for c in x.column("id").chunks]))
        order = pc.sort_indices(enc.chunks[0].dictionary).to_numpy()
        vocab = enc.chunks[0].dictionary.take(pa.array(order))
        rank = np.empty(len(order), dtype=np.int32)
        rank[order] = np.arange(len(order), dtype=np.int32)
        names = [f.split("/")[-2] for f in files]
        sizes = [x.num_rows for x in tabs]

        def counter(field):
            col = pa.chunked_array([c for x in tabs for c in x.column(field).chunks])
            return pd.arrays.IntegerArray(np.concatenate([c.fill_null(0).to_numpy() for c in col.chunks]),
                                          np.concatenate([c.is_null().to_numpy(zero_copy_only=False) for c in col.chunks]))
        snap = pd.Categorical.from_codes(np.repeat(np.arange(len(files)), sizes), categories=names)
        r = pd.DataFrame({{
            "snapshot": snap, "date": pd.to_datetime(np.repeat(np.array(names, dtype="datetime64[ns]"), sizes)),
            "model_id": pd.Categorical.from_codes(rank[np.concatenate([c.indices.to_numpy() for c in enc.chunks])],
                                                  categories=pd.Index(pd.array(vocab.cast(pa.string()), dtype="string"))),
            "downloads_all_time": counter("downloadsAllTime"),
            "downloads_30d": counter("downloads"),
        }}, copy=False)  # the arrays are its own, as in the build (no second copy of 21 M rows)
        snaps = pd.DataFrame({{"snapshot": names, "date": pd.to_datetime(names)}})
        out["reading_seconds"] = round(time.perf_counter() - t, 2)
        pm, _ = boundaries.downloads_per_period(r, snaps)
        out["aggregation_seconds"] = round(time.perf_counter() - t, 2)
        # the DuckDB query computes the all-time differences only (no 30-day fallback)
        out["total"] = int(pm.loc[pm["method"] == "all_time_diff", "downloads"].sum())
    """, "aggregation")
    step("monthly aggregation (DuckDB reference)", f"""
        import duckdb
        files = {files[:k]!r}
        t = time.perf_counter()
        q = '''
        with r as (select id, downloadsAllTime as c, cast(regexp_extract(filename, '(\\d{{4}}-\\d{{2}}-\\d{{2}})', 1) as date) as d
                   from read_parquet(?, filename=true)),
        s as (select *, max(c) over (partition by id order by d rows between unbounded preceding and 1 preceding) as prev from r),
        v as (select * from s where prev is null or c >= prev)
        select sum(b.c - a.c) from v a join v b on a.id = b.id and b.d = a.d + interval 1 month
        '''
        out["total"] = int(duckdb.sql(q.replace('?', repr(files))).fetchall()[0][0])
        out["aggregation_seconds"] = round(time.perf_counter() - t, 2)
    """, "aggregation")
    if "fit" in steps:
        ks, secs = [], []
        for k in [x for x in (3, 6, 9, 12) if x <= a.months]:
            kstore = a.work / f"fit-{a.models}-{k}"
            shutil.rmtree(kstore, ignore_errors=True)
            run_step(f"""
                from pathlib import Path
                from atomdata.ingest.dump import import_dump
                for f in {files[:k]!r}:
                    import_dump(f, Path({str(kstore)!r}))
            """)
            r = step(f"fit: full build, {k} snapshots (cold cache)", f"""
                from pathlib import Path
                from atomdata.build import build
                from atomdata.rules.scope import Scope
                build(Path({str(kstore)!r}), Path({str(a.work / 'fitout')!r}), scope=Scope(orgs="all", pipelines=None))
            """, "fit")
            ks.append(k)
            secs.append(r["seconds"])
            shutil.rmtree(kstore, ignore_errors=True)
        if len(ks) >= 2:
            import numpy as np

            slope, icept = np.polyfit(ks, secs, 1)
            pred = slope * np.asarray(ks) + icept
            r2 = 1 - ((np.asarray(secs) - pred) ** 2).sum() / max(((np.asarray(secs) - np.mean(secs)) ** 2).sum(), 1e-12)
            rows.append(("fit: least-squares line through the builds above",
                         {"seconds": float(icept), "peak_mb": 0.0, "seconds_per_snapshot": round(float(slope), 2),
                          "intercept_s": round(float(icept), 1), "r2": round(float(r2), 4),
                          "max_residual_s": round(float(np.abs(np.asarray(secs) - pred).max()), 1)}))
    step("atomdata.load('downloads_by_country') incl. import", """
        import atomdata
        atomdata.load("downloads_by_country")
    """, "load")
    print(f"\n### {a.models:,} models x {a.months} monthly snapshots\n")
    print(f"Machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}\n")
    print("| step | wall s | peak MB | notes |\n|---|---|---|---|")
    for name, r in rows:
        notes = ", ".join(f"{k}={v}" for k, v in r.items() if k not in ("seconds", "peak_mb"))
        print(f"| {name} | {r['seconds']:.2f} | {r['peak_mb']:.0f} | {notes} |")


if __name__ == "__main__":
    main()
