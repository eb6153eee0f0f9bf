"""``atomdata validate``: the click command that checks a folder of tables (wired in ``atomdata.cli``)."""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import AtomdataError
from .common import fail


@click.command("validate")
@click.option("--processed", type=click.Path(path_type=Path),
              help="Folder of tables (default ./processed; without one, the release shipped with the package).")
def validate(processed):
    """Check existing tables against their schemas and against each other; exit 1 naming every
    problem of every table at once (file, column or key, check, and rows by their line in the file).

    Across tables: primary and foreign keys as datapackage.json declares them, and the totals
    that tie the tables together (downloads by country are the sums of the in-scope models'
    monthly downloads, every derivative in models has its derivatives row, ...)."""
    from ..settings import processed_dir, release_dir
    from ..integrity import validate_folder

    folder = processed_dir(processed)
    if processed is None and not folder.exists() and (release_dir() / "processed").is_dir():
        folder = release_dir() / "processed"  # outside a project folder: the shipped release, as `figures` and `release` do
    if not folder.is_dir():
        fail(AtomdataError(f"{folder}: no such folder of tables"))
    try:
        tables = validate_folder(folder)
    except AtomdataError as exc:
        fail(exc)
    click.echo(f"{folder}: {len(tables)} tables valid ({', '.join(tables)})")
