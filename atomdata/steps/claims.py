"""The headline claims as tables: trending leaderboard by country, per-organization summary and
derivatives per root organization over time.

All three are computed with group-bys over the typed per-snapshot records (no loop over models):

- ``trending_by_country``: composition of the top 1, 10, 50 and 100 models by the Hub's trending
  score, for every snapshot that carries the score (all pipelines; namespaces the registry lacks
  count as region ``unknown`` and are listed in ``data_quality``).
- ``organization_summary``: per snapshot and organization, the repos it published, their
  counters and the derivatives that declare one of them as base (direct) or lead back to one of
  them (root), with ``tree_coverage`` saying whether the snapshot can see the whole derivative tree.
- ``derivatives_by_root_org``: new and cumulative derivatives per month of creation, by root
  organization and relation (plus ``all`` relations), from the ``derivatives`` table.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..rules.organizations import attribute
from ..rules import lineage
from ..rules.ids import as_arrow, first_rows, namespace_of
from ..rules.periods import month_of
from ..rules.publisher import counted
from ..issues import issue
from ..vocab import TREE_COVERAGE, TRENDING_RANKINGS, TRENDING_TOP_N
from ..validate import validate_table
from . import csv_texts
from .step import Built
from .workspace import SnapshotParts

#: top-N sizes of the trending table
TOP_N = TRENDING_TOP_N
#: ``tree_coverage`` values
FULL, SAMPLE = TREE_COVERAGE
#: ``ranking`` values of trending_by_country: the Hub's own top-N list, or a ranking of a sample's models
HUB_LIST, WITHIN_SAMPLE = TRENDING_RANKINGS


def listing_kind(manifest: dict, name: str = "") -> str:
    """What a snapshot lists: ``trending`` (a top-N by trending score), ``full`` (the whole Hub) or
    ``sample`` (anything else: dumps, first-party listings).

    A snapshot is a trending listing when its manifest says ``mode: trending`` (``atomdata ingest
    hub --trending N``) or ``listing: trending``, or when its name ends in ``-trending``
    (``atomdata ingest dump PATH --suffix trending``). It is a full listing only when the manifest
    says so (``mode: full`` or ``listing: full``): a dump is never assumed complete.
    """
    declared = manifest.get("listing") or manifest.get("mode")
    if declared == "trending" or str(name).endswith("-trending"):
        return "trending"
    if declared == "full":
        return "full"
    return "sample"


def trending_by_country(recs: pd.DataFrame, snapinfo: pd.DataFrame, registry: pd.DataFrame,
                        top_n: tuple[int, ...] = TOP_N) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Top-N composition by country for every snapshot with trending scores.

    ``recs``: records of all snapshots (``snapshot``, ``model_id``, ``org``, ``trending_score``).
    ``snapinfo``: one row per snapshot with ``snapshot``, ``date``, ``has_trending`` (the
    manifest's fields include ``trendingScore``) and ``listing`` (see :func:`listing_kind`): a
    trending listing is the Hub's own top N (``ranking = hub trending listing``); any other snapshot
    is ranked among its own models only (``within sample``), which is not the Hub's leaderboard. Snapshots whose scores are all null or zero are
    skipped; a top N larger than the number of scored models in a snapshot is skipped.
    Ranking: score descending, ties broken by model id ascending.
    Returns the table and the data-quality rows for namespaces the registry lacks (top 100).
    """
    cols = ["date", "snapshot", "ranking", "top_n", "country", "region", "models", "share"]
    ok = snapinfo.loc[snapinfo["has_trending"], "snapshot"]
    r = recs[recs["snapshot"].isin(ok) & recs["trending_score"].notna()][["snapshot", "model_id", "org", "trending_score"]]
    scored = r.groupby("snapshot")["trending_score"].agg(lambda s: bool((s != 0).any()))
    r = r[r["snapshot"].isin(scored[scored].index)]
    r = r.sort_values(["snapshot", "trending_score", "model_id"], ascending=[True, False, True], kind="stable")
    r["rank"] = r.groupby("snapshot").cumcount() + 1
    size = r.groupby("snapshot").size()
    att = attribute(r["org"], registry)
    r = r.assign(country=att["country"], region=att["region"], registry_org=att["registry_org"])
    parts = []
    for n in top_n:
        top = r[(r["rank"] <= n) & r["snapshot"].map(size).ge(n)]
        g = top.groupby(["snapshot", "country", "region"], dropna=False).size().rename("models").reset_index()
        g["top_n"] = n
        parts.append(g)
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["snapshot", "country", "region", "models", "top_n"])
    info = snapinfo.set_index("snapshot")
    out["date"] = out["snapshot"].map(info["date"])
    listing = info["listing"] if "listing" in info else pd.Series("sample", index=info.index)
    out["ranking"] = out["snapshot"].map(listing).map({"trending": HUB_LIST}).fillna(WITHIN_SAMPLE).astype("string")
    out["share"] = (out["models"] / out["top_n"]).astype("Float64")
    out = out[cols].sort_values(["date", "snapshot", "top_n", "models", "region", "country"],
                                ascending=[True, True, True, False, True, True], na_position="last", kind="stable")
    out = out.reset_index(drop=True)
    out["models"] = out["models"].astype("Int64")
    out["top_n"] = out["top_n"].astype("Int64")

    lim = max(top_n) if top_n else 0
    um = r[(r["rank"] <= lim) & r["registry_org"].isna()]
    um = um.groupby(["snapshot", "org"]).agg(models=("model_id", "size"), best=("rank", "min")).reset_index()
    dq = issue("unmapped_org_trending", snapshot=um["snapshot"], org=um["org"], value=um["models"].astype("Float64"),
               detail=f"organization not in the registry; value = its models in the top {lim} by trending score (best rank "
                      + um["best"].astype("string") + ")",
               action="counted as region unknown in trending_by_country")
    return out, dq


