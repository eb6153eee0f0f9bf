"""The ``atomdata`` command line: the click group ``main`` and its ``ingest`` group, wiring the
commands of :mod:`atomdata.commands` (ingest dump/hub/archive, build, validate, figures, release),
and turning an operating-system error into one line."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import click

from .commands.build import build
from .commands.ingest_archive import archive
from .commands.ingest_dump import dump
from .commands.ingest_hub import hub
from .commands.publish import figures, release
from .commands.validate import validate
from .version import code_version


def _os_error_message(exc: OSError) -> str:
    """An operating-system error as one line naming the path: a folder that cannot be written
    (read-only, wrong owner, a file in the way), a full disk, an unreadable file."""
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return reason
    path = Path(os.path.abspath(os.fsdecode(exc.filename)))
    if path.name.startswith(".") and ".tmp" in path.name:  # atomdata's temporary file or folder: name the folder
        path = path.parent
    msg = f"{path}: {reason}"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        msg += " (check the folder's permissions, or choose another folder with --out or --raw)"
    return msg


class _Main(click.Group):
    """The command group; operating-system errors end as a one-line error and exit 1, not a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # click's own handling of a closed pipe (`atomdata ... | head`)
                raise
            raise click.ClickException(_os_error_message(exc)) from None


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(code_version(), prog_name="atomdata")
def main():
    """atomdata: download and derivative shares of open AI models by country of origin.

    Typical monthly refresh: `atomdata ingest hub` (or `ingest dump`), `atomdata build`,
    `atomdata figures`, `atomdata release`.
    """


@main.group()
def ingest():
    """Add dated snapshots of Hub model metadata to the snapshot store."""


ingest.add_command(dump)
ingest.add_command(hub)
ingest.add_command(archive)

main.add_command(build)
main.add_command(validate)
main.add_command(figures)
main.add_command(release)


if __name__ == "__main__":  # pragma: no cover
    main()
