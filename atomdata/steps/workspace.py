"""A build's scratch folder: what the pass over the snapshots keeps for the later passes, on disk.

Memory must not grow with the number of snapshots, so what a build derives over the history is
kept as arrays on disk and memory-mapped back: the readings and id codes of each snapshot in the
store's cache (``pass_state``, ``id_codes``), here where the store is read-only, and here the
per-month rows of the monthly table. The tables kept out of memory in parts (``KeptTable``) are
here too. The folder is in the system's temporary
space and goes with the build result; one that a killed build left behind (GBs at Hub scale) is
removed by the next build on the machine.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
import weakref
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import append_csv, to_csv_bytes
from ..rules.boundaries import COLUMNS, id_dtype, period_table
from ..rules.readings import Reading
from . import csv_texts
from .lanes import process_gone


#: a workspace folder's name starts so, then its host's tag and its process id (``_name_prefix``);
#: its ``owner`` file says which process on which host holds it
PREFIX = "atomdata-build-"


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _name_prefix() -> str:
    """The start of a new workspace's name: it names its maker from the moment the folder exists
    (a build killed before writing the ``owner`` file leaves a folder the next build still knows)."""
    return f"{PREFIX}{_host_tag()}-{os.getpid()}-"


class Workspace:
    """Named arrays in a temporary folder, removed when the workspace is dropped."""

    _open: "weakref.WeakValueDictionary[str, Workspace]" = weakref.WeakValueDictionary()  # by folder, in this process

    def __init__(self):
        for folder in abandoned(Path(tempfile.gettempdir())):
            shutil.rmtree(folder, ignore_errors=True)
        tmp = tempfile.TemporaryDirectory(prefix=_name_prefix())
        self._own(Path(tmp.name), tmp.cleanup)

    def _own(self, path: Path, cleanup) -> None:
        """Become the folder's owner in this process (its ``owner`` file names this process)."""
        (path / "owner").write_text(f"{os.getpid()} {socket.gethostname()}")
        self.path = path
        self._finalizer = weakref.finalize(self, cleanup)
        Workspace._open[str(path)] = self

    def __reduce__(self):
        """Sent between the build and its worker processes (``lanes``), a workspace stays one folder
        with one owner: the process receiving it gets the workspace it holds already, or takes the
        folder over."""
        return _workspace_at, (str(self.path),)

    def save(self, key: str, **arrays: np.ndarray) -> None:
        for name, a in arrays.items():
            np.save(self.path / f"{key}.{name}.npy", np.ascontiguousarray(a), allow_pickle=False)

    def load(self, key: str, name: str) -> np.ndarray:
        return np.load(self.path / f"{key}.{name}.npy", mmap_mode="r", allow_pickle=False)

    def cleanup(self) -> None:
        self._finalizer()


def abandoned(tmp: Path) -> list[Path]:
    """Workspaces in ``tmp`` whose build, on this host, has gone without removing them (a build
    killed, or its machine's power cut, cannot clean up): by its ``owner`` file, or by its name
    where the build was killed before writing that file. POSIX only: elsewhere whether a process
    lives is not asked this way."""
    host, tag, out = socket.gethostname(), _host_tag(), []
    for folder in tmp.glob(f"{PREFIX}*"):
        owner = folder / "owner"
        try:
            pid, made_on = owner.read_text().split(maxsplit=1)
            mine = made_on.strip() == host
        except (FileNotFoundError, ValueError):  # killed before writing it, or while writing it: the name tells
            made_by, pid = (folder.name[len(PREFIX):].split("-") + ["", ""])[:2]
            mine = made_by == tag
        except OSError:  # unreadable: left alone
            continue
        if mine and folder.is_dir() and process_gone(pid):  # (another user's process: left alone)
            out.append(folder)
    return out


def _workspace_at(path: str) -> Workspace:
    ws = Workspace._open.get(path)
    if ws is None:
        ws = Workspace.__new__(Workspace)
        ws._own(Path(path), partial(shutil.rmtree, path, ignore_errors=True))
    return ws


