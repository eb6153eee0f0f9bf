"""A fake Hub serving a dataset repo's git history (an archive of Hub dumps) on 127.0.0.1.

Built on ``fakehub.FakeHub`` (same server, same fault injection: ``429``, ``ratelimit``,
``500``, ``drop``, ``slow`` on any request). It serves what huggingface_hub's ``HfApi``,
``HfFileSystem`` and ``hf_hub_download`` ask for:

- ``GET /api/datasets/{repo}/commits/{rev}``: commits reachable from ``rev``, newest first,
  ``page_size`` a page with ``Link: <...?p=N>; rel="next"`` pagination, as the Hub does;
- ``GET /api/datasets/{repo}/revision/{rev}``: ``id``, ``sha`` (the commit), ``cardData``
  (``license``) and ``siblings``;
- ``GET /api/datasets/{repo}/tree/{rev}[/{path}]`` (``recursive``) and
  ``POST /api/datasets/{repo}/paths-info/{rev}`` (form field ``paths``): files with ``oid`` (git
  blob sha1), ``size`` and ``lfs`` (``oid`` = sha256, ``size``, ``pointerSize``), folders;
- ``GET``/``HEAD /datasets/{repo}/resolve/{rev}/{path}`` with ``Range`` (206 and
  ``Content-Range``) and the ``X-Repo-Commit``, ``ETag``, ``X-Linked-Etag`` and
  ``X-Linked-Size`` headers.

Every file is served as an LFS file. :func:`daily_history` lays the shared snapshots out as the
history of a daily archive (``hub-stats/<date>`` as that day's commit, the ``llm-catalog`` days
as older ``models.csv`` commits converted at test time); :func:`weekly_history` as a weekly
archive (``models/<label>/models.parquet``). Nothing of the data is ever committed to the repo.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fakehub import DATA as SHARED, FakeHub  # the full shared series, else the committed fixtures


@dataclass
class Commit:
    """One commit: its time, title and the files of the tree after it (path -> bytes)."""

    time: dt.datetime
    title: str
    files: dict[str, bytes]
    id: str = ""

    def __post_init__(self):
        if not self.id:
            self.id = hashlib.sha1(f"{self.time.isoformat()} {self.title}".encode()).hexdigest()


@dataclass
class _Blob:
    data: bytes
    sha256: str = field(init=False)
    oid: str = field(init=False)

    def __post_init__(self):
        self.sha256 = hashlib.sha256(self.data).hexdigest()
        self.oid = hashlib.sha1(f"blob {len(self.data)}\0".encode() + self.data).hexdigest()


def _at(day: str, hour: int = 5) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, minute=30, tzinfo=dt.timezone.utc)


def csv_bytes(parquet: Path) -> bytes:
    """A parquet file as CSV (the archive's early ``models.csv``), in memory."""
    import io

    buf = io.BytesIO()
    pacsv.write_csv(pq.read_table(parquet), buf)
    return buf.getvalue()


def daily_history(shared: Path = SHARED, extra: list[Commit] | None = None) -> list[Commit]:
    """The shared snapshots as a daily archive's commits, oldest first: the ``llm-catalog`` days
    as ``models.csv``, every ``hub-stats`` day as ``models.parquet`` (a file byte for byte the
    previous one, as 2026-06-17 and 2026-07-01 are, is a commit that re-carries it), plus one
    commit on 2026-07-31 that refreshes only another file."""
    commits: list[Commit] = []
    files: dict[str, bytes] = {"README.md": b"---\nlicense: apache-2.0\n---\n# hub-stats\n"}
    for day in sorted(p.name for p in (shared / "llm-catalog").iterdir() if p.is_dir()):
        files = dict(files, **{"models.csv": csv_bytes(shared / "llm-catalog" / day / "models.parquet")})
        commits.append(Commit(_at(day), f"Update models.csv ({day})", files))
    for day in sorted(p.name for p in (shared / "hub-stats").iterdir() if p.is_dir()):
        files = {k: v for k, v in files.items() if k != "models.csv"}
        files["models.parquet"] = (shared / "hub-stats" / day / "models.parquet").read_bytes()
        files["datasets.parquet"] = f"datasets of {day}".encode()
        commits.append(Commit(_at(day), f"Update models.parquet ({day})", files))
        if day == "2026-07-31":
            files = dict(files, **{"spaces.parquet": b"spaces refreshed"})
            commits.append(Commit(_at(day, 18), "Update spaces.parquet", files))
    commits += extra or []
    return sorted(commits, key=lambda c: c.time)


#: the weekly archive's folder labels: the Monday that starts each interval
LABELS = ("2026-06-29", "2026-07-06", "2026-07-13", "2026-07-20", "2026-07-27")


def weeks(shared: Path = SHARED) -> list[tuple[str, str, str]]:
    """(label, label + 6 days, the hub-stats day whose file the week holds): the interval's last
    day where the data has it (the full shared series does), else the latest earlier day no other
    week holds (the committed fixtures hold fewer days): every week a file of its own."""
    days = sorted(p.name for p in (shared / "hub-stats").iterdir() if p.is_dir())
    out, used = [], set()
    for label in LABELS:
        last = (dt.date.fromisoformat(label) + dt.timedelta(days=6)).isoformat()
        source = max(d for d in days if d <= last and d not in used)
        used.add(source)
        out.append((label, last, source))
    return out


def weekly_history(shared: Path = SHARED) -> list[Commit]:
    """A weekly archive: one commit a week adding ``models/<label>/models.parquet``, the file of
    the interval's last day (``weeks``), committed the day after."""
    commits, files = [], {"README.md": b"---\nlicense: odbl\n---\n"}
    for label, last, source in weeks(shared):
        files = dict(files, **{f"models/{label}/models.parquet": (shared / "hub-stats" / source / "models.parquet").read_bytes()})
        nxt = dt.date.fromisoformat(last) + dt.timedelta(days=1)
        commits.append(Commit(_at(nxt.isoformat(), 2), f"Add week {label}", files))
    return commits


class FakeArchive(FakeHub):
    """``with FakeArchive("cfahlgren1/hub-stats", daily_history()) as hub: HfApi(endpoint=hub.url)``."""

    def __init__(self, repo: str, commits: list[Commit], *, license: str = "apache-2.0", page_size: int = 50,
                 fail_paths: str | None = None, **kw):
        super().__init__([], **kw)
        self.fail_paths = fail_paths  # requests whose path holds this text always get a 500
        self.repo = repo
        self.commits = sorted(commits, key=lambda c: c.time)  # oldest first
        self.by_id = {c.id: i for i, c in enumerate(self.commits)}
        self.blobs: dict[int, _Blob] = {}
        self.license = license
        self.page_size = page_size
        self.body_bytes = 0   # bytes of file content sent (GET resolve), for the benchmarks
        self.ranges: list[tuple[str, str | None]] = []  # (path, Range header) of each resolve GET

    # -- the repository
    def blob(self, data: bytes) -> _Blob:
        key = id(data)
        if key not in self.blobs:
            self.blobs[key] = _Blob(data)
        return self.blobs[key]

    def head(self, rev: str) -> int | None:
        """Index of the commit ``rev`` names (``main`` or a full or short commit id)."""
        if rev == "main":
            return len(self.commits) - 1 if self.commits else None
        hits = [i for c, i in self.by_id.items() if c.startswith(rev)] if len(rev) >= 7 else []
        return hits[0] if len(hits) == 1 else None

    def entry(self, path: str, data: bytes) -> dict:
        b = self.blob(data)
        return {"type": "file", "oid": b.oid, "size": len(data), "path": path,
                "lfs": {"oid": b.sha256, "size": len(data), "pointerSize": 134}}

    def tree(self, files: dict[str, bytes], prefix: str, recursive: bool) -> list[dict]:
        out, folders = [], set()
        base = f"{prefix}/" if prefix else ""
        for path in sorted(files):
            if not path.startswith(base):
                continue
            rest = path[len(base):].split("/")
            if len(rest) == 1 or recursive:
                out.append(self.entry(path, files[path]))
            for k in range(1, len(rest) if recursive else min(2, len(rest))):
                folders.add(base + "/".join(rest[:k]))
        out += [{"type": "directory", "oid": hashlib.sha1(f.encode()).hexdigest(), "path": f} for f in sorted(folders)]
        return out

    # -- serving
    def serve(self, h, parts, n):
        fault = "500" if self.fail_paths and self.fail_paths in parts.path else self._fault(n)
        if self.transport_fault(h, fault):
            return
        api = f"/api/datasets/{self.repo}/"
        res = f"/datasets/{self.repo}/resolve/"
        path = unquote(parts.path)
        if path.startswith(api):
            kind, _, rest = path[len(api):].partition("/")
            rev, _, sub = rest.partition("/")
            i = self.head(rev)
            if i is None or kind not in ("commits", "revision", "tree", "paths-info"):
                return self._send(h, 404, json.dumps({"error": f"Revision Not Found: {rev}"}).encode(),
                                  {"X-Error-Code": "RevisionNotFound"})
            return getattr(self, "_" + kind.replace("-", "_"))(h, i, sub, parse_qsl(parts.query))
        if path.startswith(res):
            rev, _, sub = path[len(res):].partition("/")
            i = self.head(rev)
            if i is not None and sub in self.commits[i].files:
                return self._resolve(h, i, sub)
            return self._send(h, 404, b'{"error":"Entry not found"}', {"X-Error-Code": "EntryNotFound"})
        return self._send(h, 404, json.dumps({"error": "Repository not found"}).encode(), {"X-Error-Code": "RepoNotFound"})

    def _commits(self, h, i, sub, query):
        page = int(dict(query).get("p", 0))
        chain = self.commits[i::-1]
        items = [{"id": c.id, "title": c.title, "message": "", "authors": [{"user": "archiver"}],
                  "date": c.time.isoformat().replace("+00:00", "Z")}
                 for c in chain[page * self.page_size:(page + 1) * self.page_size]]
        headers = {}
        if (page + 1) * self.page_size < len(chain):
            headers["Link"] = f'<{self.url}/api/datasets/{self.repo}/commits/{quote(self.commits[i].id)}?p={page + 1}>; rel="next"'
        self._send(h, 200, json.dumps(items).encode(), headers)

    def _revision(self, h, i, sub, query):
        c = self.commits[i]
        info = {"id": self.repo, "author": self.repo.split("/")[0], "sha": c.id, "private": False,
                "lastModified": c.time.isoformat().replace("+00:00", "Z"), "cardData": {"license": self.license},
                "siblings": [{"rfilename": p} for p in sorted(c.files)], "tags": [f"license:{self.license}"]}
        self._send(h, 200, json.dumps(info).encode())

    def _tree(self, h, i, sub, query):
        recursive = dict(query).get("recursive", "False").lower() == "true"
        self._send(h, 200, json.dumps(self.tree(self.commits[i].files, sub.strip("/"), recursive)).encode())

    def _paths_info(self, h, i, sub, query):
        form = parse_qsl(h.body.decode())
        files = self.commits[i].files
        out = [self.entry(p, files[p]) for k, p in form if k == "paths" and p in files]
        self._send(h, 200, json.dumps(out).encode())

    def _resolve(self, h, i, path):
        data = self.commits[i].files[path]
        b = self.blob(data)
        headers = {"X-Repo-Commit": self.commits[i].id, "ETag": f'"{b.oid}"', "X-Linked-Etag": f'"{b.sha256}"',
                   "X-Linked-Size": str(len(data)), "Accept-Ranges": "bytes"}
        rng = h.headers.get("Range")
        status, body = 200, data
        if rng and rng.startswith("bytes="):
            first, _, last = rng[len("bytes="):].partition("-")
            if not first:  # bytes=-N: the last N bytes
                a, z = max(0, len(data) - int(last)), len(data) - 1
            else:
                a, z = int(first), min(int(last), len(data) - 1) if last else len(data) - 1
            if a >= len(data):
                return self._send(h, 416, b"", {"Content-Range": f"bytes */{len(data)}"})
            status, body = 206, data[a:z + 1]
            headers["Content-Range"] = f"bytes {a}-{z}/{len(data)}"
        if h.command == "HEAD":
            with contextlib.suppress(OSError):
                h.send_response(status)
                h.send_header("Content-Length", str(len(body)))
                for k, v in headers.items():
                    h.send_header(k, v)
                h.end_headers()
            return
        with self.lock:
            self.body_bytes += len(body)
            self.ranges.append((path, rng))
        self._send(h, status, body, headers, ctype="application/octet-stream")