def _key_codes(arrays: list[pa.Array], registry: pd.DataFrame) -> tuple[list[np.ndarray], pa.Array, np.ndarray]:
    """Organization keys of several arrays of namespaces, coded in one dictionary: the registry
    spelling of a namespace where the registry has it, else the namespace as written; each distinct
    namespace is looked up once. Returns each array's codes (-1 where the namespace is missing), the
    key of each code, and for each code the code of its lower-case form (keys that differ only in
    case share it)."""
    enc = pc.dictionary_encode(pa.chunked_array(arrays, type=pa.string()))
    ns = enc.chunks[0].dictionary.cast(pa.string()) if enc.num_chunks else pa.array([], pa.string())
    reg = as_arrow(attribute(pd.Series(pd.array(ns, dtype="string") if len(ns) else pd.array([], dtype="string")), registry)["registry_org"])
    kenc = pc.dictionary_encode(pc.coalesce(reg, ns))
    keys = kenc.dictionary.cast(pa.string())
    key_of_ns = np.append(kenc.indices.to_numpy(zero_copy_only=False).astype(np.int64), -1)  # position -1: no namespace
    low = pc.dictionary_encode(pc.utf8_lower(keys)).indices.to_numpy(zero_copy_only=False).astype(np.int64)
    low = np.append(low, -1)  # never empty: ``_other_org`` reads position 0 for rows without a key
    idx = np.concatenate([pc.fill_null(c.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64) for c in enc.chunks]) \
        if enc.num_chunks else np.zeros(0, dtype=np.int64)
    codes = key_of_ns[idx]
    return np.split(codes, np.cumsum([len(a) for a in arrays])[:-1]), keys, low


def _org_key(orgs: pd.Series, registry: pd.DataFrame) -> pd.Series:
    """The organization key (``_key_codes``) of each namespace, as text."""
    (codes,), keys, _ = _key_codes([as_arrow(orgs)], registry)
    return pd.Series(pd.array(keys.take(pa.array(codes, mask=codes < 0)), dtype="string") if len(codes)
                     else pd.array([], dtype="string"), index=orgs.index)


