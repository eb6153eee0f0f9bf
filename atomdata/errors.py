"""Errors that reach the user: they name the file, the column and example rows."""
from __future__ import annotations


class AtomdataError(Exception):
    """Base class: the CLI prints the message and exits 1."""


class InputError(AtomdataError):
    """Bad input: names the file, the column and a few example rows."""

    def __init__(self, file, problem: str, column: str | None = None, examples=None):
        self.file = str(file)
        self.problem = problem
        self.column = column
        self.examples = list(examples or [])[:5]
        parts = [f"{self.file}:"]
        if column:
            parts.append(f"column '{column}':")
        parts.append(problem)
        msg = " ".join(parts)
        if self.examples:
            msg += "\n  examples: " + "; ".join(str(e) for e in self.examples)
        super().__init__(msg)

    def __reduce__(self):  # raised again in the build when a worker process raised it
        return InputError, (self.file, self.problem, self.column, self.examples)


class ValidationFailed(AtomdataError):
    """A table failed its pandera schema; the message lists every failure."""


class SnapshotError(AtomdataError):
    """Snapshot store problems: checksum mismatch, missing data file, refusal to overwrite."""
