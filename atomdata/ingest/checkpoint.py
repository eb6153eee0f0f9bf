"""The checkpoint journal of a live listing: what ``ingest hub --resume`` continues from.

A run works inside the store's hidden temporary folder (``.tmp-NAME-*``) in ``.checkpoint/``:
``query.json`` (what is being listed), ``plan-K.json`` (the listings of phase K, written once),
``pages/TTTTT-PPPPP.parquet`` (one file per completed page) and ``journal.jsonl`` (one line per
completed page: listing, page, next-page URL, rows, sha256 of the page file; and one line of
counters before every request is sent and when the run stops; every line carries the run's
request, retry and rate-limit counts so far; synced about once a second). A crash loses at most
the page in flight; ``--resume`` replays the journal, verifies the page files and continues from
the next-page URL of each listing, so no model is missing or duplicated, and takes the counters
of the last line, so the manifest's ``requests`` and the ``--max-requests`` budget count every
request the snapshot cost across stops (failed attempts and ancestor lookups included).

The journal knows nothing of HTTP or of what is listed: ``ingest.hub`` plans the listings and
fetches the pages, and hands each page here to be committed.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..io import atomic_write_bytes, dumps_json, parquet_bytes, sha256_file
from .client import HubError, Stats

CHECKPOINT = ".checkpoint"


@dataclass
class Listing:
    """One listing (author, base-model filter, whole Hub or trending) and its progress."""

    index: int
    kind: str               # author | base | all | trending
    value: str | None
    phase: int
    url: str                # first page
    next: str | None = None
    pages: int = 0
    rows: int = 0
    done: bool = False
    files: list = field(default_factory=list)

    def plan_entry(self) -> dict:
        return {"index": self.index, "kind": self.kind, "value": self.value, "phase": self.phase, "url": self.url}


class Checkpoint:
    """The ``.checkpoint`` folder inside a snapshot's temporary folder."""

    def __init__(self, tmp: Path):
        self.tmp = Path(tmp)
        self.dir = self.tmp / CHECKPOINT
        self.pages = self.dir / "pages"
        self.journal = self.dir / "journal.jsonl"
        self._lock = None
        self._synced = 0.0

    # -- finding and locking
    @staticmethod
    def find(raw: Path, name: str) -> list[Path]:
        raw = Path(raw)
        if not raw.is_dir():
            return []
        prefix = f".tmp-{name}-"
        # the random tail of mkdtemp has no "-": `.tmp-2026-11-30-trending-x1` is not a 2026-11-30 run
        return sorted(p for p in raw.glob(prefix + "*")
                      if "-" not in p.name[len(prefix):] and (p / CHECKPOINT / "query.json").is_file())

    def lock(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        fh = open(self.dir / "lock", "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise HubError(f"{self.tmp}: another `atomdata ingest hub` is working on this checkpoint") from None
        self._lock = fh

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # -- query and plans
    def write_query(self, info: dict) -> None:
        self.pages.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.dir / "query.json", dumps_json(info).encode())

    def read_query(self) -> dict:
        try:
            return json.loads((self.dir / "query.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise HubError(f"{self.dir}: unreadable checkpoint ({exc}); delete {self.tmp} and start again") from None

    def plan_path(self, phase: int) -> Path:
        return self.dir / f"plan-{phase}.json"

    def write_plan(self, phase: int, listings: list[Listing]) -> None:
        atomic_write_bytes(self.plan_path(phase), dumps_json([x.plan_entry() for x in listings]).encode())

    def read_plans(self) -> list[Listing]:
        out: list[Listing] = []
        phase = 0
        while self.plan_path(phase).is_file():
            for e in json.loads(self.plan_path(phase).read_text(encoding="utf-8")):
                out.append(Listing(e["index"], e["kind"], e["value"], e["phase"], e["url"]))
            phase += 1
        return out

    # -- pages
    def page_file(self, listing: Listing, page: int) -> Path:
        return self.pages / f"{listing.index:05d}-{page:05d}.parquet"

    def commit_page(self, listing: Listing, table: pa.Table, nxt: str | None, stats: Stats) -> None:
        """Write the page file, then append its journal line (the commit point).

        No fsync per page: a process crash (kill, Ctrl-C) loses nothing the kernel has, and after
        a power loss :meth:`replay` verifies every page against its sha256 and lists again from
        the first page that did not survive. The journal is synced about once a second.
        """
        rel = None
        digest = None
        if table.num_rows:
            path = self.page_file(listing, listing.pages)
            data = parquet_bytes(table)
            part = path.with_suffix(".part")
            part.write_bytes(data)
            os.replace(part, path)
            rel = path.name
            digest = hashlib.sha256(data).hexdigest()
        line = {"listing": listing.index, "page": listing.pages, "next": nxt, "rows": table.num_rows, "file": rel,
                "sha256": digest, **stats.journal_fields()}
        self._append(line)
        listing.pages += 1
        listing.rows += table.num_rows
        listing.next = nxt
        listing.done = nxt is None
        if rel:
            listing.files.append(rel)

    def note_requests(self, stats: Stats) -> None:
        """Append a counters-only line (no page): called before every request is sent and when a
        run stops, so a resumed run counts the requests that completed no page too (failed
        attempts, ancestor lookups) in the manifest and against ``--max-requests``."""
        self._append(stats.journal_fields())

    def _append(self, line: dict) -> None:
        with open(self.journal, "a", encoding="utf-8") as f:
            f.write(json.dumps(line, sort_keys=True) + "\n")
            f.flush()
            if time.monotonic() - self._synced >= 1.0:
                os.fsync(f.fileno())
                self._synced = time.monotonic()

    def replay(self, listings: list[Listing], stats: Stats) -> None:
        """Apply the journal to the planned listings.

        The journal is append-only, so it is read up to its first unreadable line (the one being
        written when the run stopped). A listing whose page file is missing or does not match its
        sha256 resumes from that page; its later lines are dropped. Every line carries the run's
        counters so far (page lines and counters-only lines), so ``stats`` ends with the last
        line's; when lines are dropped, a counters-only line keeps those counters.
        """
        if not self.journal.is_file():
            return
        by_index = {x.index: x for x in listings}
        broken: set[int] = set()
        kept: list[str] = []
        with open(self.journal, encoding="utf-8", errors="replace") as f:
            lines = f.read().split("\n")
        complete = len(lines)
        for n, raw_line in enumerate(lines):
            if not raw_line.strip():
                continue
            try:
                e = json.loads(raw_line)
                if "listing" not in e:  # counters only
                    stats.restore(e)
                    kept.append(raw_line)
                    continue
                key = (e["listing"], e["page"], e["next"], e["rows"], e["file"], e["sha256"], e["requests"], e["retries"])
            except (ValueError, KeyError, TypeError):
                complete = n
                break
            stats.restore(e)
            x = by_index.get(key[0])
            if x is None or x.index in broken:
                continue
            if e["page"] != x.pages:
                raise HubError(f"{self.journal}: line {n + 1} does not follow the plan; delete {self.tmp} and start again")
            if e["file"]:
                path = self.pages / e["file"]
                if not path.is_file() or sha256_file(path) != e["sha256"]:
                    broken.add(x.index)
                    continue
                x.files.append(e["file"])
            x.pages += 1
            x.rows += e["rows"]
            x.next = e["next"]
            x.done = e["next"] is None
            stats.pages += 1
            stats.models += e["rows"]
            kept.append(raw_line)
        if broken or complete < len(lines):
            kept.append(json.dumps(stats.journal_fields(), sort_keys=True))
            atomic_write_bytes(self.journal, "".join(line + "\n" for line in kept).encode())

    def read_pages(self, listings: list[Listing], columns=None) -> list[pa.Table]:
        return [pq.read_table(self.pages / f, columns=columns) for x in listings for f in x.files]

    def remove(self) -> None:
        self.unlock()
        shutil.rmtree(self.dir, ignore_errors=True)