class StoreReadings:
    """The readings the pass kept: its counter snapshots that repeat no earlier one, in (date,
    name) order, read back one snapshot at a time from their files (``files``: per snapshot, its
    ``codes`` (first-appearance codes of its models, ``id_codes.IdCodes``) and the arrays of
    ``pass_state.READING_FIELDS``, in the store's cache or the workspace). ``ids``: the model of
    each code in id order (sorted); ``rank``: the position in ``ids`` of each first-appearance
    code (codes that adding a month leaves as they were: what the store's cache keeps rows by),
    ``order`` the other way round (the first-appearance code of each model in id order);
    ``names``, ``dates``: the snapshots."""

    def __init__(self, workspace: Workspace, names: list[str], dates: list, ids: pd.Index, rank: np.ndarray,
                 order: np.ndarray, files: list[dict]):
        self.workspace, self.names, self.ids, self.files = workspace, list(names), ids, list(files)
        self.rank, self.order = rank, order
        self.dates = np.asarray(dates, dtype="datetime64[ns]") if len(dates) else np.array([], dtype="datetime64[ns]")

    @property
    def snapshots(self) -> pd.DataFrame:
        return pd.DataFrame({"snapshot": self.names, "date": pd.to_datetime(self.dates)})

    def __iter__(self):
        for i, (name, files) in enumerate(zip(self.names, self.files)):
            load = partial(np.load, mmap_mode="r", allow_pickle=False)
            yield Reading(i, name, self.dates[i], self.rank[load(files["codes"])], load(files["at"]), load(files["at_ok"]),
                          load(files["d30"]), load(files["d30_ok"]), load(files["stale"]))


class MainCodes:
    """The models of each main snapshot, read back one snapshot at a time: (name, codes in id
    order); ``files``: the file of each snapshot's first-appearance codes, ``rank``: as in
    ``StoreReadings``."""

    def __init__(self, files: dict[str, Path], rank: np.ndarray):
        self.files, self.rank = dict(files), rank

    def __iter__(self):
        for name, path in self.files.items():
            yield name, self.rank[np.load(path, mmap_mode="r", allow_pickle=False)]


class KeptTable:
    """A published table kept out of memory in parts (the months of the monthly table, the
    snapshots of the organization summary), each validated as it was made and written a part at
    a time: what a build holds of it does not grow with the history."""

    sizes: list[int]  # rows of each part, in table order
    texts: list  # where each part's CSV text is cached (``csv_texts.text_path``), or None

    def _frame(self, parts) -> pd.DataFrame:
        """The rows of the parts at positions ``parts`` (consecutive, in order), as one frame."""
        raise NotImplementedError

    def _empty(self) -> pd.DataFrame:
        """The table of no row (a table whose parts may all be missing: no month measured)."""
        raise NotImplementedError

    def write_csv(self, f, previous: Path | None = None) -> None:
        """The table as CSV to the binary file ``f`` (open for reading too), the header once, then
        a part at a time, each a slice of rows at a time: the same bytes as the whole frame
        written at once (a row's text depends on the row alone; only a cell holding a carriage
        return, which no Hub id or count can, quotes every field of its part, ``io.to_csv_bytes``).
        The leading parts that ``previous`` (the file this one replaces) holds by its record are
        copied from it (``csv_texts.shared_prefix``); a part whose text is cached (``texts``) is
        copied from there; any other is formatted, then cached where it has a place."""
        header = to_csv_bytes(self._empty())
        ends = csv_texts.shared_prefix(previous, header, self.texts)
        if not (ends and csv_texts.copy_prefix(previous, f, ends[-1])):
            ends = []
            f.write(header)
        memo: dict = {}  # categories shared by the parts are formatted once
        for i in range(len(ends), len(self.texts)):
            path = self.texts[i]
            if path is None or not csv_texts.copy_text(path, f, self.sizes[i]):
                start = f.tell()
                append_csv(f, self._frame([i]), header=False, memo=memo)
                if path is not None:
                    csv_texts.store_text(path, f, start)
            ends.append(f.tell())
        csv_texts.record_written(f, header, self.texts, ends)

    def to_frame(self) -> pd.DataFrame:
        """The whole table (for callers that want it as one frame)."""
        return self._frame(range(len(self.sizes))) if self.sizes else self._empty()

    def __len__(self) -> int:
        return sum(self.sizes)


