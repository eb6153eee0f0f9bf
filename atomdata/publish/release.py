"""The downloadable release: one zip with the tables, datapackage.json, figures, README, CHANGELOG,
licences, notice and citation: a self-contained Frictionless data package.

Layout inside ``atomdata-<data version>.zip`` (one top folder, so unzipping never spills files)::

    atomdata-2026.08.03/
        datapackage.json          resource paths point at processed/<table>.csv; every file it
                                  names is in the zip (`frictionless validate` passes on it alone)
        processed/<table>.csv     every table datapackage.json describes (other CSVs are left out)
        figures/<figure>.png|svg  the reference figures (regenerated from these tables by default)
        README.md                 coverage, how to load the tables (pandas, R, DuckDB), data
                                  dictionary generated from the pandera schemas, methodology
                                  pointer, citation of this data version, licences
        CHANGELOG.md              what changed since the previous release zip in the output folder
        CITATION.cff              the project's, with this release's data version and date
        LICENSE, LICENSE-DATA     Apache-2.0 (code) and CC BY 4.0 (data), full texts
        NOTICE                    the third-party sources of the snapshots and their licences
        docs/methodology.md       how the tables are made
        raw/<curated>.csv         the curated families, sizes, mirrors and model types the build read

Only tables that pass their schemas and agree with each other (``atomdata.integrity``: keys and
totals across tables) are packed; otherwise nothing is written.

The zip is deterministic: sorted entries, fixed timestamps (1980-01-01), fixed permissions and
compression, no build dates in any text, so the same inputs give the same bytes. It is written
atomically. The previous release is the newest ``atomdata-<version>.zip`` in the output folder
with an older data version than this one, so re-running a release never compares it with itself.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pandas as pd

from ..errors import AtomdataError, InputError
from ..io import atomic_write_bytes, dumps_json
from ..schemas import TABLES
from ..vocab import REGIONS
from ..steps.shares import region_shares
from ..version import code_version
from .citation import CODE_LICENSE, DATA_LICENSE, DATA_LICENSE_URL, bibtex, citation, release_date
from .datapackage import PROJECT_FILES, local_paths, packaged

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
ZIP_MODE = 0o100644
RELEASE_RE = re.compile(r"^atomdata-(\d{4}\.\d{2}\.\d{2})\.zip$")
SHARE_THRESHOLD = 0.01  # shares that moved by more than one percentage point are reported
FIGURE_FORMATS = ("png", "svg")


# --------------------------------------------------------------------------- inputs

def _resolve_processed(path) -> Path:
    """Accept the processed folder itself or the project folder that holds ``processed/``."""
    p = Path(path)
    if p.is_dir() and not any(p.glob("*.csv")) and (p / "processed").is_dir():
        p = p / "processed"
    if not p.is_dir():
        raise InputError(p, "no such folder of tables; build them with `atomdata build`")
    if not any(p.glob("*.csv")):
        raise InputError(p, "the folder holds no table CSVs; build them with `atomdata build`")
    return p


def _read_tables(files: dict[str, bytes], where: str) -> dict[str, pd.DataFrame]:
    """Typed tables from ``{"<name>.csv": bytes}`` for every schema table present; errors name
    the file as ``<where>/<name>.csv``."""
    from ..tableio import read_csv_typed

    out = {}
    for name in TABLES:
        data = files.get(f"{name}.csv")
        if data is not None:
            out[name] = read_csv_typed(io.BytesIO(data), name, label=f"{where}/{name}.csv")
    return out


# --------------------------------------------------------------------------- README

def _md(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _constraints(field: dict) -> str:
    c = field.get("constraints", {})
    parts = []
    if c.get("required"):
        parts.append("required")
    else:
        parts.append("may be empty")
    if c.get("unique"):
        parts.append("unique")
    if "enum" in c:
        parts.append("one of " + ", ".join(f"`{v}`" for v in c["enum"]))
    if "minimum" in c:
        parts.append(f"≥ {c['minimum']}")
    if "maximum" in c:
        parts.append(f"≤ {c['maximum']}")
    if "pattern" in c:
        parts.append(f"pattern `{c['pattern']}`")
    return "; ".join(parts)


def data_dictionary(rows: dict[str, int] | None = None) -> str:
    """Markdown data dictionary of every table, generated from the pandera schemas."""
    from .datapackage import table_schema

    lines = []
    for name, model in TABLES.items():
        ts = table_schema(name)
        schema = model.to_schema()
        lines.append(f"### `{name}`: {model.Config.title}")
        lines.append("")
        lines.append(model.Config.description or "")
        lines.append("")
        facts = [f"File: `processed/{name}.csv`"]
        if rows is not None and name in rows:
            facts.append(f"rows: {rows[name]:,}")
        if ts.get("primaryKey"):
            facts.append("primary key: " + ", ".join(f"`{k}`" for k in ts["primaryKey"]))
        for fk in ts.get("foreignKeys", []):
            ref = fk["reference"]
            facts.append(f"foreign key: {', '.join(fk['fields'])} → `{ref['resource']}`.{', '.join(ref['fields'])}")
        lines.append("; ".join(facts) + ".")
        checks = [c.error for c in schema.checks if getattr(c, "error", None)]
        if checks:
            lines.append("")
            lines.append("Table checks: " + "; ".join(checks) + ".")
        lines.append("")
        lines.append("| column | type | unit | constraints | description |")
        lines.append("|---|---|---|---|---|")
        for f in ts["fields"]:
            lines.append(f"| `{f['name']}` | {f['type']} | {_md(f.get('unit', ''))} | {_md(_constraints(f))} | {_md(f.get('description', ''))} |")
        lines.append("")
    return "\n".join(lines)


def readme(descriptor: dict, tables: dict[str, pd.DataFrame], rows: dict[str, int], figures: list[str], extras: list[str]) -> str:
    version = descriptor.get("version", "unknown")
    snaps = tables.get("snapshots")
    dbc = tables.get("downloads_by_country")
    dvc = tables.get("derivatives_by_country")
    dq = tables.get("data_quality")
    out = [f"# atomdata release {version}", "",
           descriptor.get("description", ""), "",
           f"Data version **{version}** (the date of the newest snapshot)" + (f", released {release_date(version)}" if release_date(version) else "") +
           f"; built with atomdata-hub {descriptor.get('atomdata_version', code_version())}.", ""]
    out += ["## What this release covers", ""]
    if snaps is not None and len(snaps):
        dates = snaps["date"].dropna()
        out.append(f"- {len(snaps)} dated snapshots of Hugging Face Hub model metadata, "
                   f"{dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}; `processed/snapshots.csv` lists each with its source and sha256.")
    out.append("- **These snapshots are samples of the Hub, not the whole Hub**: shares describe the models in the "
               "snapshots (see each snapshot's source). Do not read them as shares of all Hub downloads.")
    if dbc is not None:
        months = sorted(dbc["month"].unique())
        out.append("- Months with measured downloads: " + (", ".join(months) if months else "none yet") +
                   ". A month is measured only when snapshots lie near both of its boundaries; other months are absent, never invented.")
    if dq is not None and len(dq):
        nm = dq[dq["kind"] == "period_not_measured"]
        if len(nm):
            out.append("- Not measurable: " + "; ".join(sorted(nm["detail"].astype(str))) + ".")
    if dvc is not None and len(dvc):
        out.append(f"- New derivatives by month of creation: {dvc['month'].min()} to {dvc['month'].max()}.")
    out += ["- `processed/data_quality.csv` lists every problem the build found (stale counters, unmapped organizations, broken lineage, coverage).", ""]
    out += ["## Contents", "",
            "- `datapackage.json`: Frictionless Data Package describing every table (validate with `frictionless validate datapackage.json`).",
            "- `processed/*.csv`: the tables (UTF-8, comma-separated, empty cell = missing; text cells that a spreadsheet would run as a formula are prefixed with `'`).",
            ]
    if figures:
        out.append("- `figures/`: the reference figures, regenerated from these tables (`atomdata figures`): " + ", ".join(f"`{f}`" for f in figures) + ".")
    out += [f"- `{e}`: {PROJECT_FILES[e]}." for e in extras]
    out += ["- `CHANGELOG.md`: what changed since the previous release.", ""]
    out += load_section()
    out += ["## Methodology", "",
            "How snapshots become monthly downloads, how organizations are attributed to countries, how lineage is "
            "resolved and what the build flags are described in `docs/methodology.md` (included in this release). "
            "In brief: downloads in a month are the "
            "difference of all-time download counters at snapshots near the month's boundaries (never negative: a counter "
            "lower than an earlier reading is treated as stale); country is the headquarters of the publishing organization "
            "from a curated registry (`processed/organizations.csv`, with a source URL per row).", ""]
    out += ["## Data dictionary", "", "Generated from the pandera schemas that validate every table (the same source as `datapackage.json`).", "",
            data_dictionary(rows)]
    out += citation_section(version)
    out += ["## Licence", "",
            f"- Data (tables, figures, `datapackage.json`): {DATA_LICENSE}, {DATA_LICENSE_URL}; the legal code is in `LICENSE-DATA`. "
            "Attribute \"atomdata contributors\" and the data version (see Citation).",
            f"- Code (the atomdata-hub package that built them): {CODE_LICENSE}; the licence text is in `LICENSE`.",
            "- Source snapshots: their origins and licences are in `NOTICE`; each snapshot's source, licence and sha256 "
            "in `processed/snapshots.csv`.", ""]
    return "\n".join(out)


def load_section() -> list[str]:
    """How to read the tables with pandas, the atomdata package, R and DuckDB (tested on a release)."""
    return ["## Load the data", "",
            "Every table is a plain CSV file: UTF-8, comma-separated, a header row, an empty cell for a missing value "
            "(so read the text `NA`, Namibia's country code, as text), dates `YYYY-MM-DD`, months `YYYY-MM`. Text cells that "
            "a spreadsheet would run as a formula are prefixed with `'` (methodology, \"CSV conventions\").", "",
            "Python, with pandas:", "", "```python",
            "import pandas as pd",
            'df = pd.read_csv("processed/downloads_by_country.csv", keep_default_na=False, na_values=[""])',
            "```", "",
            "Python, with the package (`pip install atomdata-hub`): `atomdata.load(\"downloads_by_country\", processed=\"processed\")` "
            "reads the same file typed from the schemas (nullable integers, categories, dates; months stay `YYYY-MM` text), "
            "with the table's and columns' titles, descriptions and units in `df.attrs`.", "",
            "R:", "", "```r",
            'df <- read.csv("processed/downloads_by_country.csv", na.strings = "", encoding = "UTF-8")',
            "```", "",
            "DuckDB (SQL):", "", "```sql",
            "SELECT month, region, sum(downloads) AS downloads",
            "FROM read_csv('processed/downloads_by_country.csv', header = true, nullstr = '',",
            "              types = {'month': 'VARCHAR', 'country': 'VARCHAR'})",
            "GROUP BY month, region ORDER BY month, downloads DESC;",
            "```", ""]


def citation_section(version: str) -> list[str]:
    date = release_date(version)
    released = f", released {date} (the date of its newest snapshot)" if date else ""
    return ["## Citation", "",
            f"Cite the data version you used. This release is data version **{version}**{released}, "
            f"file `atomdata-{version}.zip`; the same data version always means the same tables, and a later "
            "release has a later data version.", "",
            citation(version), "",
            "```bibtex", bibtex(version), "```", "",
            "`CITATION.cff` holds the same in Citation File Format.", ""]


# --------------------------------------------------------------------------- CHANGELOG

def _moves(old: pd.Series, new: pd.Series) -> list[str]:
    regions = [r for r in REGIONS if r in set(old.index) | set(new.index)]
    out = []
    for r in regions:
        a, b = float(old.get(r, 0.0)), float(new.get(r, 0.0))
        if abs(b - a) > SHARE_THRESHOLD:
            out.append(f"{r} {a:.1%} → {b:.1%} ({(b - a) * 100:+.1f} pp)")
    return out


def changelog_entry(version: str, tables: dict, prev_version: str | None, prev_tables: dict | None, prev_name: str | None) -> str:
    lines = [f"## {version}", ""]
    snaps = tables.get("snapshots")
    dbc, dvc = tables.get("downloads_by_country"), tables.get("derivatives_by_country")
    months = sorted(dbc["month"].unique()) if dbc is not None else []
    if prev_tables is None:
        lines.append(f"First release (atomdata {code_version()}).")
        if snaps is not None:
            lines.append(f"- Snapshots: {len(snaps)}" + (f" ({snaps['name'].min()} … {snaps['name'].max()})" if len(snaps) else "") + ".")
        lines.append("- Months with measured downloads: " + (", ".join(months) if months else "none") + ".")
        lines.append("")
        return "\n".join(lines)
    lines.append(f"Changes since the previous release {prev_version} (`{prev_name}`); built with atomdata {code_version()}.")
    lines.append("")
    ps = prev_tables.get("snapshots")
    if snaps is not None and ps is not None:
        added = sorted(set(snaps["name"]) - set(ps["name"]))
        removed = sorted(set(ps["name"]) - set(snaps["name"]))
        lines.append(f"- Snapshots: {len(ps)} → {len(snaps)}; added: " + (", ".join(added) if added else "none") +
                     ("; removed: " + ", ".join(removed) if removed else "") + ".")
    pdbc, pdvc = prev_tables.get("downloads_by_country"), prev_tables.get("derivatives_by_country")
    pmonths = sorted(pdbc["month"].unique()) if pdbc is not None else []
    added_m = sorted(set(months) - set(pmonths))
    removed_m = sorted(set(pmonths) - set(months))
    lines.append("- Months of downloads added: " + (", ".join(added_m) if added_m else "none") +
                 ("; months removed: " + ", ".join(removed_m) if removed_m else "") + ".")
    if dvc is not None and pdvc is not None:
        dm, pdm = set(dvc["month"]), set(pdvc["month"])
        added_d = sorted(dm - pdm)
        lines.append("- Months of new derivatives added: " + (", ".join(added_d) if added_d else "none") + ".")
    # regional download shares
    moved = []
    new_s, old_s = region_shares(dbc, "month", "downloads")[0], region_shares(pdbc, "month", "downloads")[0]
    for m in sorted(set(new_s.index) & set(old_s.index)):
        mv = _moves(old_s.loc[m], new_s.loc[m])
        if mv:
            moved.append(f"  - {m} (revised): " + "; ".join(mv))
    if len(new_s) and len(old_s) and new_s.index.max() != old_s.index.max():
        a, b = old_s.index.max(), new_s.index.max()
        mv = _moves(old_s.loc[a], new_s.loc[b])
        if mv:
            moved.append(f"  - latest month {b} against the previous latest month {a}: " + "; ".join(mv))
    if dvc is not None and pdvc is not None:
        # one lineage only (declared root), so a release with the lineage column compares with one without
        dvc, pdvc = ((t[t["lineage"] == "declared"] if "lineage" in t else t) for t in (dvc, pdvc))
        nd = region_shares(dvc.assign(all="all"), "all", "new_derivatives")[0]
        od = region_shares(pdvc.assign(all="all"), "all", "new_derivatives")[0]
        if len(nd) and len(od):
            mv = _moves(od.iloc[0], nd.iloc[0])
            if mv:
                moved.append("  - new derivatives by root region, all months: " + "; ".join(mv))
    if moved:
        lines.append("- Regional shares that moved by more than 1 percentage point:")
        lines.extend(moved)
    else:
        lines.append("- No regional share moved by more than 1 percentage point.")
    counts = []
    for name in TABLES:
        if name in tables and name in prev_tables:
            a, b = len(prev_tables[name]), len(tables[name])
            if a != b:
                counts.append(f"{name} {a:,} → {b:,}")
    lines.append("- Rows: " + ("; ".join(counts) if counts else "unchanged") + ".")
    lines.append("")
    return "\n".join(lines)


def _previous_body(changelog: str) -> str:
    """The entries of a previous CHANGELOG.md without its header."""
    i = changelog.find("\n## ")
    return changelog[i + 1:] if i >= 0 else ""


# --------------------------------------------------------------------------- previous release

def find_previous(out_dir: Path, version: str) -> Path | None:
    """The newest release zip in ``out_dir`` with a data version older than ``version``."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return None
    found = []
    for p in out_dir.iterdir():
        m = RELEASE_RE.match(p.name)
        if m and p.is_file() and m.group(1) < version:
            found.append((m.group(1), p))
    return max(found)[1] if found else None


