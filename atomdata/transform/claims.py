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

import pandas as pd

from ..registry import attribute
from . import lineage
from .monthly import month_of
from .ids import namespace

#: top-N sizes of the trending table
TOP_N = (1, 10, 50, 100)
#: ``tree_coverage`` values
FULL, SAMPLE = "full listing", "sample"
#: ``ranking`` values of trending_by_country: the Hub's own top-N list, or a ranking of a sample's models
HUB_LIST, WITHIN_SAMPLE = "hub trending listing", "within sample"


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


def _org_key(orgs: pd.Series, registry: pd.DataFrame) -> pd.DataFrame:
    """Registry spelling of a namespace where the registry has it, else the namespace as written."""
    att = attribute(orgs, registry)
    att["key"] = att["registry_org"].fillna(orgs.astype("string")).astype("string")
    return att


def _roots_within_snapshots(r: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(snapshot, model id, root id) of every row with a declared base, the root found by following
    first bases within the row's snapshot (null for cycles), on integer codes per snapshot."""
    parts = []
    r = r.reset_index(drop=True)
    for snap, rows in r.groupby("snapshot", sort=False, observed=True).indices.items():
        ids = r["model_id"].take(rows).astype("string").reset_index(drop=True)
        id_codes, base_codes, vocab = lineage.code_ids(ids, r["base_id"].take(rows).astype("string").reset_index(drop=True))
        res = lineage.resolve_codes(id_codes, base_codes)
        keep = res["has_base"]
        parts.append((pd.Series([snap] * int(keep.sum()), dtype="string"), ids[keep].reset_index(drop=True),
                      lineage.id_strings(vocab, res["root_code"][keep])))
    if not parts:
        empty = pd.Series([], dtype="string")
        return empty, empty, empty
    return tuple(pd.concat([p[i] for p in parts], ignore_index=True) for i in range(3))


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
    dq = pd.DataFrame({
        "kind": "unmapped_org_trending", "snapshot": um["snapshot"], "month": None, "model_id": None, "org": um["org"],
        "value": um["models"].astype("Float64"),
        "detail": f"organization not in the registry; value = its models in the top {lim} by trending score (best rank "
                  + um["best"].astype("string") + ")",
        "action": "counted as region unknown in trending_by_country",
    })
    return out, dq


def organization_summary(recs: pd.DataFrame, snapinfo: pd.DataFrame, registry: pd.DataFrame) -> pd.DataFrame:
    """One row per snapshot and organization that has repos in the snapshot or is the declared
    base or the root of at least one derivative in it.

    ``models``, ``downloads_30d``, ``downloads_all_time``, ``likes``: over the repos published under
    the organization's namespace in the snapshot (counters null where the snapshot lacks the field).
    ``derivatives_direct``: repos of other namespaces whose first declared base is one of the
    organization's repos; ``derivatives_all``: repos of other namespaces whose root (first bases
    followed within the same snapshot) is. ``tree_coverage`` comes from ``snapinfo``.
    """
    r = recs[["snapshot", "model_id", "org", "base_id", "downloads_30d", "downloads_all_time", "likes"]].reset_index(drop=True)
    own = _org_key(r["org"], registry)["key"]
    g = (r.assign(key=own).groupby(["snapshot", "key"])
         .agg(models=("model_id", "size"),
              downloads_30d=("downloads_30d", "sum"),
              downloads_all_time=("downloads_all_time", "sum"),
              likes=("likes", "sum"),
              _n30=("downloads_30d", "count"), _nall=("downloads_all_time", "count"), _nlikes=("likes", "count")))
    # a sum over no published counter is missing, not zero (groupby sum's min_count, vectorised)
    for c, n in (("downloads_30d", "_n30"), ("downloads_all_time", "_nall"), ("likes", "_nlikes")):
        g[c] = g[c].astype("Int64").where(g[n] > 0)
    g = g.drop(columns=["_n30", "_nall", "_nlikes"])
    # direct: first declared base
    d = r[r["base_id"].notna()]
    base_key = _org_key(namespace(d["base_id"]), registry)["key"]
    keep = base_key.notna() & (base_key.str.lower() != own[d.index].str.lower()).fillna(True)
    direct = d.assign(key=base_key)[keep].groupby(["snapshot", "key"]).size().rename("derivatives_direct")
    # all: root through first bases, resolved within each snapshot, on integer codes of (snapshot, id)
    snap_of, own_id, root_id = _roots_within_snapshots(r)
    rk = _org_key(namespace(root_id), registry)["key"]
    dk = _org_key(namespace(own_id), registry)["key"]
    keep = rk.notna() & (rk.str.lower() != dk.str.lower()).fillna(True)
    alld = pd.DataFrame({"snapshot": snap_of, "key": rk})[keep].groupby(["snapshot", "key"]).size().rename("derivatives_all")
    out = pd.concat([g, direct, alld], axis=1).reset_index()
    out.columns = ["snapshot", "org"] + list(out.columns[2:])
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

    ``derivs`` is the ``derivatives`` table. Derivatives without a creation date or without a root
    (cycles) are left out. ``relation = all`` rows sum the four relations. Rows exist only for
    months with new derivatives; ``cumulative_derivatives`` is the running total up to and
    including the month.
    """
    d = derivs[derivs["created_at"].notna() & derivs["root_org"].notna()]
    att = _org_key(d["root_org"], registry)
    d = pd.DataFrame({"month": month_of(d["created_at"]), "root_org": att["key"], "relation": d["relation"].astype("string")})
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
