"""Deterministic synthetic Hub snapshots at realistic scale and shape (hub-stats dump layout).

    python benchmarks/synth.py --models 2200000 --months 24 --out /tmp/synth

writes OUT/YYYY-MM-01/models.parquet for consecutive months. Shape calibrated on the real
shared snapshots (hub-stats 2026-07-01/08-01): log10(all-time downloads) ~ Normal(3.4, 1.55)
(heavy tail up to ~10^8), 62% of repos declare a base, median monthly counter growth 5.8%
(p10 0.3%, p90 19%). Thousands of organizations with Zipf-sized catalogues, the curated ones
holding ~22% of the repos as in the shared snapshots (23%); derivative chains
several levels deep (fine-tunes of fine-tunes), merges with two bases, quantized leaves;
counters grow every month; ~0.5% of models are absent from any given snapshot and come back.
Everything is vectorised numpy and seeded: same arguments, same bytes.
"""
from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REAL_ORGS = ["Qwen", "meta-llama", "google", "deepseek-ai", "mistralai", "microsoft", "nvidia", "zai-org",
             "moonshotai", "allenai", "ibm-granite", "tiiuae", "01-ai", "internlm", "MiniMaxAI", "openai"]
#: Zipf rank (from 0) of the first curated organization
FIRST_REAL_RANK = 3
RELATIONS = np.array(["finetune", "adapter", "quantized", "merge"])
PIPES = np.array(["text-generation", "image-text-to-text", "feature-extraction", "text-classification",
                  "text-to-image", "automatic-speech-recognition", "any-to-any"])
PIPE_P = np.array([0.62, 0.06, 0.1, 0.08, 0.06, 0.04, 0.04])
BASE_TYPE = pa.struct([("relation", pa.string()), ("models", pa.list_(pa.struct([("_id", pa.string()), ("id", pa.string())])))])


