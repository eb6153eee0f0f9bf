"""An archive's history: which dump file each commit carries, and when its content was observed.

Only metadata is read here (the commit list, and each file's LFS sha256 and size from the
repo's ``paths-info`` or tree): never file content. Two layouts:

``daily`` (``cfahlgren1/hub-stats``)
    one file, ``models.parquet`` (``models.csv`` in the early history), rewritten by a commit a
    day. The **observation date** of a file is the UTC date of the earliest commit of the run of
    consecutive commits that carry the same bytes (same LFS sha256): a commit that refreshed
    other files, or re-committed the models file unchanged, is not a new reading. Such a commit
    is never a candidate for a boundary; the commit that first carried the bytes is.
``weekly`` (``hfmlsoc/hub_weekly_snapshots``)
    ``models/<YYYY-MM-DD>/models.parquet``: the folder date labels the *start* of a weekly
    interval, and the file is the newest upstream (daily) file before the next interval. So the
    counters were read on the interval's last day at the latest: **observation date = label + 6
    days** (earlier if the upstream skipped days; the build flags counters that repeat earlier
    readings). A week whose file is byte for byte an earlier week's is not a new reading.

File infos are cached by commit in ``<store>/.cache/archive/<owner>--<name>.json`` (a commit
never changes), so a second run asks only for the commit list.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..io import atomic_write_bytes, dumps_json

#: the daily archive's models file, newest layout first
DAILY_FILES = ("models.parquet", "models.csv")
WEEKLY_DIR = "models"
WEEKLY_RE = re.compile(r"^models/(\d{4}-\d{2}-\d{2})/models\.(parquet|csv)$")
DAILY_RULE = ("UTC date of the earliest commit of the run of consecutive commits whose file has this sha256 "
              "(the commit that first carried these bytes)")
WEEKLY_RULE = ("folder label + 6 days: the label is the start of a weekly interval and the file the newest upstream "
               "daily file before the next interval, so its counters were read on the interval's last day at the latest")


@dataclass(frozen=True)
class FileInfo:
    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Observation:
    """One reading of the Hub in the archive: the file to read and when its counters were read."""

    repo: str
    commit: str
    commit_time: dt.datetime
    path: str
    sha256: str
    size: int
    observed: dt.date
    rule: str
    label: str | None = None

    @property
    def format(self) -> str:
        return "csv" if self.path.endswith(".csv") else "parquet"

    @property
    def where(self) -> str:
        """How errors name the file: repo, commit and path."""
        return f"{self.repo}@{self.commit[:12]}:{self.path}"


def _info(entry) -> FileInfo | None:
    """A huggingface_hub ``RepoFile`` as a FileInfo (its LFS sha256); None for folders."""
    lfs = getattr(entry, "lfs", None)
    if lfs is None:
        return None if not hasattr(entry, "size") else FileInfo(entry.path, f"git-blob:{entry.blob_id}", entry.size)
    return FileInfo(entry.path, lfs.sha256, lfs.size)


class History:
    """The commits of one archive repo and the models file each carries (cached by commit)."""

    def __init__(self, api, repo: str, cache: Path):
        self.api, self.repo, self.cache = api, repo, Path(cache)
        self.files: dict[str, dict | None] = self._load()
        self.commits = list(reversed(api.list_repo_commits(repo, repo_type="dataset")))  # oldest first
        if not self.commits:
            raise LookupError(f"{repo}: the dataset has no commits")
        self.head = self.commits[-1]
        self.layout = self._layout()
        self._weeks: list[Observation] | None = None

    # -- cache
    def _load(self) -> dict:
        try:
            data = json.loads(self.cache.read_text(encoding="utf-8"))
            return data["files"] if data.get("repo") == self.repo else {}
        except (OSError, ValueError, KeyError, TypeError):
            return {}  # no cache, or a damaged one: ask again

    def save(self) -> None:
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.cache, dumps_json({"repo": self.repo, "files": self.files}).encode())

    # -- layout
    def _layout(self) -> str:
        root = {e.path for e in self.api.list_repo_tree(self.repo, repo_type="dataset", revision=self.head.commit_id)}
        if WEEKLY_DIR in root and not root & set(DAILY_FILES):
            return "weekly"
        return "daily"

    def date_of(self, i: int) -> dt.date:
        return self.commits[i].created_at.astimezone(dt.timezone.utc).date()

    # -- daily
    def file_at(self, i: int) -> FileInfo | None:
        """The models file commit ``i`` carries (parquet preferred), from the cache or paths-info."""
        cid = self.commits[i].commit_id
        if cid not in self.files:
            got = {e.path: _info(e) for e in self.api.get_paths_info(self.repo, list(DAILY_FILES), repo_type="dataset",
                                                                     revision=cid)}
            hit = next((got[p] for p in DAILY_FILES if got.get(p) is not None), None)
            self.files[cid] = None if hit is None else {"path": hit.path, "sha256": hit.sha256, "size": hit.size}
        f = self.files[cid]
        return None if f is None else FileInfo(f["path"], f["sha256"], f["size"])

    def first_carrier(self, i: int) -> bool:
        """Does commit ``i`` carry bytes that no earlier commit (of those known) carried?"""
        f = self.file_at(i)
        if f is None:
            return False
        if i > 0:
            prev = self.file_at(i - 1)
            if prev is not None and prev.sha256 == f.sha256:
                return False
        earlier = {self.commits[j].commit_id for j in range(i)}
        return not any(v and v["sha256"] == f.sha256 for c, v in self.files.items() if c in earlier)

    def _daily(self, boundary: dt.date, tolerance: int) -> Observation | None:
        near = [(abs(d), d, i) for i in range(len(self.commits))
                if abs(d := (self.date_of(i) - boundary).days) <= tolerance]
        for _, _, i in sorted(near):  # nearest first; ties: the earlier day, then the earlier commit
            if self.first_carrier(i):
                f, c = self.file_at(i), self.commits[i]
                return Observation(self.repo, c.commit_id, c.created_at, f.path, f.sha256, f.size,
                                   self.date_of(i), DAILY_RULE)
        return None

    # -- weekly
    def weeks(self) -> list[Observation]:
        """Every weekly file at the head commit, oldest label first; a week whose bytes repeat an
        earlier week's is left out (not a new reading)."""
        if self._weeks is None:
            found = {}
            for e in self.api.list_repo_tree(self.repo, WEEKLY_DIR, recursive=True, repo_type="dataset",
                                             revision=self.head.commit_id):
                m = WEEKLY_RE.match(e.path)
                info = _info(e) if m else None
                if info is not None and (m.group(1) not in found or m.group(2) == "parquet"):
                    found[m.group(1)] = info
            seen, out = set(), []
            for label in sorted(found):
                f = found[label]
                if f.sha256 not in seen:
                    observed = dt.date.fromisoformat(label) + dt.timedelta(days=6)
                    out.append(Observation(self.repo, self.head.commit_id, self.head.created_at, f.path, f.sha256,
                                           f.size, observed, WEEKLY_RULE, label))
                seen.add(f.sha256)
            self._weeks = out
        return self._weeks

    def _weekly(self, boundary: dt.date, tolerance: int) -> Observation | None:
        near = [(abs(d), d, o.label, o) for o in self.weeks() if abs(d := (o.observed - boundary).days) <= tolerance]
        return min(near)[3] if near else None

    # -- both
    def nearest(self, boundary: dt.date, tolerance: int) -> Observation | None:
        """The observation nearest ``boundary`` within ``tolerance`` days (ties: the earlier), or None."""
        return (self._weekly if self.layout == "weekly" else self._daily)(boundary, tolerance)

    def nearest_any(self, boundary: dt.date) -> tuple[dt.date, int] | None:
        """The nearest date the archive has anything for (to say how far off a missed boundary is)."""
        dates = [o.observed for o in self.weeks()] if self.layout == "weekly" else \
            [self.date_of(i) for i in range(len(self.commits))]
        if not dates:
            return None
        best = min(dates, key=lambda d: (abs((d - boundary).days), d))
        return best, (best - boundary).days
