"""The build context: what every step may read before the first step runs.

The run's settings (tolerance, period, scope and the policy's presets), the curated inputs as the
project has them (``settings.curated``: the store's own file, else the shipped one), and the
snapshots with what each feeds: trending listings (a different sample) feed only the claims
tables; the other (main) snapshots feed models, lineage and downloads, and those with counters
are readings unless their file repeats an earlier one (``rules.repeats``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import AtomdataError
from ..ingest import store
from ..rules import inference, repeats, scope as scope_rules
from ..rules.attributes import load_families, load_model_sizes
from ..rules.organizations import load_registry
from ..rules.scope import Scope
from ..settings import CuratedFile, curated
from ..vocab import TOLERANCE_DAYS
from .cache import Typing, typing_of
from .claims import FULL, SAMPLE, listing_kind


@dataclass
class Context:
    """The items a build starts from, by the names the steps declare as inputs."""

    raw: Path
    scope: Scope
    presets: dict[str, Scope]
    tolerance_days: int
    period: str
    progress: object
    registry: pd.DataFrame
    mirrors: pd.DataFrame
    architectures: pd.DataFrame
    families: pd.DataFrame
    model_sizes: pd.DataFrame
    curated: list[CuratedFile]
    typing: Typing
    snaps: list
    snapinfo: pd.DataFrame
    main: list[str]              # the main snapshots, in store order
    counter_names: set[str]      # main snapshots with counters whose file repeats no earlier one
    file_repeats: dict[str, str]
    extra: dict = field(default_factory=dict)

    def items(self) -> dict:
        return {k: v for k, v in vars(self).items() if k != "extra"} | self.extra


def _snapinfo(snaps) -> pd.DataFrame:
    listing = [listing_kind(s.manifest, s.name) for s in snaps]
    return pd.DataFrame({"snapshot": [s.name for s in snaps], "date": [pd.Timestamp(s.date) for s in snaps],
                         "has_trending": ["trendingScore" in s.fields for s in snaps], "listing": listing,
                         "tree_coverage": [FULL if k == "full" else SAMPLE for k in listing]})


def _snapshots(raw: Path):
    if not Path(raw).is_dir():
        raise AtomdataError(f"{raw}: no such snapshot store (folder); import snapshots with `atomdata ingest dump PATH --raw {raw}`")
    snaps = store.list_snapshots(raw)
    if not snaps:
        raise AtomdataError(f"{raw}: no snapshots in the store; import some with `atomdata ingest dump PATH`")
    return snaps


def open_context(raw, registry_file=None, scope: Scope | None = None, tolerance_days: int = TOLERANCE_DAYS,
                 period: str = "month", progress=None) -> Context:
    """The context of a build of the store ``raw``: curated inputs found the project's way, the
    scope (default: the ``default`` preset of the project's policy), the snapshots and their roles."""
    files = {name: curated(name, raw) for name in ("organizations.csv", "mirrors.csv", "architectures.csv",
                                                   "families.csv", "model_sizes.csv", "scope_policy.toml")}
    if registry_file:
        files["organizations.csv"] = CuratedFile("organizations.csv", Path(registry_file), True)
    presets = scope_rules.load_policy(files["scope_policy.toml"].path)
    registry = load_registry(files["organizations.csv"].path)
    architectures = inference.load_architectures(files["architectures.csv"].path)
    inference.check_orgs(architectures, registry, files["architectures.csv"].path)
    snaps = _snapshots(raw)
    snapinfo = _snapinfo(snaps)
    main = [n for n, k in zip(snapinfo["snapshot"], snapinfo["listing"]) if k != "trending"]
    if not main:
        raise AtomdataError(f"{raw}: the store holds only trending listings ({', '.join(snapinfo['snapshot'])}); the model, "
                            "lineage and download tables need at least one snapshot of a tracked sample or full listing")
    has_counter = [s for s in snaps if {"downloadsAllTime", "downloads"} & set(s.fields) and s.name in set(main)]
    # a data file that is byte for byte an earlier snapshot's holds that snapshot's readings, not its own day's
    file_repeats = repeats.repeated_files(has_counter)
    return Context(raw=Path(raw), scope=scope or presets["default"], presets=presets, tolerance_days=tolerance_days,
                   period=period, progress=progress, registry=registry,
                   mirrors=inference.load_mirrors(files["mirrors.csv"].path), architectures=architectures,
                   families=load_families(files["families.csv"].path, registry),
                   model_sizes=load_model_sizes(files["model_sizes.csv"].path), curated=list(files.values()),
                   typing=typing_of(architectures),
                   snaps=snaps, snapinfo=snapinfo, main=main,
                   counter_names={s.name for s in has_counter if s.name not in file_repeats}, file_repeats=file_repeats)
