"""Fixtures for the publishing tests (figures, release): tables built from the real snapshots
(the full shared series, else the committed fixtures; see testdata.py).

Import the fixtures into a test module with ``from _publish_fixtures import shared_build``.
The builds are cached for the whole session, so modules that import them share one build.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

_CACHE: dict[str, Path] = {}


def build_release_inputs(root: Path, dumps: list[Path]) -> Path:
    """Import ``dumps`` into ``root/raw``, build ``root/processed`` and ``root/datapackage.json``."""
    from atomdata.build import build
    from atomdata.ingest.dump import import_dump
    from atomdata.publish.datapackage import write_datapackage

    raw, processed = root / "raw", root / "processed"
    for dump in dumps:
        import_dump(dump, raw)
    res = build(raw, processed)
    write_datapackage(res, processed)
    return root


def _cached(key: str, tmp_path_factory, make) -> Path:
    if key not in _CACHE:
        _CACHE[key] = make(tmp_path_factory.mktemp(key))
    return _CACHE[key]


@pytest.fixture(scope="session")
def shared_build(tmp_path_factory, data_root) -> Path:
    """Every dated snapshot in hub-stats/ of the test data (../shared/data, else tests/fixtures/data)
    built into a project folder (raw/, processed/, datapackage.json), once per session."""
    dumps = sorted((data_root / "hub-stats").glob("*/models.parquet"))
    return _cached("publish_full", tmp_path_factory, lambda root: build_release_inputs(root, dumps))


@pytest.fixture(scope="session")
def early_build(tmp_path_factory, data_root) -> Path:
    """The same series cut at 2026-07-20: fewer snapshots, no measurable month of downloads yet."""
    dumps = sorted(p for p in (data_root / "hub-stats").glob("*/models.parquet") if p.parent.name <= "2026-07-20")
    return _cached("publish_early", tmp_path_factory, lambda root: build_release_inputs(root, dumps))


def rewrite_csv(path: Path, keep) -> int:
    """Keep the rows of a table CSV for which ``keep(row: dict)`` is true (header kept); returns rows kept."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames
        rows = [r for r in reader if keep(r)]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return len(rows)


# --------------------------------------------------------------------------- small synthetic tables

SCOPE = "default (scope policy 1): first-party models of a test registry; pipelines text-generation"


def typed_table(name: str, rows: list[dict], columns: list[str] | None = None):
    """A table of a few rows, typed from its schema as the figures read it (``read_inputs``: the
    columns given, the others left out). ``columns`` names them for an empty table."""
    from atomdata.tableio import read_csv_columns

    fields = list(rows[0]) if rows else list(columns or [])
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    df, bad, _ = read_csv_columns(io.BytesIO(buf.getvalue().encode()), name, label=name)
    wrong = {c: p for c, p in bad.items() if p != "missing"}
    assert not wrong, f"{name}: {wrong}"
    return df


COUNTRY = {"us": "US", "china": "CN", "eu": "FR", "other": "JP", "unknown": ""}


def downloads_tables(windows: dict[str, tuple[str, str]], scope: str = SCOPE) -> dict:
    """downloads_by_country and model_downloads_monthly for the months of ``windows`` (month →
    start and end snapshot): two models a month, one US (600 downloads) and one Chinese (400)."""
    mdm, dbc = [], []
    for month, (start, end) in windows.items():
        for model, region, n in (("meta-llama/A", "us", 600), ("Qwen/B", "china", 400)):
            mdm.append({"month": month, "model_id": model, "downloads": n, "method": "all_time_diff", "start_snapshot": start,
                        "end_snapshot": end, "all_time_end": 10 * n, "flags": ""})
            dbc.append({"month": month, "country": COUNTRY[region], "region": region, "downloads": n, "share": n / 1000,
                        "cumulative_downloads": 10 * n, "n_models": 1, "scope": scope})
    return {"model_downloads_monthly": typed_table("model_downloads_monthly", mdm),
            "downloads_by_country": typed_table("downloads_by_country", dbc)}


def derivative_counts(months: dict[str, dict[str, int]]):
    """derivatives_by_country (declared lineage, finetunes) with ``months``: month → region → new derivatives."""
    return typed_table("derivatives_by_country", [
        {"lineage": "declared", "month": month, "country": COUNTRY[r], "region": r, "relation": "finetune",
         "new_derivatives": n, "share": n / sum(counts.values())} for month, counts in months.items() for r, n in counts.items()])


def momentum_row(model: str, bucket: str, age: int, downloads: int, n_peers: int, ref: int, created="2026-01-01") -> dict:
    """One adoption_momentum row, scored as the build scores it (reference rank min(10, n_peers))."""
    return {"model_id": model, "org": model.split("/")[0], "region": "china" if model.startswith("Qwen") else "us",
            "created_at": created, "size_bucket": bucket, "age_days": age, "snapshot": "2026-07-20",
            "cumulative_downloads": downloads, "n_peers": n_peers, "reference_rank": min(10, n_peers),
            "reference_downloads": ref, "relative_score": round(downloads / ref, 6) if ref else ""}


def figure_tables(**tables) -> dict:
    """Every table the figures read, small and synthetic (one month, 2026-07, measured from
    2026-07-02 to 2026-08-01; a few models and derivatives); ``tables`` replaces any of them."""
    t = downloads_tables({"2026-07": ("2026-07-02", "2026-08-01")})
    t["models"] = typed_table("models", [{"model_id": "meta-llama/A", "org": "meta-llama", "registry_org": "meta-llama", "region": "us"},
                                         {"model_id": "Qwen/B", "org": "Qwen", "registry_org": "Qwen", "region": "china"}])
    t["derivatives_by_country"] = derivative_counts({"2025-01": {"us": 30, "china": 20}})
    t["derivatives"] = typed_table("derivatives", [{"model_id": f"x/d{i}", "relation": "finetune", "root_org": "Qwen",
                                                    "root_region": "china", "publisher": "community"} for i in range(3)])
    t["downloads_by_size"] = typed_table("downloads_by_size", [
        {"month": "2026-07", "size_bucket": "1-5B", "region": r, "downloads": n, "share": n / 1000, "bucket_share": 1.0,
         "n_models": 1, "scope": SCOPE} for r, n in (("us", 600), ("china", 400))])
    t["adoption_momentum"] = typed_table("adoption_momentum", [
        momentum_row("meta-llama/A", "1-5B", 90, 600, 2, 400), momentum_row("Qwen/B", "1-5B", 90, 400, 2, 400)])
    t["trending_by_country"] = typed_table("trending_by_country", [
        {"date": "2026-07-20", "snapshot": "2026-07-20", "ranking": "hub trending listing", "top_n": 10, "country": c,
         "region": r, "models": n, "share": n / 10} for c, r, n in (("US", "us", 6), ("CN", "china", 4))])
    t["derivatives_by_root_org"] = typed_table("derivatives_by_root_org", [
        {"month": m, "root_org": o, "country": c, "region": r, "relation": "all", "new_derivatives": 2, "cumulative_derivatives": k}
        for m, k in (("2025-01", 2), ("2025-02", 4)) for o, c, r in (("Qwen", "CN", "china"), ("meta-llama", "US", "us"))])
    t.update(tables)
    return t
