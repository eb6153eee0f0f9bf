"""Benchmark: requests and seconds per 10,000 models listed by `atomdata ingest hub` against the fake Hub.

Not a test (pytest does not collect it). Run from the checkout:

    /tmp/venv/bin/python benchmarks/bench_ingest_hub.py [--copies 10] [--repeat 3]

The fake Hub (tests/fakehub.py) serves the real records of ../shared/data (hub-stats 2026-08-01
plus the 2026-05-04 trending listing, 4,975 models); ``--copies`` serves that many copies with
distinct ids so the full listing is long enough to time. Each scenario runs the real client
(HfApi + huggingface_hub's httpx2 session, checkpointing every page) end to end, including the
final combine and snapshot commit. The fake answers from memory on 127.0.0.1; "client ms /
request" subtracts the time the fake spent building its answers, leaving the client's own cost
(HTTP, JSON, Arrow, checkpoint, final combine). Against the real Hub, its server time and the
network latency come on top (see docs/ingest-hub.md).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakehub import FakeHub, load_records, scaled  # noqa: E402
from testdata import FULL, NEEDS_FULL  # noqa: E402

from atomdata.ingest import hub as h  # noqa: E402
from atomdata.rules.organizations import load_registry  # noqa: E402


def one(records, query_kw, page_size, faults=None):
    with tempfile.TemporaryDirectory() as tmp, FakeHub(records, **(faults or {})) as fake:
        q = h.Query(page_size=page_size, endpoint=fake.url, **query_kw)
        t0 = time.perf_counter()
        res = h.ingest(Path(tmp) / "raw", "2026-08-01", q, policy=h.RetryPolicy(backoff=0.001, timeout=5))
        secs = time.perf_counter() - t0
        return res.rows, res.stats.requests, res.stats.retries, secs, secs - fake.server_seconds


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=10, help="copies of the real records for the full listing")
    ap.add_argument("--repeat", type=int, default=3, help="runs per scenario (median reported)")
    args = ap.parse_args(argv)
    if not FULL:  # the committed test fixtures are a subset: timings on them are not the measured ones
        sys.exit(f"bench_ingest_hub: {NEEDS_FULL}")
    os.environ.pop("HF_HUB_OFFLINE", None)

    base = load_records()
    big = scaled(base, args.copies)
    orgs = load_registry()["org"].tolist()
    scenarios = [
        (f"full, {len(big):,} models, 1000/page", big, {"mode": "full"}, 1000, None),
        (f"full, {len(big):,} models, 100/page", big, {"mode": "full"}, 100, None),
        (f"full, {len(big):,} models, 1000/page, 10% faults", big, {"mode": "full"}, 1000,
         {"fault_rate": 0.1, "fault_kinds": ("429", "500", "drop", "truncate"), "seed": 1}),
        (f"first-party, {len(orgs)} registry orgs, depth 1, 1000/page", base, {"mode": "first-party", "orgs": orgs}, 1000, None),
    ]
    print(f"# bench_ingest_hub: Python {platform.python_version()}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs, median of {args.repeat}")
    print("| scenario | models | requests | retries | seconds | requests / 10k models | seconds / 10k models | "
          "ms / request | client ms / request |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, recs, kw, page, faults in scenarios:
        runs = [one(recs, kw, page, faults) for _ in range(args.repeat)]
        rows, reqs, retries = runs[0][:3]
        secs = statistics.median(r[3] for r in runs)
        client = statistics.median(r[4] for r in runs)
        print(f"| {label} | {rows:,} | {reqs:,} | {retries:,} | {secs:.2f} | {reqs / rows * 1e4:.1f} | "
              f"{secs / rows * 1e4:.2f} | {secs / reqs * 1e3:.1f} | {client / reqs * 1e3:.1f} |")


if __name__ == "__main__":
    main()
