"""The scope of the download-share tables: a preset of the versioned policy file, or a model list.

The policy (``raw/scope_policy.toml``) names presets of rules: which organizations, pipelines,
creation dates, repo names and download counts count. ``atomdata build --scope NAME`` picks one;
``atomdata build --models FILE`` replaces them all by an explicit list (such as the ATOM
Project's ``models.csv``). A scope turns the ``models`` table into a mask; every share table
records ``Scope.describe()`` in its ``scope`` column, so a number never travels without the
rules (and the policy version) it was counted under.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError
from ..settings import curated
from .ids import as_arrow, re2_error, split_id

POLICY_FILE = "scope_policy.toml"
ORGANIZATIONS = ("registry", "all")
#: what first-party means: "published" (``models.first_party``: any model a registry organization
#: publishes under its namespace) or "no_base" (a model that declares no base: the rule before policy 1)
FIRST_PARTY = ("published", "no_base")
PRESET_RE = r"^[a-z0-9][a-z0-9_-]*$"
#: preset keys: name in the file -> (type, what it must be)
PRESET_KEYS = {
    "description": (str, "a sentence saying what the preset counts"),
    "organizations": (str, "registry or all"),
    "first_party": (str, "published or no_base"),
    "primary_pipelines": (list, "a list of pipeline tags"),
    "conditional_pipelines": (list, "a list of pipeline tags"),
    "created_after": (str, "a date YYYY-MM-DD"),
    "reject_name_patterns": (list, "a list of RE2 regular expressions"),
    "official_precision_suffixes": (list, "a list of suffixes such as FP8"),
    "min_downloads_all_time": (int, "a whole number, 0 or more"),
}


@dataclasses.dataclass(frozen=True)
class Scope:
    """Which models count in the share tables. The defaults restrict nothing but the organizations:
    first-party models of registry organizations, any pipeline, any date."""

    name: str = "custom"
    version: int | None = None
    description: str = "first-party models of registry organizations"
    orgs: str = "registry"
    first_party: str = "published"
    #: every pipeline that counts (primary and conditional); None: any pipeline
    pipelines: tuple[str, ...] | None = None
    conditional: tuple[str, ...] = ()
    created_after: dt.date | None = None
    reject_names: tuple[str, ...] = ()
    keep_suffixes: tuple[str, ...] = ()
    min_downloads: int = 0
    #: an explicit list of model ids (lower case): the scope is exactly these models
    models: tuple[str, ...] | None = None

    def label(self) -> str:
        return f"{self.name} (scope policy {self.version})" if self.version is not None else self.name

    def describe(self) -> str:
        return f"{self.label()}: {self.description}"

    def mask(self, models: pd.DataFrame) -> pd.Series:
        """Boolean mask over the rows of ``models`` (the ``models`` table's columns)."""
        if self.models is not None:
            return pd.Series(np.isin(_lower(models["model_id"]), np.asarray(self.models, dtype=object)), index=models.index)
        fp = models["first_party"] if self.first_party == "published" else models["base_model_id"].isna()
        m = fp.fillna(False).astype(bool).to_numpy().copy()
        if self.orgs == "registry":
            m &= models["registry_org"].notna().to_numpy()
        if self.pipelines is not None:
            m &= models["pipeline_tag"].isin(self.pipelines).fillna(False).to_numpy(dtype=bool)
        if self.created_after is not None:
            m &= (models["created_at"] > pd.Timestamp(self.created_after)).fillna(False).to_numpy(dtype=bool)
        if self.min_downloads:
            m &= (models["downloads_all_time"] >= self.min_downloads).fillna(False).to_numpy(dtype=bool)
        if self.reject_names:  # the patterns run on the ids still in (a regular expression per id is the cost)
            m[m] = ~self.rejected_names(models["model_id"][m])
        return pd.Series(m, index=models.index)

    def _names(self, ids: pd.Series) -> pa.Array:
        """The repo names the reject patterns read: the official precision suffix removed."""
        _, names = split_id(ids.astype("string"))
        arr = as_arrow(names)
        if self.keep_suffixes:
            suffixes = "|".join(re.escape(s) for s in self.keep_suffixes)
            arr = pc.replace_substring_regex(arr, f"(?i)[-_.](?:{suffixes})$", "")
        return arr

    @staticmethod
    def _matches(names: pa.Array, pattern: str) -> np.ndarray:
        return pc.fill_null(pc.match_substring_regex(names, pattern), False).to_numpy(zero_copy_only=False)

    def rejected_names(self, ids: pd.Series) -> np.ndarray:
        """True where the repo name (official precision suffix removed) matches a reject pattern."""
        names = self._names(ids)
        hit = np.zeros(len(names), dtype=bool)
        for pattern in self.reject_names:  # a handful of curated patterns, not models
            hit |= self._matches(names, pattern)
        return hit

    def matched_pattern(self, ids: pd.Series) -> pd.Series:
        """The first reject pattern each repo name matches (null where none does)."""
        names = self._names(ids)
        out = pd.Series(pd.NA, index=ids.index, dtype="string")
        for pattern in self.reject_names:
            out = out.mask(out.isna() & self._matches(names, pattern), pattern)
        return out


def _lower(ids: pd.Series) -> np.ndarray:
    return pc.utf8_lower(as_arrow(ids.astype("string"))).to_numpy(zero_copy_only=False)


# --------------------------------------------------------------------------- the policy file

def policy_path(raw: str | Path | None = None) -> Path:
    """The project's policy (``POLICY_FILE`` in the snapshot store's folder) if it has one, else the shipped one."""
    return curated(POLICY_FILE, raw).path


def _check_value(path: Path, where: str, key: str, value) -> None:
    kind, what = PRESET_KEYS[key]
    bad = not isinstance(value, kind) or isinstance(value, bool)
    if kind is list and not bad:
        bad = not all(isinstance(v, str) and v.strip() for v in value)
    choices = {"organizations": ORGANIZATIONS, "first_party": FIRST_PARTY}.get(key)
    if bad or (kind is int and value < 0) or (choices and value not in choices):
        raise InputError(path, f"{where}: {key} must be {what}", examples=[repr(value)])
    if key == "created_after":
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise InputError(path, f"{where}: {key} must be {what}", examples=[repr(value)]) from None
    for pattern in value if key == "reject_name_patterns" else ():
        err = re2_error(pattern)
        if err:
            raise InputError(path, f"{where}: {key}: not an RE2 regular expression ({err})", examples=[repr(pattern)])


def _preset(path: Path, name: str, body, version: int) -> Scope:
    where = f"preset '{name}'"
    if not re.match(PRESET_RE, name):
        raise InputError(path, f"{where}: a preset name is lower-case letters, digits, '-' and '_'")
    if not isinstance(body, dict):
        raise InputError(path, f"{where}: must be a table of rules ([presets.{name}])")
    unknown = sorted(set(body) - set(PRESET_KEYS))
    if unknown:
        raise InputError(path, f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(PRESET_KEYS)}")
    if "description" not in body:
        raise InputError(path, f"{where}: needs a description")
    for key, value in body.items():
        _check_value(path, where, key, value)
    primary, conditional = tuple(body.get("primary_pipelines", ())), tuple(body.get("conditional_pipelines", ()))
    return Scope(
        name=name, version=version, description=body["description"], orgs=body.get("organizations", "registry"),
        first_party=body.get("first_party", "published"),
        pipelines=(primary + conditional) or None, conditional=conditional,
        created_after=dt.date.fromisoformat(body["created_after"]) if "created_after" in body else None,
        reject_names=tuple(body.get("reject_name_patterns", ())),
        keep_suffixes=tuple(body.get("official_precision_suffixes", ())),
        min_downloads=int(body.get("min_downloads_all_time", 0)))


def load_policy(path: str | Path | None = None) -> dict[str, Scope]:
    """Every preset of the policy file, validated (errors name the file and the key), in file order."""
    path = Path(path) if path else policy_path()
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "no such scope policy file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a valid TOML file ({exc})") from None
    unknown = sorted(set(doc) - {"version", "presets"})
    if unknown:
        raise InputError(path, f"unknown top-level key(s) {', '.join(unknown)}; known: version, presets")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InputError(path, "version must be a whole number, 1 or more (raise it whenever a rule changes)",
                         examples=[repr(version)])
    presets = doc.get("presets")
    if not isinstance(presets, dict) or "default" not in presets:
        raise InputError(path, "needs a [presets.default] table (the headline's rules)")
    return {name: _preset(path, name, body, version) for name, body in presets.items()}


