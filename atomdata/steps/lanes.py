"""Work side by side: up to two forked worker processes, each running one task of the build.

A Hub-sized build after the pass is a few dozen independent pieces of work (the steps whose
inputs are made) that each use one core, and the tables' CSV files, written mostly at the pace
of the disk; the machine this project targets has two cores: two workers, and one writer beside
them. A task runs in a child forked from the build, so it reads the build's items
without copying them; what it returns comes back pickled through a file in shared memory (else
the system's temporary space; never a pipe a busy parent would have to drain), and what it raises is raised again in
the build, by the same message. Linux only (fork is cheap and safe there); elsewhere, and for
small builds, the work runs one piece at a time in the build's own process, in the same order:
the outputs are the same bytes either way (tested).
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import tempfile
import traceback
from pathlib import Path
from multiprocessing.connection import wait

from ..errors import AtomdataError

#: worker processes at most: the project's machine has two cores (one task each)
MAX_WORKERS = 2


def workers_available() -> int:
    """How many worker processes side-by-side work may use here (0: run everything in process)."""
    if not sys.platform.startswith("linux"):
        return 0
    n = min(MAX_WORKERS, os.cpu_count() or 1)
    return n if n >= 2 else 0


#: a task's result file is named so, then the build's process id
TASK_PREFIX = "atomdata-task-"


def process_gone(pid) -> bool:
    """True when no process of this host has the id ``pid`` (signal 0 asks without sending
    anything); False while it runs, when it is another user's, when ``pid`` is no number, or off
    POSIX (where whether a process lives is not asked this way)."""
    if os.name != "posix":
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (OSError, ValueError):
        return False
    return False


def remove_abandoned(folder: Path) -> list[Path]:
    """Remove the result files that a build killed while its tasks ran left in ``folder`` (in
    shared memory they hold memory until the machine restarts): those of builds whose process is
    gone (``process_gone``; another user's build, or another program's file, is left alone)."""
    gone = []
    for path in folder.glob(f"{TASK_PREFIX}*.pickle"):
        if process_gone(path.name[len(TASK_PREFIX):].split("-", 1)[0]):
            path.unlink(missing_ok=True)
            gone.append(path)
    return gone


def results_folder() -> str | None:
    """Where a task's result is passed back: the shared memory folder where there is one (a table
    of every model is half a GB pickled; in the system's temporary space, on disk, it waits behind
    the CSV files the build is writing), else the system's temporary space (None). The file is
    read and removed as soon as the task ends."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


class WorkerFailed(AtomdataError):
    """A task's worker died without a result (killed, out of memory)."""


class Lanes:
    """Up to ``workers`` tasks at a time, each in a forked child, and beside them up to ``writers``
    tasks that mostly wait on the disk (writing a table's CSV: gigabytes at Hub scale, written
    as fast as the disk takes them, while a core would sit idle); ``wait()`` gives back the first
    to finish as (key, result). Leaving the ``with`` block stops any task still running."""

    def __init__(self, workers: int, writers: int = 0):
        self.workers, self.writers = workers, writers
        self.running: dict = {}  # sentinel -> (key, process, result file, a writer's task)
        self._fork = multiprocessing.get_context("fork") if workers or writers else None
        if self._fork is not None:
            remove_abandoned(Path(results_folder() or tempfile.gettempdir()))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for _, proc, path, _ in self.running.values():
            proc.kill()
            proc.join()
            _remove(path)
        self.running.clear()

    def _count(self, writing: bool) -> int:
        return sum(1 for *_, w in self.running.values() if w == writing)

    @property
    def free(self) -> bool:
        return self._count(False) < self.workers

    @property
    def free_writer(self) -> bool:
        return self._count(True) < self.writers

    def start(self, key, fn, kwargs: dict, writing: bool = False) -> None:
        """Run ``fn(**kwargs)`` in a worker (free: ``self.free``), or with ``writing`` in a writer
        (``self.free_writer``); ``key`` names it (a step, a table)."""
        fd, path = tempfile.mkstemp(prefix=f"{TASK_PREFIX}{os.getpid()}-", suffix=".pickle", dir=results_folder())
        os.close(fd)
        proc = self._fork.Process(target=_run, args=(path, fn, kwargs), daemon=True)
        proc.start()
        self.running[proc.sentinel] = (key, proc, path, writing)

    def wait(self):
        """(key, result) of the first running task to finish; its exception raised here."""
        sentinel = wait(list(self.running))[0]
        key, proc, path, _ = self.running.pop(sentinel)
        proc.join()
        try:
            with open(path, "rb") as f:
                ok, value = pickle.load(f)
        except (OSError, EOFError, pickle.UnpicklingError):
            raise WorkerFailed(f"{getattr(key, 'name', key)}: its worker process ended without a result (exit code {proc.exitcode}; "
                               "out of memory?)") from None
        finally:
            _remove(path)
        if not ok:
            raise value
        return key, value


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _run(path: str, fn, kwargs) -> None:
    """In the child: ``fn(**kwargs)``, its result or exception pickled to ``path``; the child then ends
    without running the build's exit handlers (the build's temporary folders stay the build's)."""
    try:
        try:
            out = (True, fn(**kwargs))
        except BaseException as exc:  # noqa: BLE001 - raised again in the build
            if not isinstance(exc, AtomdataError):  # a bug: where it happened, shown with the build's traceback
                exc.add_note("raised in a worker process of the build:\n" + "".join(traceback.format_exception(exc)))
            out = (False, exc)
        try:
            if not out[0]:
                pickle.loads(pickle.dumps(out[1]))  # an exception must also come back whole
            with open(path, "wb") as f:  # streamed: a large frame is not held twice
                pickle.dump(out, f, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - what does not pickle comes back as its text
            exc = out[1] if not out[0] else RuntimeError("a task's result does not pickle")
            with open(path, "wb") as f:
                pickle.dump((False, AtomdataError(str(exc)) if isinstance(exc, AtomdataError)
                             else RuntimeError("".join(traceback.format_exception(exc)))), f)
    finally:
        os._exit(0)