def _other_org(key: np.ndarray, of: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Rows whose key is known and differs (case-insensitively) from the key ``of`` (which may be missing)."""
    return (key >= 0) & ((of < 0) | (low[np.maximum(key, 0)] != low[np.maximum(of, 0)]))


def organization_summary(recs: pd.DataFrame, snapinfo: pd.DataFrame, registry: pd.DataFrame) -> pd.DataFrame:
    """One row per snapshot and organization that has repos in the snapshot or is the declared
    base or the root of at least one derivative in it.

    ``models``, ``downloads_30d``, ``downloads_all_time``, ``likes``: over the repos published under
    the organization's namespace in the snapshot (counters null where the snapshot lacks the field).
    ``derivatives_direct``: repos of other namespaces whose first declared base is one of the
    organization's repos; ``derivatives_all``: repos of other namespaces whose root (first bases
    followed within the same snapshot) is. ``tree_coverage`` comes from ``snapinfo``.

    Organizations are integer codes of one dictionary of namespaces (``_key_codes``) and each
    snapshot's ids are coded once for its lineage: no grouping or comparing of text per row.
    """
    r = recs[["snapshot", "model_id", "org", "base_id", "downloads_30d", "downloads_all_time", "likes"]]
    r = r[r["snapshot"].notna()].reset_index(drop=True)
    snap, _ = pd.factorize(r["snapshot"])
    base = r["base_id"].astype("string")
    has_base = base.notna().to_numpy()
    # per snapshot: the root of each derivative, first bases followed within the snapshot (codes into its ids)
    lineages = []
    for rows in r.groupby(snap, sort=False).indices.values():
        id_codes, base_codes, vocab = lineage.code_ids(r["model_id"].take(rows).astype("string").reset_index(drop=True),
                                                       base.take(rows).reset_index(drop=True))
        res = lineage.resolve_codes(id_codes, base_codes)
        keep = res["has_base"]
        lineages.append((rows[keep], res["root_code"][keep], id_codes[keep], namespace_of(vocab)))
    codes, keys, low = _key_codes([as_arrow(r["org"]), namespace_of(as_arrow(base[has_base]))] + [v for *_, v in lineages], registry)
    own, base_key, vocab_keys = codes[0], codes[1], codes[2:]
    counters = ["downloads_30d", "downloads_all_time", "likes"]
    mine = own >= 0
    g = (r.loc[mine, counters].assign(_s=snap[mine], _k=own[mine]).groupby(["_s", "_k"])
         .agg(models=("downloads_30d", "size"),
              downloads_30d=("downloads_30d", "sum"),
              downloads_all_time=("downloads_all_time", "sum"),
              likes=("likes", "sum"),
              _n30=("downloads_30d", "count"), _nall=("downloads_all_time", "count"), _nlikes=("likes", "count")))
    # a sum over no published counter is missing, not zero (groupby sum's min_count, vectorised)
    for c, n in (("downloads_30d", "_n30"), ("downloads_all_time", "_nall"), ("likes", "_nlikes")):
        g[c] = g[c].astype("Int64").where(g[n] > 0)
    g = g.drop(columns=["_n30", "_nall", "_nlikes"])
    # direct: the first declared base belongs to another organization
    keep = _other_org(base_key, own[has_base], low)
    direct = pd.DataFrame({"_s": snap[has_base][keep], "_k": base_key[keep]}).groupby(["_s", "_k"]).size().rename("derivatives_direct")
    # all: the root (within the snapshot) belongs to another organization than the derivative's namespace
    alld = []
    for (rows, root, own_code, _), vk in zip(lineages, vocab_keys):
        rk = np.where(root >= 0, vk[np.maximum(root, 0)], -1)
        keep = _other_org(rk, vk[own_code], low)
        alld.append(pd.DataFrame({"_s": snap[rows][keep], "_k": rk[keep]}))
    alld = (pd.concat(alld, ignore_index=True) if alld else pd.DataFrame({"_s": [], "_k": []}, dtype="int64"))
    alld = alld.groupby(["_s", "_k"]).size().rename("derivatives_all")
    out = pd.concat([g, direct, alld], axis=1).reset_index()
    s_at, k_at = out["_s"].to_numpy(dtype=np.int64), out["_k"].to_numpy(dtype=np.int64)
    first = first_rows(snap, int(snap.max(initial=-1)) + 1)
    out.insert(0, "snapshot", r["snapshot"].array.take(first[s_at]) if len(out) else r["snapshot"].array[:0])
    out.insert(1, "org", pd.array(keys.take(pa.array(k_at)), dtype="string") if len(out) else pd.array([], dtype="string"))
    out = out.drop(columns=["_s", "_k"])
    for c in ("models", "derivatives_direct", "derivatives_all"):
        out[c] = out[c].fillna(0).astype("Int64")
    for c in ("downloads_30d", "downloads_all_time", "likes"):
        out[c] = out[c].astype("Int64")
    att = attribute(out["org"], registry)
    info = snapinfo.set_index("snapshot")
    out = out.assign(date=out["snapshot"].map(info["date"]), country=att["country"], region=att["region"],
                     tree_coverage=out["snapshot"].map(info["tree_coverage"]).astype("string"))
    out["org"] = out["org"].astype("string")
    cols = ["date", "snapshot", "org", "country", "region", "models", "downloads_30d", "downloads_all_time", "likes",
            "derivatives_direct", "derivatives_all", "tree_coverage"]
    return out[cols].sort_values(["date", "snapshot", "org"], kind="stable").reset_index(drop=True)


def derivatives_by_root_org(derivs: pd.DataFrame, registry: pd.DataFrame) -> pd.DataFrame:
    """New and cumulative derivatives per month of creation, root organization and relation.

    ``derivs`` is the ``derivatives`` table; only what others built on a base counts
    (``publisher.counted``): an organization's own releases on its own base do not. Derivatives without a creation date or without a root
    (cycles) are left out. ``relation = all`` rows sum the four relations. Rows exist only for
    months with new derivatives; ``cumulative_derivatives`` is the running total up to and
    including the month.
    """
    d = derivs[derivs["created_at"].notna() & derivs["root_org"].notna() & counted(derivs)]
    d = pd.DataFrame({"month": month_of(d["created_at"]), "root_org": _org_key(d["root_org"], registry),
                      "relation": d["relation"].astype("string")})
    both = pd.concat([d, d.assign(relation="all")], ignore_index=True)
    g = both.groupby(["root_org", "relation", "month"]).size().rename("new_derivatives").reset_index()
    g = g.sort_values(["root_org", "relation", "month"], kind="stable").reset_index(drop=True)
    g["cumulative_derivatives"] = g.groupby(["root_org", "relation"])["new_derivatives"].cumsum()
    ratt = attribute(g["root_org"], registry)
    g["country"], g["region"] = ratt["country"], ratt["region"]
    for c in ("new_derivatives", "cumulative_derivatives"):
        g[c] = g[c].astype("Int64")
    g["root_org"] = g["root_org"].astype("string")
    cols = ["month", "root_org", "country", "region", "relation", "new_derivatives", "cumulative_derivatives"]
    return g[cols].sort_values(["month", "root_org", "relation"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- per snapshot, then the history

def snapshot_claims(r: pd.DataFrame, snap, snapinfo: pd.DataFrame, registry: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The claims rows of one snapshot (cached by its sha256, see ``steps.cache``)."""
    parts = {}
    if len(r):
        parts["org"] = organization_summary(r, snapinfo, registry)
    info = snapinfo.set_index("snapshot").loc[snap.name]
    if info["has_trending"] and r["trending_score"].notna().any():
        parts["trend"], parts["trenddq"] = trending_by_country(r, snapinfo, registry)
    return parts