def load_scope(name: str = "default", raw: str | Path | None = None) -> Scope:
    """The preset ``name`` of the project's (else the shipped) policy file."""
    path = policy_path(raw)
    presets = load_policy(path)
    if name not in presets:
        raise InputError(path, f"no scope preset '{name}'; presets: {', '.join(presets)}")
    return presets[name]


# --------------------------------------------------------------------------- an explicit list

def model_list_scope(path: str | Path) -> Scope:
    """The scope of exactly the models listed in a CSV file with a ``modelId`` or ``model_id``
    column (such as the ATOM Project's ``models.csv``); ids are matched ignoring case."""
    path = Path(path)
    try:
        data = path.read_bytes()
        df = pd.read_csv(path, dtype="string", keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, f"cannot read the model list ({str(exc).splitlines()[0]})") from None
    col = next((c for c in ("modelId", "model_id") if c in df.columns), None)
    if col is None:
        raise InputError(path, "a model list needs a modelId or model_id column",
                         examples=[f"columns: {', '.join(map(str, df.columns))}"])
    ids = df[col].str.strip()
    bad = ids[~ids.str.fullmatch(r"[^/\s]+/[^/\s]+")]
    if len(bad):
        raise InputError(path, "not a Hub repo id (namespace/name)", column=col,
                         examples=[f"line {i + 2}: {v!r}" for i, v in bad.head(5).items()])
    lower = tuple(sorted(set(_lower(ids))))
    digest = hashlib.sha256(data).hexdigest()
    return Scope(name="models", description=f"exactly the {len(lower)} models listed in {path.name} "
                                            f"(sha256 {digest[:12]}...), whatever their pipeline or date; "
                                            "regions from the registry", models=lower)


