"""The build: snapshots in the store -> validated tables in ``processed/``.

The steps of ``steps.registry``, each run once the items it declares are made (the build context,
the frames of earlier steps): a step makes its frame and reports its data_quality rows; an item is
freed once the last step that reads it is done. Each table is validated against its pandera
schema where it is made (the failures of all tables reported together) and written to a
temporary folder that replaces ``processed/`` in one step once every table has passed: a build
that fails leaves the previous outputs exactly as they were. A Hub-sized build runs its steps and
writes its CSVs two at a time in worker processes (``steps.lanes``); the bytes are the same.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import AtomdataError, ValidationFailed
from .ingest import store
from .io import staging_dir, write_csv
from .rules.scope import Scope
from .schemas import TABLES
from .settings import CuratedFile
from .steps.context import open_context
from .steps import cache, prepare
from .steps.lanes import Lanes, workers_available
from .steps.prepare import return_freed_memory
from .steps.registry import ITEMS, STEPS, Step
from .steps.workspace import KeptTable
from .validate import validate_table
from .vocab import TOLERANCE_DAYS


class Tables(Mapping):
    """A build's tables by name, as frames. A table kept in parts out of memory (``KeptTable``:
    ``model_downloads_monthly`` a month at a time, ``organization_summary`` a snapshot at a time)
    becomes one frame when asked for; ``stored`` gives it as kept, for writing it a part at a time."""

    def __init__(self, tables: dict):
        self._tables = tables

    def __getitem__(self, name: str) -> pd.DataFrame:
        t = self._tables[name]
        return t.to_frame() if isinstance(t, KeptTable) else t

    def __iter__(self):
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def stored(self, name: str):
        return self._tables[name]


@dataclass
class BuildResult:
    tables: Tables
    snapshots: list[store.Snapshot]
    curated: list[CuratedFile] = field(default_factory=list)
    out: Path | None = None

    def summary(self) -> str:
        t = self.tables
        dbc = t["downloads_by_country"]
        lines = [f"snapshots: {len(self.snapshots)} ({self.snapshots[0].name} … {self.snapshots[-1].name})",
                 f"models: {len(t['models'])}  derivatives: {len(t['derivatives'])}",
                 f"months measured: {', '.join(sorted(dbc['month'].unique())) or 'none'}"]
        if not dbc.empty:
            last = dbc[dbc["month"] == dbc["month"].max()]
            by_region = last.groupby("region")["share"].sum().sort_values(ascending=False)
            lines.append(f"latest month {last['month'].iloc[0]} share by region: " +
                         ", ".join(f"{r} {s:.1%}" for r, s in by_region.items()))
        dq = t["data_quality"]["kind"].value_counts()
        if len(dq):
            lines.append("data quality: " + ", ".join(f"{k} {v}" for k, v in dq.items()))
        own = [c for c in self.curated if c.project]
        if own:
            lines.append("curated inputs of the project: " + ", ".join(f"{c.path} (sha256 {c.sha256[:12]}…)" for c in own))
        if self.out:
            lines.append(f"tables written to {self.out}")
        return "\n".join(lines)


def run_steps(items: dict, steps: tuple[Step, ...] = STEPS, workers: int = 0, write_to: Path | None = None,
              replacing: Path | None = None) -> dict:
    """Run ``steps`` on the context ``items``; return the published tables, each validated (all
    failures of all tables raised together once every step has run) and, with ``write_to``,
    written there as ``<name>.csv`` as soon as it is (``replacing``: the folder those files will
    replace, whose files a table kept in parts may copy its leading parts from, ``write_table``).

    With ``workers`` (``lanes``), a step runs in a worker process as soon as the items it reads are
    made, that many at a time, those that more later steps wait for first, and its table is
    validated there; a table's CSV is written by a writer process beside the workers (writing is
    mostly waiting on the disk: gigabytes at Hub scale), one table at a time, the longest first.
    Steps run here when nothing else could run beside them (the last,
    ``data_quality``: sending its frame back would take longer) and when they report progress (the
    pass over the snapshots: its bar is the terminal's, and its products are most of what the build
    holds, which a worker would send back). Without workers everything runs here, in registry
    order. An item is freed once every step that reads it is done. The tables are the same either
    way: a step is a function of its inputs, and ``issues`` (the data_quality rows) are gathered in
    step order.
    """
    readers = Counter(n for s in steps for n in s.inputs)
    made, pending, found, tables, failed, writes = set(items), list(steps), {}, {}, {}, []
    waiting = _waiting(steps)

    def ready(s: Step) -> bool:
        if "issues" in s.inputs and any(t.name not in found for t in steps if "issues" not in t.inputs):
            return False  # every other step's rows first
        return all(n in made or n == "issues" for n in s.inputs)

    def inputs(s: Step) -> dict:
        return {n: ([x for t in steps for x in found.get(t.name, [])] if n == "issues" else items[n]) for n in s.inputs}

    def finish(s: Step, result) -> None:
        out, failure = result
        items[s.name] = out.frame
        items.update(out.items)
        made.update((s.name, *out.items))
        found[s.name] = out.issues
        if s.name in TABLES:
            tables[s.name] = out.frame
            if failure:
                failed[s.name] = failure
            elif write_to is not None:
                writes.append(s.name)
        readers.subtract(s.inputs)
        for name in (*s.inputs, s.name, *out.items):
            if readers[name] <= 0 and name not in TABLES:
                items[name] = None  # read by no step still to run: its memory goes back now

    def write(name: str) -> tuple:
        writes.remove(name)
        return f"{name}.csv", write_table, {"table": tables[name], "path": Path(write_to) / f"{name}.csv",
                                            "previous": Path(replacing) / f"{name}.csv" if replacing is not None else None}

    with Lanes(workers, writers=1 if workers else 0) as lanes:
        while pending or lanes.running or (writes and not failed):
            now = sorted((s for s in pending if ready(s)), key=lambda s: -waiting[s.name]) if workers else \
                [s for s in pending if ready(s)][:1]
            # here: no worker at all, a step that reports progress, or the last step (nothing would run beside it)
            here = [s for s in now if not workers or "progress" in s.inputs or len(pending) == 1]
            if writes and not failed and (not workers or lanes.free_writer):  # a table waiting to be written first
                key, fn, kwargs = write(max(writes, key=lambda n: len(tables[n])))
                if workers:
                    lanes.start(key, fn, kwargs, writing=True)
                else:
                    fn(**kwargs)
            elif here:
                pending.remove(here[0])
                finish(here[0], made_by(here[0], **inputs(here[0])))
            elif now and lanes.free:
                pending.remove(now[0])
                lanes.start(now[0], made_by, {"step": now[0], **inputs(now[0])})
            elif lanes.running:
                key, result = lanes.wait()
                if isinstance(key, Step):
                    finish(key, result)
            else:
                raise AssertionError(f"steps {[s.name for s in pending]}: inputs made by no step (see registry.check)")
    if failed:
        raise ValidationFailed("validation failed:\n" + "\n".join(failed[s.name] for s in steps if s.name in failed))
    return tables


def made_by(step: Step, **inputs) -> tuple:
    """(what ``step`` made, the failures of its table against its schema or None); a table kept in
    parts was validated a part at a time as it was made."""
    out = step.build(**inputs)
    if step.name in TABLES and not isinstance(out.frame, KeptTable):
        try:
            out.frame = validate_table(step.name, out.frame)
        except ValidationFailed as exc:
            return out, str(exc)
    return out, None


def _waiting(steps: tuple[Step, ...]) -> dict[str, int]:
    """For each step, how many later steps read what it makes, directly or through others."""
    makes = {s.name: {s.name, *ITEMS.get(s.name, ())} for s in steps}
    after: dict[str, set] = {}
    for s in reversed(steps):
        readers = {t.name for t in steps if makes[s.name] & set(t.inputs)}
        after[s.name] = readers.union(*(after[t] for t in readers))
    return {name: len(v) for name, v in after.items()}


def side_by_side(snaps) -> int:
    """Worker processes for a build of ``snaps``: Hub-sized snapshots only (``prepare.PARALLEL_MIN_ROWS``)."""
    return workers_available() if any(prepare.hub_sized(s) for s in snaps) else 0


def build_tables(raw: Path, registry_file=None, scope: Scope | None = None, tolerance_days: int = TOLERANCE_DAYS,
                 period: str = "month", progress=None, write_to: Path | None = None,
                 replacing: Path | None = None) -> BuildResult:
    """Every table, validated (and, with ``write_to``, written there as it is made, to replace
    the folder ``replacing``: see :func:`build`). ``scope``: the headline's (default: the
    ``default`` preset of the project's scope policy). In the result, the text columns of the
    per-model monthly table (model id, month, method, snapshots, flags) are categoricals (its rows
    are models x months); the values are those written to the CSV, which ``atomdata.load`` reads
    back as strings."""
    return_freed_memory()
    ctx = open_context(raw, registry_file, scope, tolerance_days, period, progress)
    tables = run_steps(ctx.items(), workers=side_by_side(ctx.snaps), write_to=write_to, replacing=replacing)
    cache.prune(ctx.snaps, ctx.main, ctx.counter_names, ctx.snapinfo, ctx.registry, ctx.typing)  # entries no build has used for a day
    return BuildResult(Tables({k: tables[k] for k in TABLES}), ctx.snaps, ctx.curated)


#: what a build writes into the tables' folder; anything else there is someone's file
TABLE_FILES = frozenset({f"{name}.csv" for name in TABLES} | {"datapackage.json"})
#: files a file manager leaves in any folder it shows
_DESKTOP_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


def check_tables_folder(out: Path) -> None:
    """Refuse an output folder that a build must not replace: the tables' folder is replaced as a
    whole, so a folder holding anything but atomdata's tables (someone's files, the snapshot store,
    the project) or the current folder would be lost with it."""
    out = Path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise AtomdataError(f"{out}: is a file, not a folder for the tables")
    here, target = Path.cwd().resolve(), out.resolve()
    if target == here or target in here.parents:
        raise AtomdataError(f"{out}: is the current folder or holds it; `atomdata build` replaces the tables' folder "
                            "as a whole: write the tables to a folder of their own (the default ./processed, or --out my-build)")
    others = sorted(p.name for p in target.iterdir() if p.name not in TABLE_FILES and p.name not in _DESKTOP_FILES)
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise AtomdataError(f"{out}: holds files atomdata did not write ({shown}); `atomdata build` replaces the "
                            "tables' folder as a whole and would delete them: choose a new or empty folder "
                            "(--out my-build), or move them elsewhere first")


def write_table(table, path: Path, previous: Path | None = None) -> None:
    """One table as CSV: a kept table a part at a time (``previous``: the file it replaces, whose
    leading parts it may copy, ``KeptTable.write_csv``), any other frame whole."""
    if isinstance(table, KeptTable):
        with open(path, "w+b") as f:  # read too: a part's text may be kept from what was written (``MonthlyTable``)
            table.write_csv(f, previous)
    else:
        write_csv(table, path)


def build(raw: Path, out: Path, extra=None, **kw) -> BuildResult:
    """Build every table into ``out``: each table is written to a temporary folder next to it as
    soon as it is made and validated, and that folder replaces ``out`` in one step once every
    table has passed (refused by :func:`check_tables_folder` where that would delete anything
    else; a failed build leaves ``out`` as it was). ``extra(result)``: further files for the
    folder, by name (the package descriptor)."""
    check_tables_folder(out)  # before the work, not after it
    with staging_dir(Path(out)) as tmp:
        res = build_tables(raw, write_to=tmp, replacing=Path(out), **kw)
        for fname, data in (extra(res) if extra else {}).items():
            (tmp / fname).write_bytes(data)
    res.out = Path(out)
    return res