def build_organization_summary(org_parts: list, no_records: pd.DataFrame, snapinfo: pd.DataFrame, registry: pd.DataFrame) -> Built:
    """``organization_summary`` over every snapshot of the pass: its per-snapshot rows stay in
    their files (``workspace.SnapshotParts``) in table order (date, snapshot; each part is one
    snapshot's rows, ordered by organization), each validated here; the key (snapshot, org) is
    then unique over the table as it is within each part."""
    if not org_parts:
        return Built(organization_summary(no_records.assign(snapshot=pd.Series([], dtype="string")), snapinfo, registry))
    date = snapinfo.set_index("snapshot")["date"]
    parts = sorted(org_parts, key=lambda part: (date[part[0]], part[0]))
    # a part in the store's cache is named by what it is a function of (``claims_cache.load_claims``): its text is too
    texts = [csv_texts.text_path(part.path.parent, f"{part.path.stem}-{csv_texts.source_digest()}")
             if part.path.name.startswith("claims-") else None for _, part in parts]
    for (name, part), text in zip(parts, texts):
        if not csv_texts.validated(text):
            validate_table("organization_summary", part.read(), where=f"snapshot {name}")
    return Built(SnapshotParts([part for _, part in parts], texts))


def build_trending_by_country(trend_parts: list, no_records: pd.DataFrame, snapinfo: pd.DataFrame, registry: pd.DataFrame) -> Built:
    """``trending_by_country`` over every snapshot of the pass, with its data_quality rows."""
    if not trend_parts:
        table, found = trending_by_country(no_records.assign(snapshot=pd.Series([], dtype="string")), snapinfo, registry)
        return Built(table, [found])
    out = pd.concat([t for t, _ in trend_parts], ignore_index=True)
    out = out.sort_values(["date", "snapshot", "top_n", "models", "region", "country"],
                          ascending=[True, True, True, False, True, True], na_position="last", kind="stable")
    return Built(out.reset_index(drop=True), [pd.concat([d for _, d in trend_parts], ignore_index=True)])
