"""Ancestor completion against the fake Hub: a chain that leaves the listing becomes declared;
a deleted base and a cycle stop cleanly; answers are cached."""
from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from atomdata.ingest import ancestors, hub
from atomdata.registry import load_registry
from atomdata.transform import inference, lineage
from atomdata.transform.records import load_snapshot
from fakehub import FakeHub, _object_id


def _rec(mid, base=None, tags=("transformers", "safetensors")):
    r = {"_id": _object_id(mid), "id": mid, "author": mid.split("/")[0], "createdAt": "2025-01-15T00:00:00.000Z",
         "tags": list(tags) + ([f"base_model:finetune:{base}"] if base else []), "pipeline_tag": "text-generation",
         "library_name": "transformers"}
    if base:
        r["baseModels"] = {"relation": "finetune", "models": [{"_id": _object_id(base), "id": base}]}
    return r


HUB = [_rec("Qwen/Qwen2.5-7B"), _rec("mid/ft-1", "Qwen/Qwen2.5-7B"), _rec("user/ft-2", "mid/ft-1"),
       _rec("user/orphan", "gone/deleted"), _rec("cyc/a", "cyc/b"), _rec("cyc/b", "cyc/a"), _rec("user/c", "cyc/a")]
LISTING = ["user/ft-2", "user/orphan", "user/c"]


def test_ancestor_completion(tmp_path):
    listing = hub.page_table([r for r in HUB if r["id"] in LISTING])
    cache = tmp_path / "lineage-cache.json"
    with FakeHub(sorted(HUB, key=lambda r: r["id"])) as fake:
        client = hub.Client(fake.url, token=None)
        res = ancestors.complete(client, listing, cache=cache)
        assert res.status == {"mid/ft-1": "found", "gone/deleted": "missing", "cyc/a": "found",
                              "Qwen/Qwen2.5-7B": "found", "cyc/b": "found"}
        assert res.requests == 5  # one request per missing base, each asked once (the cycle ends)
        before = fake.requests
        again = ancestors.complete(hub.Client(fake.url, token=None), listing, cache=cache)
        assert fake.requests == before and again.requests == 0 and again.status == res.status  # from the cache
        budget = ancestors.complete(hub.Client(fake.url, token=None), listing, max_fetch=1)
        assert "not_fetched" in budget.status.values() and budget.requests == 1
    path = tmp_path / "completed.parquet"
    pq.write_table(pa.concat_tables([listing, res.table]), path)
    recs, _ = load_snapshot(path)
    roots = lineage.resolve(recs[["model_id", "base_id"]]).set_index("model_id")
    assert roots.loc["user/ft-2", "root_model_id"] == "Qwen/Qwen2.5-7B" and roots.loc["user/ft-2", "lineage_status"] == "complete"
    assert roots.loc["user/orphan", "lineage_status"] == "outside_snapshot" and roots.loc["user/orphan", "root_model_id"] == "gone/deleted"
    assert roots.loc["user/c", "lineage_status"] == "cycle"
    frame = roots.reset_index()[["model_id", "root_model_id"]].assign(model_type=pd.NA)
    att = inference.infer(frame, load_registry(), recs["model_id"]).set_axis(frame["model_id"])
    assert att.loc["user/ft-2", "attribution"] == "declared" and att.loc["user/ft-2", "attributed_region"] == "china"
    assert att.loc["user/orphan", "attribution"] == "unknown"
