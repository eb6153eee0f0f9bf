"""Progress of the commands that talk to the Hub: a bar on a terminal, only the retry waits elsewhere.

Shared by ``ingest hub`` (listings) and ``ingest archive`` (boundaries): a silent minute of
waiting on a rate limit looks like a hang, so every wait is shown either way.
"""
from __future__ import annotations

import sys

import click


class Bar:
    """A click progress bar on stderr with a status text (counts, bytes, retries) and retry waits."""

    def __init__(self, label: str):
        self.label = label
        self.bar = None
        self.status = ""

    def total(self, n: int) -> None:
        """Start the bar, or change its length (a new phase of work)."""
        if self.bar is None:
            self.bar = click.progressbar(length=n, label=self.label, file=sys.stderr,
                                         show_pos=True, item_show_func=lambda s: s)
            self.bar.__enter__()
        if n != self.bar.length:
            self.bar.length = n
            self.bar.finished = self.bar.pos >= n

    def advance(self, n: int, status: str | None = None) -> None:
        if status is not None:
            self.status = status
        if self.bar is not None:
            self.bar.update(n, self.status)

    def wait(self, why: str, seconds: float) -> None:
        if self.bar is not None:
            self.bar.update(0, f"{self.status}; waiting {seconds:.0f} s ({why})")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


class Log(Bar):
    """Off a terminal: no bar, but every retry wait is said on stderr."""

    def total(self, n: int) -> None: ...

    def wait(self, why: str, seconds: float) -> None:
        click.echo(f"retrying in {seconds:.1f} s: {why}", err=True)


def for_stderr(label: str) -> Bar:
    """A :class:`Bar` when stderr is a terminal, else a :class:`Log`."""
    return Bar(label) if sys.stderr.isatty() else Log(label)
