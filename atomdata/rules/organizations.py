"""The curated organization registry: who publishes from where (``raw/organizations.csv``)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.compute as pc

from ..errors import InputError, ValidationFailed
from ..settings import curated
from .ids import as_arrow
from ..tableio import CsvRows, read_csv_text
from ..validate import validate_table

COLUMNS = ["org", "name", "country", "region", "org_type", "source_url", "notes"]


def load_registry(path: str | Path | None = None) -> pd.DataFrame:
    """Read and validate the registry (unique orgs, known regions, country consistent with region)."""
    path = Path(path) if path else curated("organizations.csv").path
    df = read_csv_text(path, "registry")
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise InputError(path, "missing columns in the registry", column=", ".join(missing))
    try:
        return validate_table("organizations", df[COLUMNS], where=str(path), row=CsvRows(path, len(df)))
    except ValidationFailed as exc:
        raise ValidationFailed(f"{path}: organization registry is invalid\n{exc}") from None


def attribute(orgs: pd.Series, registry: pd.DataFrame) -> pd.DataFrame:
    """Map namespaces (case-insensitively) to registry org, country and region; unknown when absent.

    Looks up each distinct namespace once (there are few), then broadcasts by integer code (Arrow).
    """
    enc = pc.dictionary_encode(as_arrow(orgs))
    keys = as_arrow(registry["org"])
    per_code = pc.index_in(pc.utf8_lower(enc.dictionary), value_set=pc.utf8_lower(keys))
    row = pc.take(per_code, enc.indices)  # registry row of each namespace, null when absent
    out = pd.DataFrame(index=orgs.index)
    for col, src in (("registry_org", "org"), ("country", "country"), ("region", "region")):
        vals = as_arrow(registry[src]).take(row)
        out[col] = pd.array(vals, dtype="string") if len(vals) else pd.array([], dtype="string")
    out["region"] = out["region"].fillna("unknown")
    return out