class SnapshotParts(KeptTable):
    """A table made a snapshot at a time (``organization_summary``): each snapshot's rows stay in
    a parquet file (``claims_cache.PartFile``: the snapshot's cache entry, else the workspace), in table
    order. Never of no part (a table of no snapshot is an ordinary empty frame)."""

    def __init__(self, parts: list, texts: list | None = None):
        if not parts:
            raise ValueError("SnapshotParts: a table of no snapshot is an ordinary (empty) frame")
        self.parts = list(parts)
        self.sizes = [p.rows for p in self.parts]
        self.texts = list(texts) if texts is not None else [None] * len(self.parts)

    def _empty(self) -> pd.DataFrame:
        return pd.DataFrame(columns=list(self.parts[0].dtypes))

    def _frame(self, parts) -> pd.DataFrame:
        frames = [self.parts[i].read() for i in parts]
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


class MonthlyTable(KeptTable):
    """The per-model monthly table (``model_downloads_monthly``), a month at a time: each month's
    rows (integer codes) are kept in the workspace, and a month comes back as a frame of the
    table's columns."""

    FIELDS = ("model", "downloads", "method", "start", "end", "at_end", "at_end_ok", "flag")

    def __init__(self, workspace: Workspace, ids: pd.Index, snap_type):
        self.workspace, self.snap_type = workspace, snap_type
        self.ids = id_dtype(ids)  # every month's model ids share one categorical type, made once
        self.labels: list[str] = []
        self.names: list[str] = []  # the snapshots the start and end codes name
        self.sizes: list[int] = []  # rows of each month
        self.texts: list[Path | None] = []

    def add(self, label: str, rows: dict, text: Path | None = None) -> None:
        """Month ``label``'s rows; ``text``: where its CSV text is cached (``csv_texts``), if anywhere."""
        self.workspace.save(f"month.{len(self.labels)}", **{k: rows[k] for k in self.FIELDS})
        self.labels.append(label)
        self.sizes.append(len(rows["model"]))
        self.texts.append(text)

    def model_codes(self, i: int) -> np.ndarray:
        """Month ``i``'s models, as codes into ``ids`` (mapped, not read)."""
        return self.workspace.load(f"month.{i}", "model")

    def counts(self, i: int, column: str) -> np.ndarray:
        """Month ``i``'s values of the count ``column`` of the table (``downloads``,
        ``all_time_end``), a missing value as 0 (a sum skips it)."""
        load = partial(self.workspace.load, f"month.{i}")
        if column == "downloads":
            return load("downloads")
        if column == "all_time_end":
            return np.where(load("at_end_ok"), load("at_end"), 0)
        raise KeyError(f"model_downloads_monthly: {column} is not a count column")

    def _rows(self, i: int) -> dict:
        return {k: np.array(self.workspace.load(f"month.{i}", k)) for k in self.FIELDS}

    def frame(self, i: int) -> pd.DataFrame:
        """Month ``i``'s rows, as the table has them (text columns categoricals)."""
        return self._frame([i])

    def _frame(self, months) -> pd.DataFrame:
        parts = [self._rows(i) for i in months]
        return period_table(parts, [self.labels[i] for i in months], self.ids, self.names, self.snap_type).rename(columns={"period": "month"})

    def _empty(self) -> pd.DataFrame:
        return pd.DataFrame(columns=COLUMNS).rename(columns={"period": "month"})

    def last(self) -> pd.DataFrame:
        """The latest month's rows (no rows if no month is measured)."""
        return self.frame(len(self.labels) - 1) if self.labels else self.to_frame()