def read_release(path: Path) -> tuple[str, dict[str, pd.DataFrame], str]:
    """(data version, typed tables, CHANGELOG.md text) of a release zip."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            dp = min((n for n in names if n.endswith("datapackage.json") and n.count("/") <= 1), key=len, default=None)
            if dp is None:
                raise InputError(path, "not an atomdata release: no datapackage.json")
            prefix = dp[: -len("datapackage.json")]
            desc = json.loads(zf.read(dp))
            files = {n[len(prefix) + len("processed/"):]: zf.read(n) for n in names
                     if n.startswith(prefix + "processed/") and n.endswith(".csv")}
            cl = zf.read(prefix + "CHANGELOG.md").decode("utf-8") if prefix + "CHANGELOG.md" in names else ""
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(path, f"unreadable previous release zip: {exc}") from None
    return str(desc.get("version", "unknown")), _read_tables(files, f"{path}:{prefix}processed"), cl


# --------------------------------------------------------------------------- the zip

def zip_bytes(entries: dict[str, bytes]) -> bytes:
    """A deterministic zip of ``{archive path: bytes}``: sorted, fixed dates, modes and compression."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(entries):
            zi = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.create_system = 3  # unix, so the mode below is honoured
            zi.external_attr = ZIP_MODE << 16
            zf.writestr(zi, entries[name], compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buf.getvalue()


def _figures(processed: Path, figures_dir: Path | None, version: str) -> dict[str, bytes]:
    from .figures import FIGURES, FORMATS

    if figures_dir is None:
        from .figures import read_inputs, render

        tables = read_inputs(processed)
        return {f"{name}.{fmt}": render(name, tables, version, fmt) for fmt in FIGURE_FORMATS for name in FIGURES}
    figures_dir = Path(figures_dir)
    files = {p.name: p.read_bytes() for p in sorted(figures_dir.glob("*")) if p.is_file()
             and p.suffix.lstrip(".") in FORMATS and p.stem in FIGURES} if figures_dir.is_dir() else {}
    missing = [n for n in FIGURES if not any(f.startswith(n + ".") for f in files)]
    if missing:
        raise InputError(figures_dir, "figures missing: " + ", ".join(missing) +
                         "; regenerate them with `atomdata figures` or leave --figures out to render them from the tables")
    return files


def _read_descriptor(processed: Path, datapackage) -> tuple[Path, dict]:
    """The descriptor of the tables in ``processed``: ``datapackage``, else inside the folder
    (`build --out DIR`), else beside it (the project layout)."""
    inside = processed / "datapackage.json"
    dp_path = Path(datapackage) if datapackage else (inside if inside.is_file() else processed.parent / "datapackage.json")
    if not dp_path.is_file():
        raise InputError(dp_path, "datapackage.json not found (looked inside and beside the tables' folder); "
                                  "`atomdata build` writes it beside ./processed, `atomdata build --out DIR` inside DIR")
    try:
        return dp_path, json.loads(dp_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(dp_path, f"not valid JSON: {exc}") from None


def _project_files(version: str) -> dict[str, bytes]:
    """:data:`PROJECT_FILES` as the atomdata package ships them (the checkout's own, in a
    checkout), whatever folder the tables are in: the licences and the citation are atomdata's.
    CITATION.cff is made this release's (``citation_cff``)."""
    from ..settings import release_dir
    from .citation import citation_cff

    base = release_dir()
    missing = [rel for rel in PROJECT_FILES if not (base / rel).is_file()]
    if missing:
        raise AtomdataError(f"{base}: {', '.join(missing)} missing from the atomdata package; reinstall atomdata-hub "
                            "(a release must carry its licences, notice, citation and methodology)")
    out = {rel: (base / rel).read_bytes() for rel in PROJECT_FILES}
    out["CITATION.cff"] = citation_cff(out["CITATION.cff"].decode("utf-8"), version).encode("utf-8")
    return out


def _changelog(out_dir: Path, version: str, tables: dict) -> str:
    prev = find_previous(out_dir, version)
    if prev is not None:
        prev_version, prev_tables, prev_cl = read_release(prev)
        entry = changelog_entry(version, tables, prev_version, prev_tables, prev.name)
        body = _previous_body(prev_cl)
    else:
        entry, body = changelog_entry(version, tables, None, None, None), ""
    return "# Changelog\n\nOne entry per release, newest first.\n\n" + entry + ("\n" + body if body else "")


def make_release(processed, out_dir, figures_dir=None, datapackage=None) -> Path:
    """Build ``atomdata-<data version>.zip`` in ``out_dir`` and return its path.

    ``processed`` is the folder of tables (or the project folder holding ``processed/``);
    ``datapackage`` defaults to the ``datapackage.json`` next to it; ``figures_dir`` is a folder of
    figures to ship (default: render PNG and SVG from the tables, so they always match them).
    Tables that fail their schemas or disagree with each other (keys, totals) are refused and
    nothing is written.
    """
    from ..integrity import validate_folder

    processed = _resolve_processed(processed)
    dp_path, descriptor = _read_descriptor(processed, datapackage)
    version = str(descriptor.get("version", "unknown"))
    # the tables datapackage.json describes, and nothing else: a CSV of one's own left in the folder
    # (notes, a copy of a table) is not published in a package that does not describe it
    described = {Path(r.get("path", "")).name for r in descriptor.get("resources", [])}
    csvs = {p.name: p.read_bytes() for p in sorted(processed.glob("*.csv")) if p.name in described}
    missing = [r.get("name") for r in descriptor.get("resources", []) if Path(r.get("path", "")).name not in csvs]
    if missing:
        raise InputError(processed, "tables named in datapackage.json are missing: " + ", ".join(map(str, missing)))
    descriptor = packaged(descriptor)  # the processed/… layout, whatever the folder was called here
    # never pack tables that fail their schemas or each other's keys and totals (a hand-edited or
    # damaged folder): every problem of every table in one report, on the very bytes that go into the zip
    tables = validate_folder(processed, files=csvs)
    rows = {n: len(df) for n, df in tables.items()}
    figures = _figures(processed, figures_dir, version)
    extras = _project_files(version)

    top = f"atomdata-{version}"
    entries = {
        "datapackage.json": dumps_json(descriptor).encode("utf-8"),
        "README.md": readme(descriptor, tables, rows, sorted(figures), sorted(extras)).encode("utf-8"),
        "CHANGELOG.md": _changelog(Path(out_dir), version, tables).encode("utf-8"),
        **{f"processed/{n}": b for n, b in csvs.items()},
        **{f"figures/{n}": b for n, b in figures.items()},
        **extras,
    }
    absent = [p for p in local_paths(descriptor) if p not in entries]
    if absent:  # a package whose descriptor names files it lacks cannot be validated on its own
        raise InputError(dp_path, "names files the release would not hold: " + ", ".join(absent))
    path = Path(out_dir) / f"{top}.zip"
    data = zip_bytes({f"{top}/{n}": b for n, b in entries.items()})
    if path.is_file() and path.read_bytes() != data:
        # a release is cited by its version: the same version must always mean the same bytes
        raise AtomdataError(f"{path}: a release of data version {version} exists with other contents; a release is "
                            "never overwritten, since it may have been published and cited. If it never was, delete it "
                            "and run again; otherwise the changed tables need a new data version (a newer snapshot)")
    atomic_write_bytes(path, data)
    return path
