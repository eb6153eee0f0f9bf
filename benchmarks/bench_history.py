"""History at Hub scale (issue 19): cold builds of N monthly snapshots, adding a month, the fit
against N, and the monthly-share computation against DuckDB; each case a command of its own.

    python benchmarks/bench_history.py generate --models 2200000            # once: 61 monthly snapshots
    python benchmarks/bench_history.py build --n 12                         # then 24, 36, 60, one at a time
    python benchmarks/bench_history.py add --n 36                           # the 37th month on a built 36
    python benchmarks/bench_history.py shares --n 12                        # atomdata vs DuckDB, same files
    python benchmarks/bench_history.py report                               # tables and fits, Markdown
    python benchmarks/bench_history.py reference [--check]                  # the 200k x 12 reference

Every command takes ``--work`` (default /tmp/atomhist) and ``--models`` (default 2,200,000; use
200000 while developing). ``generate`` writes the series with ``history.py`` and imports each
snapshot into a master store (``ingest dump``'s checks, sha256 and copy; the time of each import is
recorded; the dump is then deleted: the store's copy is the same bytes). The series has 61
snapshots ending at ``--end`` (2026-08-01): a case of N builds the N snapshots before the newest,
and ``add`` then adds the newest, so every N ends at the same population and the cases share one
set of files (a run's store hard-links the master's snapshot folders; only its cache is its own).

A build is the real command, ``python -m atomdata.cli build``, in a child process with an empty
cache (``cold``), while this process samples the proportional set size (``Pss`` of
/proc/PID/smaps_rollup) of the build and every process below it (the typing workers) every 0.1 s:
shared pages are counted once across the tree. Each result is a line of WORK/results.jsonl with the
load average and the busiest other processes before and after; the memory trace goes to
WORK/traces/. ``report`` prints the tables and the least-squares fits of time and peak against N.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import history  # noqa: E402

SERIES = 61  # 60 cold months plus the month that ``add`` adds
REFERENCE = HERE / "reference_200k_12.json"


# --------------------------------------------------------------------------- measuring a process tree

def _tree(pid: int) -> list[int]:
    """The process and all its descendants."""
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def _pss_mb(pid: int) -> float:
    """Proportional set size of one process, MB (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _shm_mb(pid: int) -> float:
    """The build's task results waiting in shared memory (``steps.lanes``: memory no process maps), MB."""
    total = 0
    for path in Path("/dev/shm").glob(f"atomdata-task-{pid}-*.pickle"):
        try:
            total += path.stat().st_size
        except OSError:
            pass
    return total / 2**20


#: the memory figures of a measured run (None when it ran without the sampler)
PEAKS = ("peak_pss_mb", "peak_main_pss_mb", "peak_workers_pss_mb", "peak_main_after_workers_mb", "samples", "sampler_ms_per_sample")


class TreeSampler(threading.Thread):
    """Samples the PSS of a process tree every ``interval`` seconds until the root exits (the tree
    counting the root's task results in shared memory too). Keeps the peak of the tree, of the
    root alone, of the others (the workers) together, and of the root after the last worker has
    gone (the build past typing)."""

    def __init__(self, proc: subprocess.Popen, interval: float = 0.1):
        super().__init__(daemon=True)
        self.proc, self.interval = proc, interval
        self.samples: list[tuple[float, float, float, int]] = []  # (seconds, tree MB, root MB, processes)
        self.cost = 0.0  # seconds spent sampling

    def run(self):
        t0 = time.perf_counter()
        while self.proc.poll() is None:
            a = time.perf_counter()
            pids = _tree(self.proc.pid)
            mb = [_pss_mb(p) for p in pids]
            shm = _shm_mb(self.proc.pid)
            b = time.perf_counter()
            self.cost += b - a
            self.samples.append((round(a - t0, 2), sum(mb) + shm, mb[0], len(pids)))
            time.sleep(max(0.0, self.interval - (b - a)))

    def peaks(self) -> dict:
        """The ``PEAKS`` of the samples, MB, and what sampling cost."""
        s = self.samples or [(0, 0.0, 0.0, 1)]
        last_workers = max((t for t, _, _, n in s if n > 1), default=None)
        after = [root for t, _, root, _ in s if last_workers is None or t > last_workers]
        return {"peak_pss_mb": round(max(x[1] for x in s)), "peak_main_pss_mb": round(max(x[2] for x in s)),
                "peak_workers_pss_mb": round(max(x[1] - x[2] for x in s)),
                "peak_main_after_workers_mb": round(max(after, default=0.0)),
                "samples": len(s), "sampler_ms_per_sample": round(1000 * self.cost / len(s), 1)}


def machine_state() -> dict:
    """Load average and the busiest processes (what else was running)."""
    ps = subprocess.run(["ps", "-eo", "pid,pcpu,rss,etime,args", "--sort=-pcpu"], capture_output=True, text=True).stdout
    mine = set(_tree(os.getpid()))
    busy = [" ".join(line.split()[1:])[:90] for line in ps.splitlines()[1:]
            if line.split() and int(line.split()[0]) not in mine and " ps -eo " not in f" {line} "][:4]
    return {"loadavg": [round(x, 2) for x in os.getloadavg()], "busiest": busy}


#: ``--quiet-load``: wait (up to ``QUIET_WAIT`` s) for the 1-minute load average to fall below it
QUIET = {"load": None, "interval": 0.1}
QUIET_WAIT = 3600


def wait_quiet() -> float:
    """Wait until the machine is quiet (the 1-minute load average below ``--quiet-load``): the
    machine is shared, and a build beside a test suite runs up to a third slower. Returns the seconds waited."""
    t0 = time.perf_counter()
    while QUIET["load"] is not None and os.getloadavg()[0] >= QUIET["load"] and time.perf_counter() - t0 < QUIET_WAIT:
        time.sleep(15)
    return round(time.perf_counter() - t0)


def run_measured(cmd: list[str], name: str, work: Path, env=None) -> dict:
    """Run ``cmd``; wall seconds, PSS peaks of its tree, the machine before and after. Its output
    goes to WORK/logs/NAME.log, the memory trace to WORK/traces/NAME.csv."""
    waited = wait_quiet()
    (work / "logs").mkdir(parents=True, exist_ok=True)
    (work / "traces").mkdir(exist_ok=True)
    before = machine_state()
    with open(work / "logs" / f"{name}.log", "w") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env)
        sampler = TreeSampler(proc, QUIET["interval"]) if QUIET["interval"] > 0 else None
        if sampler:
            sampler.start()
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        rc = proc.wait()
        seconds = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the build and its workers (reaped by it)
        if sampler:
            sampler.join()
    if sampler:
        with open(work / "traces" / f"{name}.csv", "w") as f:
            f.write("seconds,tree_pss_mb,main_pss_mb,processes\n")
            f.writelines(f"{t},{a:.0f},{b:.0f},{n}\n" for t, a, b, n in sampler.samples)
    if rc:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed (exit {rc}); see {work / 'logs' / f'{name}.log'}")
    # without the sampler (``--interval 0``): the time alone, as a build runs unobserved
    memory = sampler.peaks() if sampler else {k: None for k in PEAKS}
    cpu = {"user_s": round(cpu1.ru_utime - cpu0.ru_utime, 1), "system_s": round(cpu1.ru_stime - cpu0.ru_stime, 1)}
    return {"seconds": round(seconds, 1), **cpu, "interval_s": QUIET["interval"], **memory, "before": before, "after": machine_state(),
            "waited_s": waited}