def population(n: int, seed: int = 0, months: int = 24):
    """The model population: ids, orgs, lineage, creation times and month-0 counters."""
    rng = np.random.default_rng(seed)
    n_orgs = max(50, n // 200)
    # the largest catalogues are uploaders' (quantizers, fine-tuners), not the labs': the curated
    # organizations take Zipf ranks 4 to 19, ~22% of the repos, as in the shared hub-stats snapshots
    # (23%; a sample biased towards tracked organizations, so the full Hub's share is lower still)
    users = [f"org{i:06d}" for i in range(n_orgs - len(REAL_ORGS))]
    org_names = np.array(users[:FIRST_REAL_RANK] + REAL_ORGS + users[FIRST_REAL_RANK:], dtype=object)
    org = np.minimum(rng.zipf(1.6, n) - 1, n_orgs - 1)
    ids = np.char.add(np.char.add(org_names[org].astype(str), "/model-"), np.arange(n).astype(str)).astype(object)
    is_deriv = rng.random(n) < 0.62
    is_deriv[: min(n, 1000)] = False  # the first models are originals
    # parents are earlier models, preferentially popular ones: chains several levels deep
    parent = np.where(is_deriv, (rng.random(n) ** 2.5 * np.arange(n)).astype(np.int64), -1)
    rel = rng.choice(4, n, p=[0.55, 0.1, 0.2, 0.15])
    second = np.where(is_deriv & (rel == 3), (rng.random(n) * np.arange(n)).astype(np.int64), -1)
    # creation spread from 2021 to the last snapshot: the Hub keeps growing month to month
    span = (np.datetime64(month_dates(months + 1)[-1]) - np.datetime64("2021-01-01")).astype(int)
    created = np.datetime64("2021-01-01") + np.sort(rng.integers(0, span, n)).astype("timedelta64[D]")
    alltime = np.floor(10 ** rng.normal(3.4, 1.55, n)).astype(np.int64)
    growth = np.clip(rng.lognormal(np.log(0.058), 1.2, n), 0, 2)
    pipe = rng.choice(len(PIPES), n, p=PIPE_P)
    params = np.where(rng.random(n) < 0.7, (10 ** rng.uniform(8, 11.5, n)).round(), np.nan)
    return dict(ids=ids, author=org_names[org], is_deriv=is_deriv, parent=parent, rel=rel, second=second,
                created=created, alltime=alltime, growth=growth, pipe=pipe, params=params)


def snapshot_table(pop, month: int, date: str, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed * 1000 + month)
    n = len(pop["ids"])
    # capped below int64's range: a fast grower over many months would otherwise overflow
    counts = np.floor(np.minimum(pop["alltime"] * np.minimum((1 + pop["growth"]) ** month, 1e9), 1e15)).astype(np.int64)
    present = (rng.random(n) > 0.005) & (pop["created"] < np.datetime64(date))
    idx = np.flatnonzero(present)
    ids = pop["ids"]
    parent, second, rel = pop["parent"][idx], pop["second"][idx], pop["rel"][idx]
    has = parent >= 0
    two = has & (second >= 0)
    n_items = has.astype(np.int64) + two.astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(n_items)]).astype(np.int32)
    firsts, seconds = np.where(has, parent, 0), np.where(two, second, 0)
    order = np.stack([firsts, seconds], axis=1)[np.stack([has, two], axis=1)]
    base_ids = pa.array(ids[order].astype(str), pa.large_string()).cast(pa.string())
    items = pa.StructArray.from_arrays([base_ids, base_ids], names=["_id", "id"])
    models = pa.ListArray.from_arrays(pa.array(offsets), items)
    base = pa.StructArray.from_arrays([pa.array(RELATIONS[rel].astype(str), pa.large_string()).cast(pa.string()), models], names=["relation", "models"],
                                      mask=pa.array(~has))
    rel_tags = np.char.add(np.char.add("base_model:", RELATIONS[rel].astype(str)), ":")
    tag1 = np.where(has, np.char.add(rel_tags, ids[np.where(has, parent, 0)].astype(str)), "transformers")
    tags = pa.ListArray.from_arrays(pa.array(np.arange(0, 2 * len(idx) + 1, 2, dtype=np.int32)),
                                    pa.array(np.stack([tag1, np.full(len(idx), "license:apache-2.0")], 1).ravel(),
                                             pa.large_string()).cast(pa.string()))
    st = pa.StructArray.from_arrays([pa.array(pop["params"][idx], pa.float64(), from_pandas=True)], names=["total"],
                                    mask=pa.array(np.isnan(pop["params"][idx])))
    return pa.table({
        "id": pa.array(ids[idx].astype(str), pa.large_string()),
        "author": pa.array(pop["author"][idx].astype(str), pa.large_string()),
        "createdAt": pa.array(pop["created"][idx].astype("datetime64[us]")),
        "downloads": pa.array(np.floor(counts[idx] * 0.05).astype(np.int64)),
        "downloadsAllTime": pa.array(counts[idx]),
        "likes": pa.array((counts[idx] // 1000).astype(np.int64)),
        "tags": tags,
        "pipeline_tag": pa.array(PIPES[pop["pipe"][idx]].astype(str), pa.large_string()),
        "library_name": pa.array(np.full(len(idx), "transformers"), pa.large_string()),
        "baseModels": base.cast(BASE_TYPE),
        "safetensors": st,
    })


def month_dates(months: int, start=dt.date(2024, 1, 1)) -> list[str]:
    out, y, m = [], start.year, start.month
    for _ in range(months):
        out.append(f"{y:04d}-{m:02d}-01")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def generate(out: Path, models: int, months: int, seed: int = 0) -> list[Path]:
    pop = population(models, seed, months)
    paths = []
    for i, d in enumerate(month_dates(months)):
        p = Path(out) / d / "models.parquet"
        p.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(snapshot_table(pop, i, d, seed), p)
        paths.append(p)
    return paths


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=int, default=2_200_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    for p in generate(a.out, a.models, a.months, a.seed):
        print(p)
