"""datapackage.json generated from the pandera schemas (no hand-kept duplicate)."""
from __future__ import annotations

import copy
import os
import re
from pathlib import Path

from ..io import atomic_write_json
from ..schemas import TABLES
from ..version import code_version
from ..vocab import CODE_LICENSE, DATA_LICENSE, DATA_LICENSE_TITLE, DATA_LICENSE_URL

TS_TYPES = {"integer": "integer", "number": "number", "boolean": "boolean", "date": "date", "string": "string"}
LICENSES = [
    {"name": DATA_LICENSE, "title": f"{DATA_LICENSE_TITLE} (the atomdata tables and figures)", "path": DATA_LICENSE_URL},
]
CODE_LICENSE_NOTE = f"{CODE_LICENSE} (the atomdata code; see LICENSE)"
#: files of the project that every release zip ships beside its tables (``publish.release``, from
#: the package's copies), and what each is
PROJECT_FILES = {
    "CITATION.cff": "how to cite this release, in Citation File Format",
    "LICENSE": "the Apache License 2.0 of the atomdata code",
    "LICENSE-DATA": "the CC BY 4.0 legal code of the data",
    "NOTICE": "the third-party sources of the snapshots and their licences",
    "docs/methodology.md": "how the tables are made",
    # the curated tables the build read beside the registry (column descriptions name them)
    "raw/families.csv": "the curated model families (`model_attributes.family`)",
    "raw/model_sizes.csv": "the curated parameter counts (`model_attributes.params_source` = override)",
    "raw/mirrors.csv": "the curated mirror namespaces (`derivatives.attribution` = mirror)",
    "raw/architectures.csv": "the curated model types and family keywords (`derivatives.attribution`)",
    "raw/scope_policy.toml": "the scope policy: the presets of which models the share tables count (their `scope` column names one)",
}
#: the files a package holds beside its tables (the repository holds them too): the only files
#: its text may name
PACKAGE_FILES = ("README.md", *PROJECT_FILES)
#: "see FILE" in a source's text, FILE a relative path
SEE_FILE_RE = re.compile(r"\bsee ((?:[\w.-]+/)*[\w-]+\.(?:csv|json|md|toml|txt|cff|ya?ml|parquet))\b")


def table_schema(name: str) -> dict:
    """Frictionless Table Schema of one table from its pandera model."""
    from ..schemas import column_facts

    model = TABLES[name]
    schema = model.to_schema()
    fields = []
    for cname, col in schema.columns.items():
        facts = column_facts(col)
        f = {"name": cname, "type": TS_TYPES.get(facts["type"], facts["type"])}
        f.update({k: facts[k] for k in ("title", "description", "unit") if facts[k]})
        cons = {}
        if not col.nullable:
            cons["required"] = True
        if col.unique:
            cons["unique"] = True
        for check in col.checks:
            st = check.statistics or {}
            if check.name == "isin":
                cons["enum"] = list(st["allowed_values"])
            elif check.name == "greater_than_or_equal_to":
                cons["minimum"] = st["min_value"]
            elif check.name == "less_than_or_equal_to":
                cons["maximum"] = st["max_value"]
            elif check.name == "str_matches" and f["type"] == "string":
                cons["pattern"] = st["pattern"].removeprefix("^").removesuffix("$") if hasattr(st["pattern"], "removeprefix") else str(st["pattern"])
        if cons:
            f["constraints"] = cons
        fields.append(f)
    out = {"fields": fields, "missingValues": [""]}
    meta = getattr(model.Config, "metadata", None) or {}
    if meta.get("primary_key"):
        out["primaryKey"] = meta["primary_key"]
    if meta.get("foreign_keys"):
        out["foreignKeys"] = meta["foreign_keys"]
    return out


def source_title(text: str) -> str:
    """A snapshot's source (its manifest's text) as the package names it: a reference to a file the
    package does not ship (``see shared/data/provenance.csv``, the shared folder's record) becomes
    ``see NOTICE``, which states every source's origin and licence. The manifest's own text stays
    verbatim in ``snapshots.csv``."""
    return SEE_FILE_RE.sub(lambda m: m.group(0) if m.group(1) in PACKAGE_FILES else "see NOTICE", text)


def packaged(desc: dict) -> dict:
    """A copy of a descriptor for a release zip: tables under ``processed/`` and every file it
    names one the zip holds (a descriptor written by an older atomdata is brought up to date)."""
    out = copy.deepcopy(desc)
    for r in out.get("resources", []):
        r["path"] = f"processed/{Path(r['path']).name}"
    if "code_license" in out:
        out["code_license"] = CODE_LICENSE_NOTE
    for src in out.get("sources", []):
        if isinstance(src.get("title"), str):
            src["title"] = source_title(src["title"])
    return out


def local_paths(node) -> list[str]:
    """Every ``path`` in a descriptor that is not a URL (resources, licences, sources)."""
    if isinstance(node, dict):
        own = [node["path"]] if isinstance(node.get("path"), str) and "://" not in node["path"] else []
        return own + [p for k, v in node.items() if k != "path" for p in local_paths(v)]
    if isinstance(node, list):
        return [p for v in node for p in local_paths(v)]
    return []


def descriptor(result, processed: Path, root: Path) -> dict:
    """The package descriptor for a build result whose tables are in ``processed``."""
    snaps = result.snapshots
    newest = max(s.date for s in snaps)
    rel = Path(os.path.relpath(processed, root)).as_posix()
    sources = [{"title": "Hugging Face Hub API (model metadata)", "path": "https://huggingface.co/api/models"}]
    seen = set()
    for s in snaps:
        src = s.manifest.get("source") or ""
        if src and src not in seen:
            seen.add(src)
    for src in sorted(seen):
        sources.append({"title": source_title(src)})
    resources = []
    for name, model in TABLES.items():
        resources.append({
            "name": name,
            "path": f"{name}.csv" if rel == "." else f"{rel}/{name}.csv",
            "title": model.Config.title,
            "description": model.Config.description,
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "schema": table_schema(name),
        })
    return {
        "name": "atomdata",
        "title": "atomdata: who builds the open AI models the world uses",
        "description": ("Monthly download share and derivative share of open models on the Hugging Face Hub by "
                        "country of origin, from dated snapshots of Hub metadata. See README.md and docs/methodology.md."),
        "version": newest.strftime("%Y.%m.%d"),
        "created": newest.isoformat() + "T00:00:00Z",
        "licenses": LICENSES,
        "code_license": CODE_LICENSE_NOTE,
        "sources": sources,
        "contributors": [{"title": "atomdata contributors", "role": "author"}],
        "keywords": ["open models", "Hugging Face", "AI policy", "downloads", "country of origin", "ATOM Project"],
        "atomdata_version": code_version(),
        "resources": resources,
    }


def write_datapackage(result, processed: Path, root: Path | None = None) -> Path:
    processed = Path(processed).resolve()
    root = Path(root).resolve() if root else processed.parent
    path = root / "datapackage.json"
    atomic_write_json(path, descriptor(result, processed, root))
    return path