def record(work: Path, row: dict) -> None:
    """Append a result to WORK/results.jsonl (with when, where and which code)."""
    import importlib.util

    engine_dir = Path(importlib.util.find_spec("atomdata").origin).parents[1]  # the builds' (PYTHONPATH may name another checkout)

    def git(*args, cwd=REPO):
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=cwd).stdout.strip()
    # the engine measured: the last commit that changed atomdata/ in the checkout the builds import, and whether its tree differs
    engine = git("log", "-1", "--format=%h", "--", "atomdata", cwd=engine_dir) + \
        ("+changes" if git("status", "--porcelain", "--", "atomdata", cwd=engine_dir) else "")
    row = {"when": dt.datetime.now().isoformat(timespec="seconds"), "commit": git("rev-parse", "--short", "HEAD"), "engine": engine, **row}
    with open(work / "results.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row, indent=1))


# --------------------------------------------------------------------------- the series and its stores

def master(work: Path, models: int) -> Path:
    return work / f"store-{models}"


def generate(work: Path, models: int, months: int, end: str, seed: int, keep_dumps: bool = False) -> list[str]:
    """The series in the master store: snapshots missing from it are generated, imported (timed)
    and their dumps deleted. Returns the store's snapshot names, oldest first."""
    from atomdata.ingest.dump import import_dump

    store, dumps = master(work, models), work / f"dumps-{models}"
    pop = None
    for day, stale in history.plan(end, months, seed):
        if (store / day.isoformat() / "manifest.json").is_file():
            continue
        if pop is None:
            t = time.perf_counter()
            pop = history.population(history.load_templates(history.default_real()), models, end, seed)
            print(f"population: {len(pop.created):,} models in {time.perf_counter() - t:.0f} s", flush=True)
        path = dumps / day.isoformat() / "models.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        history.pq.write_table(history.snapshot_table(pop, day, stale, seed), path, compression="zstd")
        t_gen = time.perf_counter() - t
        t = time.perf_counter()
        snap, _ = import_dump(path, store)
        record(work, {"case": "import", "models": models, "snapshot": snap.name, "rows": snap.manifest["rows"],
                      "bytes": path.stat().st_size, "seconds": round(time.perf_counter() - t, 2), "generate_seconds": round(t_gen, 1)})
        if not keep_dumps:
            shutil.rmtree(path.parent)
    return [s.name for s in snapshots(store)]


def snapshots(store: Path):
    from atomdata.ingest.store import list_snapshots

    return list_snapshots(store)


def run_store(work: Path, models: int, names: list[str], tag: str) -> Path:
    """A store of the given snapshots, hard-linked from the master store (no data copied); any
    other snapshot is taken out, the cache is kept (emptied by a cold build)."""
    src, raw = master(work, models), work / f"run-{models}-{tag}" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for p in raw.iterdir():
        if not p.name.startswith(".") and p.name not in names:
            shutil.rmtree(p)
    for n in names:
        if not (raw / n).exists():
            shutil.copytree(src / n, raw / n, copy_function=os.link)
    return raw


def build_cmd(raw: Path, out: Path, scope: str) -> list[str]:
    """The build command; ``-P``: the atomdata this script imports (``PYTHONPATH``'s, else the
    installed one), not a checkout that happens to be the working folder."""
    return [sys.executable, "-P", "-m", "atomdata.cli", "build", "--raw", str(raw), "--out", str(out), "--scope", scope]


def rows_of(raw: Path) -> dict:
    snaps = snapshots(raw)
    rows = [s.manifest["rows"] for s in snaps]
    return {"snapshots": len(snaps), "first": snaps[0].name, "last": snaps[-1].name,
            "rows_min": min(rows), "rows_max": max(rows), "rows_total": sum(rows)}


def cold_build(work: Path, models: int, names: list[str], tag: str, scope: str, keep_out: bool) -> dict:
    """A cold build (empty cache) of the snapshots ``names``; returns its measurements."""
    raw = run_store(work, models, names, tag)
    shutil.rmtree(raw / ".cache", ignore_errors=True)
    out = raw.parent / "out"
    shutil.rmtree(out, ignore_errors=True)
    r = run_measured(build_cmd(raw, out, scope), f"build-{models}-{tag}", work)
    r |= rows_of(raw) | {"out_mb": round(sum(p.stat().st_size for p in out.iterdir()) / 1e6)}
    if not keep_out:
        shutil.rmtree(out)
    return r


# --------------------------------------------------------------------------- the commands

def cmd_generate(a):
    names = generate(a.work, a.models, SERIES, a.end, a.seed, a.keep_dumps)
    du = sum(p.stat().st_size for p in master(a.work, a.models).glob("*/models.parquet"))
    print(f"{len(names)} snapshots in {master(a.work, a.models)} ({names[0]} … {names[-1]}, {du / 1e9:.1f} GB)")


def cold_names(a, n: int) -> list[str]:
    names = generate(a.work, a.models, SERIES, a.end, a.seed)
    if n > len(names) - 1:
        raise SystemExit(f"--n {n}: the series holds {len(names) - 1} months before the newest")
    return names[-1 - n:-1]


def cmd_build(a):
    r = cold_build(a.work, a.models, cold_names(a, a.n), str(a.n), a.scope, a.keep_out)
    record(a.work, {"case": "cold build", "n": a.n, "models": a.models, "scope": a.scope, **r})


def cmd_add(a):
    """Build N (cold, unless this N's store is built already; then warm, unmeasured, so that its
    tables are in place as a built history's are), then add the newest month over them: warm."""
    names = cold_names(a, a.n)
    raw = a.work / f"run-{a.models}-{a.n}" / "raw"
    built = (raw / ".cache").is_dir() and sorted(p.name for p in raw.iterdir() if not p.name.startswith(".")) == names
    out = raw.parent / "out"
    if not built:  # the cold build leaves its tables in ``out``
        r = cold_build(a.work, a.models, names, str(a.n), a.scope, keep_out=True)
        record(a.work, {"case": "cold build", "n": a.n, "models": a.models, "scope": a.scope, **r})
    else:  # a built history has its tables: the N months' (a warm build, not measured), which the add replaces
        subprocess.run(build_cmd(raw, out, a.scope), check=True, stdout=subprocess.DEVNULL)
    newest = [s.name for s in snapshots(master(a.work, a.models))][-1]
    raw = run_store(a.work, a.models, names + [newest], str(a.n))
    forget(raw, newest)
    r = run_measured(build_cmd(raw, out, a.scope), f"add-{a.models}-{a.n}", a.work)
    r |= rows_of(raw)
    record(a.work, {"case": "add a month (warm)", "n": a.n, "models": a.models, "scope": a.scope, **r})
    if not a.keep_out:
        shutil.rmtree(raw.parent / "out", ignore_errors=True)
    run_store(a.work, a.models, names, str(a.n))  # back to N snapshots (the cache stays warm)


def forget(raw: Path, name: str) -> list[str]:
    """Remove what a build caches for snapshot ``name`` (its typed records, edges and claims rows,
    the leavers of the pair it ends, the id codes and vocabulary of the months up to it, the CSV
    text of its organization rows and the text and rows of the months whose readings end with it, its readings and
    the pass's state after it): an added month is measured as new even where an earlier ``add`` left its entries in
    the cache."""
    from atomdata.steps import cache, pass_state
    from atomdata.steps.context import open_context

    ctx = open_context(raw)
    snaps = [s for s in ctx.snaps if s.name in set(ctx.main)]
    snap = next(s for s in snaps if s.name == name)
    keys = cache.id_chain(snaps[:snaps.index(snap) + 1], ctx.typing)
    passed = pass_state.pass_chain(snaps[:len(keys)], keys, ctx.counter_names)[-1]
    gone = [p for p in (raw / ".cache").glob("*") if any(k in p.name for k in (snap.sha256[:32], keys[-1], passed))]
    for p in gone:
        p.unlink()
    return [p.name for p in gone]


def cmd_shares(a):
    """The monthly-share computation over the files of the N case, atomdata then DuckDB, each in
    a child process (measured like a build); the results are checked equal."""
    import shares

    raw = run_store(a.work, a.models, cold_names(a, a.n), str(a.n))
    files = [str(s.data_path) for s in snapshots(raw)]
    res = {}
    for side in shares.SIDES:
        out = a.work / f"shares-{side}.parquet"
        cmd = [sys.executable, str(HERE / "shares.py"), side, "--out", str(out), *files]
        r = run_measured(cmd, f"shares-{side}-{a.models}-{a.n}", a.work)
        r["inner_seconds"] = json.loads((a.work / "logs" / f"shares-{side}-{a.models}-{a.n}.log").read_text().splitlines()[-1])["seconds"]
        res[side] = (r, out)
    check = shares.compare(res["atomdata"][1], res["duckdb"][1])
    shares.compare(res["atomdata"][1], res["duckdb-scoped"][1])
    for side, (r, _) in res.items():
        record(a.work, {"case": f"monthly shares ({side})", "n": a.n, "models": a.models, **r, **rows_of(raw), **check})
    t = {side: r["inner_seconds"] for side, (r, _) in res.items()}
    print(f"atomdata / DuckDB: {t['atomdata'] / t['duckdb']:.2f}x, scoped {t['atomdata'] / t['duckdb-scoped']:.2f}x; {check}")


def cmd_dumps(a):
    """A cold build of a folder of dumps (DIR/YYYY-MM-DD/models.parquet), e.g. the real-row replica of ``calibrate.py``."""
    from atomdata.ingest.dump import import_dump

    store = a.work / f"store-{a.dumps.name}"
    for p in sorted(a.dumps.glob("*/models.parquet")):
        import_dump(p, store)
    shutil.rmtree(store / ".cache", ignore_errors=True)
    out = a.work / f"out-{a.dumps.name}"
    shutil.rmtree(out, ignore_errors=True)
    r = run_measured(build_cmd(store, out, a.scope), f"build-{a.dumps.name}", a.work) | rows_of(store)
    if not a.keep_out:
        shutil.rmtree(out, ignore_errors=True)
    record(a.work, {"case": f"cold build of {a.dumps}", "n": r["snapshots"], "scope": a.scope, **r})


# --------------------------------------------------------------------------- report

def fit(xs, ys) -> dict:
    """Least-squares line y = slope * x + intercept, with R² and the largest residual."""
    import numpy as np

    x, y = np.asarray(xs, float), np.asarray(ys, float)
    slope, icept = np.polyfit(x, y, 1)
    res = y - (slope * x + icept)
    r2 = 1 - (res ** 2).sum() / max(((y - y.mean()) ** 2).sum(), 1e-12)
    return {"slope": slope, "intercept": icept, "r2": r2, "max_residual": float(abs(res).max())}


def _others(r) -> str:
    """What else ran: load average before / after and the busiest other process at the start."""
    b, e = r.get("before", {}), r.get("after", {})
    busy = (b.get("busiest") or ["?"])[0].split(None, 3)
    return f"{b.get('loadavg', ['?'])[0]} / {e.get('loadavg', ['?'])[0]}; {' '.join(busy[:1] + busy[3:])[:60]}"


def shares_table(rows) -> None:
    """atomdata against the two DuckDB queries, per N (the latest run of each side)."""
    by = {(r["n"], r["case"].split("(")[1][:-1]): r for r in rows if r["case"].startswith("monthly shares")}
    ns = sorted({n for n, _ in by})
    if not ns:
        return
    print("\n| N | readings | rows checked equal | atomdata s (MB) | DuckDB s (MB) | ratio | DuckDB, scope first s (MB) | ratio |"
          "\n|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in ns:
        at, dk, ds = (by.get((n, s)) for s in ("atomdata", "duckdb", "duckdb-scoped"))
        if not (at and dk and ds):
            continue
        cell = lambda r: f"{r['inner_seconds']:.1f} ({'not sampled' if r['peak_pss_mb'] is None else format(r['peak_pss_mb'], ',')})"  # noqa: E731
        print(f"| {n} | {at['rows_total']:,} | {at['equal_rows']} | {cell(at)} | {cell(dk)} | {at['inner_seconds'] / dk['inner_seconds']:.2f}x "
              f"| {cell(ds)} | {at['inner_seconds'] / ds['inner_seconds']:.2f}x |")


def cmd_report(a):
    rows = [json.loads(x) for x in (a.work / "results.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r.get("models") == a.models]
    print(f"Machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"models = {a.models:,} in the newest snapshot\n")
    print("| case | N | snapshots | models per snapshot | wall s | peak PSS, tree MB | main MB | workers MB | "
          "main after typing MB | load 1-min before / after; busiest other process |\n|---|---:|---|---|---:|---:|---:|---:|---:|---|")
    for r in sorted((r for r in rows if "build" in r["case"] or "add" in r["case"]), key=lambda r: (r["n"], r["when"])):
        mb = lambda k: "not sampled" if r.get(k) is None else f"{r[k]:,}"  # noqa: E731
        print(f"| {r['case']} ({r['when'][:16]}; engine {r.get('engine', r['commit'])}) | {r['n']} | {r['first']} … {r['last']} | {r['rows_min']:,} … {r['rows_max']:,} "
              f"| {r['seconds']:.1f} | {mb('peak_pss_mb')} | {mb('peak_main_pss_mb')} | {mb('peak_workers_pss_mb')} "
              f"| {mb('peak_main_after_workers_mb')} | {_others(r)} |")
    # the fit is of sampled runs (the memory is part of it)
    latest = {r["n"]: r for r in rows if r["case"] == "cold build" and r["n"] in (12, 24, 36, 60) and r.get("peak_pss_mb") is not None}
    if len(latest) >= 2:
        ns = sorted(latest)
        print(f"\nFit against N (cold builds, N = {', '.join(map(str, ns))}; the latest run of each):\n")
        print("| quantity | per added snapshot | intercept | R² | largest residual |\n|---|---:|---:|---:|---:|")
        for key, unit in (("seconds", "s"), ("peak_pss_mb", "MB")):
            f = fit(ns, [latest[n][key] for n in ns])
            print(f"| {key} | {f['slope']:.2f} {unit} | {f['intercept']:.0f} {unit} | {f['r2']:.4f} | {f['max_residual']:.0f} {unit} |")
    shares_table(rows)
    imp = [r for r in rows if r["case"] == "import"]
    if imp:
        print(f"\nImport: {len(imp)} snapshots, {sum(r['seconds'] for r in imp):.0f} s in all, "
              f"{sum(r['seconds'] for r in imp) / sum(r['rows'] for r in imp) * 1e6:.2f} s per million rows; "
              f"{sum(r['bytes'] for r in imp) / 1e9:.1f} GB of parquet")


# --------------------------------------------------------------------------- the 200k x 12 reference

def cmd_reference(a):
    """Generate the 200k x 12 store (deterministic), build it cold, hash every table; write the
    hashes to REFERENCE, or with --check compare them (exit 1 on any difference)."""
    import numpy, pandas, pyarrow  # noqa: E401
    from atomdata.ingest.dump import import_dump
    from atomdata.io import sha256_file

    models, months = 200_000, 12
    work = a.work / f"reference-{models}-{months}"
    dumps, raw, out = work / "dumps", work / "raw", work / "out"
    real = history.default_real()
    for p in history.generate(dumps, models, months, a.end, a.seed, real):
        import_dump(p, raw)
    shutil.rmtree(raw / ".cache", ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    r = run_measured(build_cmd(raw, out, a.scope) + ["--no-datapackage"], "reference", work)
    ref = {"generator": {"script": "benchmarks/history.py", "models": models, "months": months, "end": a.end, "seed": a.seed,
                         "real": {"file": f"hub-stats/{real.parent.name}/models.parquet", "sha256": sha256_file(real)}},
           "build": f"python -m atomdata.cli build --raw RAW --out OUT --scope {a.scope} --no-datapackage",
           "versions": {"python": platform.python_version(), "numpy": numpy.__version__, "pandas": pandas.__version__,
                        "pyarrow": pyarrow.__version__},
           "snapshots": {s.name: s.sha256 for s in snapshots(raw)},
           "tables": {p.name: sha256_file(p) for p in sorted(out.glob("*.csv"))}}
    print(f"built in {r['seconds']} s, peak {r['peak_pss_mb']} MB")
    if not a.check:
        REFERENCE.write_text(json.dumps(ref, indent=1) + "\n")
        print(f"wrote {REFERENCE} ({len(ref['tables'])} tables)")
        return
    want = json.loads(REFERENCE.read_text())
    bad_snaps = [n for n in want["snapshots"] if ref["snapshots"].get(n) != want["snapshots"][n]]
    bad = [n for n in sorted(set(want["tables"]) | set(ref["tables"])) if ref["tables"].get(n) != want["tables"].get(n)]
    if bad_snaps:
        print(f"the generated snapshots differ from the reference's ({', '.join(bad_snaps)}): versions "
              f"{ref['versions']} against {want['versions']}; the tables cannot be compared")
    print("tables differing: " + (", ".join(bad) if bad else f"none (all {len(want['tables'])} byte-identical)"))
    if bad or bad_snaps:
        raise SystemExit(1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)

    def command(name, func, help_):
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument("--work", type=Path, default=Path("/tmp/atomhist"), help="work folder (default %(default)s)")
        p.add_argument("--models", type=int, default=2_200_000, help="population of the newest snapshot (default %(default)s)")
        p.add_argument("--end", default="2026-08-01", help="date of the newest snapshot (default %(default)s)")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--scope", default="default", help="scope preset of the build (default %(default)s)")
        p.add_argument("--keep-out", action="store_true", help="keep the built tables (deleted by default: GBs)")
        p.add_argument("--quiet-load", type=float, default=None, metavar="LOAD",
                       help="before each measured run, wait (up to an hour) for the 1-minute load average to fall below LOAD")
        p.add_argument("--interval", type=float, default=0.1, help="seconds between memory samples (default %(default)s; "
                       "reading smaps_rollup of GB-sized processes takes 20 to 60 ms of a core; "
                       "0: no sampling, the time of a build as it runs unobserved)")
        p.set_defaults(func=func)
        return p

    command("generate", cmd_generate, "generate and import the 61-month series (missing snapshots only)") \
        .add_argument("--keep-dumps", action="store_true", help="keep the generated dumps beside the store")
    for name, func, help_ in (("build", cmd_build, "cold build of the N months before the newest snapshot"),
                              ("add", cmd_add, "add the newest snapshot to a built N-month history (warm cache)"),
                              ("shares", cmd_shares, "monthly shares over the N case's files: atomdata against DuckDB")):
        command(name, func, help_).add_argument("--n", type=int, required=True, help="months (12, 24, 36, 60)")
    command("dumps", cmd_dumps, "cold build of any folder of dumps").add_argument("dumps", type=Path)
    p = command("report", cmd_report, "print the results as Markdown tables, with the fits against N")
    p = command("reference", cmd_reference, "the 200k x 12 reference: build it and save (or --check) every table's sha256")
    p.add_argument("--check", action="store_true", help=f"compare with {REFERENCE.name} instead of writing it")
    a = ap.parse_args(argv)
    QUIET["load"], QUIET["interval"] = a.quiet_load, a.interval
    a.work.mkdir(parents=True, exist_ok=True)
    a.func(a)


if __name__ == "__main__":
    main()