# --------------------------------------------------------------------------- data_quality

def quality_rows(models: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    """``data_quality`` rows of the scope: models of the scope's organizations with no creation
    date (``no_created_at``, where the scope has a release cutoff), models left out by a name
    pattern alone (``scope_name_rejected``) and listed models in no snapshot
    (``listed_model_missing``). ``value``: the model's highest all-time download counter."""
    cols = ["kind", "snapshot", "month", "model_id", "org", "value", "detail", "action"]
    parts = []

    def rows(mask, kind, detail, action):
        """One row per model of ``mask``; ``detail``: text, or a Series aligned with ``models``."""
        keep = np.asarray(mask, dtype=bool)
        m = models[keep]
        parts.append(pd.DataFrame({"kind": kind, "snapshot": None, "month": None, "model_id": m["model_id"],
                                   "org": m["registry_org"].fillna(m["org"]),
                                   "value": m["downloads_all_time"].astype("Float64"),
                                   "detail": detail[keep] if isinstance(detail, pd.Series) else detail, "action": action}))

    if scope.models is not None:
        found = set(_lower(models["model_id"]))
        missing = [m for m in scope.models if m not in found]
        parts.append(pd.DataFrame({"kind": "listed_model_missing", "snapshot": None, "month": None,
                                   "model_id": pd.array(missing, dtype="string"), "org": None, "value": None,
                                   "detail": "listed in the scope's model list but in no snapshot",
                                   "action": "no downloads for it; nothing invented"}))
        return pd.concat(parts, ignore_index=True)[cols]
    if scope.created_after is not None:
        undated = dataclasses.replace(scope, created_after=None, pipelines=None, reject_names=(), min_downloads=0).mask(models)
        rows(undated & models["created_at"].isna(), "no_created_at",
             "no creation date in any snapshot (the snapshots lack the field for it)",
             f"outside the scope: it cannot be shown to be created after {scope.created_after.isoformat()}; "
             "counted by presets without a release cutoff")
    if scope.reject_names:
        kept = dataclasses.replace(scope, reject_names=()).mask(models) & ~scope.mask(models)
        pattern = pd.Series(pd.NA, index=models.index, dtype="string")  # of the models left out only: a few
        pattern[kept.to_numpy()] = scope.matched_pattern(models["model_id"][kept.to_numpy()]).to_numpy()
        rows(kept & pattern.notna(), "scope_name_rejected", "repo name matches " + pattern.fillna(""),
             "outside the scope (policy reject_name_patterns); counted by presets without name rules")
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    return out[cols]

