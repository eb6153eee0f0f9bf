"""Benchmark: bytes read and seconds per boundary of `atomdata ingest archive` on a Hub-sized file.

Not a test (pytest does not collect it). Run from the checkout:

    python benchmarks/bench_archive.py [--models 2200000] [--out /tmp/bench-archive]

Writes a synthetic stand-in of a 2026 hub-stats ``models.parquet`` in a temporary folder: the
fields the build reads, shaped as in ``benchmarks/synth.py`` but with Hub-like tag lists (library,
format, model type, pipeline, language, licence, region and base-model tags), next to the fields
that make the real file large and that atomdata never reads: the model card text (templated
Markdown with per-model parts), the file list (``siblings``), the config JSON, ``cardData``,
``spaces``, ``sha``, ``lastModified``, ``usedStorage``, ``gated``. Written as pyarrow writes by
default (snappy, row groups of 1,048,576 rows). The fake archive (tests/fakearchive.py) serves it as
one commit of a daily archive, and the real command (HfApi + HfFileSystem range reads + pyarrow
column selection) stores one snapshot. Reported: the file's size, the bytes received for the
snapshot (every response body: metadata answers, the footer and the column chunks), the requests,
and the seconds for the boundary (on 127.0.0.1: the Hub's latency and bandwidth come on top).
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

import synth  # noqa: E402
from fakearchive import Commit, FakeArchive  # noqa: E402

from atomdata.ingest import archive as a  # noqa: E402
from atomdata.ingest.client import RetryingClient, RetryPolicy  # noqa: E402

MODEL_TYPES = np.array(["llama", "qwen2", "qwen3", "mistral", "gemma3", "phi3", "bert", "t5", "gpt2", "whisper", "clip"])
LIBS = np.array(["transformers", "peft", "diffusers", "sentence-transformers", "gguf", "timm", "mlx"])
SECTIONS = [
    "## Model description\n\nThis model is a fine-tuned version of {base} on an unknown dataset. It achieves the "
    "following results on the evaluation set:\n- Loss: {loss}\n- Accuracy: {acc}\n",
    "## Training procedure\n\n### Training hyperparameters\n\nThe following hyperparameters were used during training:\n"
    "- learning_rate: {lr}\n- train_batch_size: {bs}\n- eval_batch_size: {bs}\n- seed: 42\n- optimizer: Use adamw_torch "
    "with betas=(0.9,0.999) and epsilon=1e-08\n- lr_scheduler_type: linear\n- num_epochs: {ep}\n",
    "### Framework versions\n\n- PEFT 0.{ep}.0\n- Transformers 4.{bs}.0\n- Pytorch 2.{ep}.1+cu121\n- Datasets 2.{ep}.0\n"
    "- Tokenizers 0.{ep}.1\n",
    "## Uses\n\n### Direct Use\n\n[More Information Needed]\n\n### Downstream Use [optional]\n\n[More Information Needed]\n"
    "\n### Out-of-Scope Use\n\n[More Information Needed]\n\n## Bias, Risks, and Limitations\n\n[More Information Needed]\n",
    "## How to Get Started with the Model\n\n```python\nfrom transformers import AutoModelForCausalLM, AutoTokenizer\n"
    "tok = AutoTokenizer.from_pretrained(\"{id}\")\nmodel = AutoModelForCausalLM.from_pretrained(\"{id}\")\n```\n",
    "## Evaluation\n\n| Task | Metric | Value |\n|---|---|---|\n| arc_challenge | acc_norm | {acc} |\n| hellaswag | acc_norm | "
    "{loss} |\n| mmlu | acc | {acc} |\n| gsm8k | exact_match | {loss} |\n",
]
#: column order of a hub-stats models.parquet (the Hub API's field order): needed and unneeded columns interleave
ORDER = ["id", "author", "sha", "createdAt", "lastModified", "gated", "downloads", "downloadsAllTime", "likes",
         "library_name", "tags", "pipeline_tag", "cardData", "siblings", "spaces", "safetensors", "usedStorage",
         "baseModels", "config", "card"]
FILES = ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
         "special_tokens_map.json", "README.md", ".gitattributes", "training_args.bin", "adapter_config.json",
         "adapter_model.safetensors", "merges.txt", "vocab.json", "model-00001-of-00004.safetensors",
         "model-00002-of-00004.safetensors", "model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors",
         "model.safetensors.index.json", "chat_template.jinja", "q4_k_m.gguf"]


def tags(rng, pipe: np.ndarray, base_tag: pa.Array) -> pa.Array:
    """10 Hub-like tags a model, 12 for a derivative (``base_model:ID`` and ``base_model:REL:ID``)."""
    n = len(pipe)
    cols = [LIBS[rng.integers(0, len(LIBS), n)], np.where(rng.random(n) < 0.6, "safetensors", "pytorch"),
            MODEL_TYPES[rng.integers(0, len(MODEL_TYPES), n)], pipe,
            np.where(rng.random(n) < 0.5, "conversational", "text-generation-inference"),
            np.array(["en", "zh", "fr", "de", "multilingual"])[rng.integers(0, 5, n)],
            np.array(["license:apache-2.0", "license:mit", "license:llama3.1", "license:other"])[rng.integers(0, 4, n)],
            np.full(n, "endpoints_compatible"), np.full(n, "region:us"),
            np.char.add("dataset:org", rng.integers(0, 5000, n).astype(str))]
    rel = base_tag.to_numpy(zero_copy_only=False).astype(str)
    has = np.char.startswith(rel, "base_model:")
    bare = np.char.add("base_model:", np.array([r.split(":", 2)[-1] for r in rel[has]], dtype=object).astype(str))
    per_row = 10 + 2 * has
    offsets = np.concatenate([[0], np.cumsum(per_row)]).astype(np.int32)
    flat = np.empty(offsets[-1], dtype=object)
    starts = offsets[:-1]
    for j, col in enumerate(cols):
        flat[starts + j] = col
    flat[starts[has] + 10], flat[starts[has] + 11] = bare, rel[has]
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat, pa.string()))


def heavy_columns(rng, ids: np.ndarray, created) -> dict[str, pa.Array]:
    """What atomdata never reads: cards, file lists, configs, card metadata, spaces."""
    n = len(ids)
    id_arr = pa.array(ids.astype(str))
    k = rng.integers(1, len(SECTIONS) + 1, n)
    nums = {"loss": np.round(rng.random(n) * 3, 4).astype(str), "acc": np.round(rng.random(n), 4).astype(str),
            "lr": np.array(["2e-05", "5e-05", "1e-04", "0.0002"])[rng.integers(0, 4, n)],
            "bs": rng.integers(1, 64, n).astype(str), "ep": rng.integers(1, 20, n).astype(str)}
    parts = [pa.array(np.full(n, "---\nlibrary_name: transformers\nlicense: apache-2.0\n---\n\n# ")), id_arr, pa.array(np.full(n, "\n\n"))]
    for j, sec in enumerate(SECTIONS):
        use = k > j
        pieces = sec.replace("{base}", "\x00").replace("{id}", "\x00")
        for key, vals in nums.items():
            pieces = pieces.replace("{" + key + "}", "\x01" + key + "\x01")
        for chunk in pieces.split("\x01"):
            if chunk in nums:
                parts.append(pa.array(np.where(use, nums[chunk], "")))
            else:
                for m, lit in enumerate(chunk.split("\x00")):
                    if m:
                        parts.append(pc.if_else(pa.array(use), id_arr, pa.scalar("")))
                    parts.append(pa.array(np.where(use, lit, "")))
    # the per-model prose of a card (descriptions, results, citations) as incompressible text of
    # lognormal length (median 250 characters, mean about 410): it calibrates the file to about 680
    # bytes a model, i.e. 1.5 GB for 2.2 million models, the size of a 2026 weekly models file
    length = np.minimum(rng.lognormal(np.log(250), 1.0, n), 20000).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(length)]).astype(np.int32)
    pool = base64.b64encode(rng.bytes(int(offsets[-1]) * 3 // 4 + 3))[: offsets[-1]]
    parts.append(pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(pool)))
    card = pc.binary_join_element_wise(*parts, "")
    nfiles = rng.integers(3, len(FILES), n)
    offsets = np.concatenate([[0], np.cumsum(nfiles)]).astype(np.int32)
    pick = np.arange(offsets[-1]) - np.repeat(offsets[:-1], nfiles)  # the first m files of FILES for a repo of m files
    files = pa.array(np.array(FILES, dtype=object)[pick], pa.string())
    siblings = pa.ListArray.from_arrays(pa.array(offsets), pa.StructArray.from_arrays([files], ["rfilename"]))
    hidden = rng.integers(256, 8192, n).astype(str)
    config = pc.binary_join_element_wise(pa.array(np.full(n, '{"architectures": ["')), pa.array(MODEL_TYPES[rng.integers(0, len(MODEL_TYPES), n)]),
                                         pa.array(np.full(n, '"], "hidden_size": ')), pa.array(hidden),
                                         pa.array(np.full(n, ', "num_attention_heads": 32, "num_hidden_layers": ')),
                                         pa.array(rng.integers(2, 96, n).astype(str)),
                                         pa.array(np.full(n, ', "torch_dtype": "bfloat16", "vocab_size": ')),
                                         pa.array(rng.integers(30000, 260000, n).astype(str)), pa.array(np.full(n, "}")), "")
    sha = pa.array(np.char.mod("%040x", rng.integers(0, 2**62, n)).astype(str))
    return {"card": card, "siblings": siblings, "config": config, "sha": sha,
            "lastModified": pa.array(created + rng.integers(0, 200, n).astype("timedelta64[D]")),
            "usedStorage": pa.array(rng.integers(0, 10**11, n)), "gated": pa.array(rng.random(n) < 0.03),
            "spaces": pa.ListArray.from_arrays(pa.array(np.arange(0, n + 1, dtype=np.int32) * (rng.random(1) < 2)),
                                               pa.array(np.char.add("space/", rng.integers(0, 10**6, n).astype(str)).astype(str))),
            "cardData": pc.binary_join_element_wise(pa.array(np.full(n, '{"license": "apache-2.0", "base_model": "')), id_arr,
                                                    pa.array(np.full(n, '", "tags": ["generated_from_trainer"]}')), "")}


def stand_in(path: Path, models: int, seed: int = 0, chunk: int = 1 << 20) -> Path:
    """Write the stand-in file in row groups of ``chunk`` rows (the heavy columns of one chunk in memory at a time)."""
    pop = synth.population(models, seed, months=24)
    needed = synth.snapshot_table(pop, 23, "2026-08-01", seed)
    writer = None
    for start in range(0, needed.num_rows, chunk):
        rng = np.random.default_rng(seed + start)
        part = needed.slice(start, chunk)
        cols = {name: part.column(name).combine_chunks() for name in part.column_names}
        cols["tags"] = tags(rng, part.column("pipeline_tag").to_numpy(zero_copy_only=False).astype(str),
                            pc.list_element(cols["tags"], 0))
        cols.update(heavy_columns(rng, part.column("id").to_numpy(zero_copy_only=False), part.column("createdAt").to_numpy()))
        table = pa.table({k: cols[k] for k in ORDER})
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=chunk)
        del table, cols
    writer.close()
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=2_200_000)
    ap.add_argument("--out", type=Path, help="folder for the stand-in file (default: a temporary one)")
    args = ap.parse_args(argv)
    for k in ("HF_TOKEN", "HF_ENDPOINT", "HF_HUB_OFFLINE"):
        os.environ.pop(k, None)
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp:
        folder = args.out or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "models.parquet"
        t0 = time.perf_counter()
        if not path.is_file():
            stand_in(path, args.models)
        gen = time.perf_counter() - t0
        meta = pq.ParquetFile(path).metadata
        sizes = {}
        for rg in range(meta.num_row_groups):
            for c in range(meta.num_columns):
                col = meta.row_group(rg).column(c)
                top = col.path_in_schema.split(".")[0]
                sizes[top] = sizes.get(top, 0) + col.total_compressed_size
        data = path.read_bytes()
        commit = Commit(dt.datetime(2026, 8, 1, 5, 30, tzinfo=dt.timezone.utc), "Update models.parquet", {"models.parquet": data})
        with FakeArchive("cfahlgren1/hub-stats", [commit]) as fake:
            client = RetryingClient(fake.url, None, RetryPolicy(backoff=0.01))
            t1 = time.perf_counter()
            rep = a.backfill(Path(tmp) / "raw", dt.date(2026, 8, 1), dt.date(2026, 8, 1), a.Options(), client)
            secs = time.perf_counter() - t1
            out = rep.outcomes[0]
            file_requests = sum(1 for p in fake.paths if "/resolve/" in p)
        needed = sum(v for k, v in sizes.items() if k in set(pq.read_schema(Path(tmp) / "raw" / "2026-08-01" / "models.parquet").names))
        print(f"# bench_archive: Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs; "
              f"stand-in written in {gen:.0f} s")
        print(f"stand-in: {meta.num_rows:,} models, {meta.num_row_groups} row groups, {len(data):,} bytes "
              f"({len(data) / meta.num_rows:.0f} bytes a model); needed columns {needed:,} bytes compressed "
              f"({needed / len(data):.1%}); largest columns: "
              + ", ".join(f"{k} {v / len(data):.0%}" for k, v in sorted(sizes.items(), key=lambda kv: -kv[1])[:6]))
        print("| snapshot | file bytes | bytes received | share of file | requests (file GETs) | seconds for the boundary | whole run s |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        print(f"| {out.snapshot} ({out.status}) | {len(data):,} | {out.bytes_read:,} | {out.bytes_read / len(data):.1%} | "
              f"{rep.requests} ({file_requests}) | {out.seconds:.1f} | {secs:.1f} |")


if __name__ == "__main__":
    main()
