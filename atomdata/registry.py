"""The curated organization registry: who publishes from where (``raw/organizations.csv``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, ValidationFailed
from .paths import registry_path
from .validate import validate_table

COLUMNS = ["org", "name", "country", "region", "org_type", "source_url", "notes"]


def load_registry(path: str | Path | None = None) -> pd.DataFrame:
    """Read and validate the registry (unique orgs, known regions, country consistent with region)."""
    path = Path(path) if path else registry_path()
    try:
        df = pd.read_csv(path, dtype="string", keep_default_na=False, na_values=[""])
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(path, f"unreadable registry: {exc}") from None
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise InputError(path, "missing columns in the registry", column=", ".join(missing))
    try:
        return validate_table("organizations", df[COLUMNS], where=str(path))
    except ValidationFailed as exc:
        raise ValidationFailed(f"{path}: organization registry is invalid\n{exc}") from None


def attribute(orgs: pd.Series, registry: pd.DataFrame) -> pd.DataFrame:
    """Map namespaces (case-insensitively) to registry org, country and region; unknown when absent.

    Looks up each distinct namespace once (there are few), then broadcasts by integer code.
    """
    codes, uniq = pd.factorize(orgs.astype("string"))
    key = pd.Series(uniq, dtype="string").str.lower()
    reg = registry.assign(_key=registry["org"].str.lower()).set_index("_key")
    out = pd.DataFrame(index=orgs.index)
    for col, src in (("registry_org", "org"), ("country", "country"), ("region", "region")):
        per_code = key.map(reg[src]).astype("string").to_numpy(dtype=object)
        vals = np.where(codes >= 0, per_code[np.maximum(codes, 0)] if len(per_code) else None, None)
        out[col] = pd.array(vals, dtype="string")
    out["region"] = out["region"].fillna("unknown")
    return out
