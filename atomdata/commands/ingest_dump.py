"""``atomdata ingest dump``: the click command that imports local Hub dumps (wired in ``atomdata.cli``)."""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import AtomdataError, InputError
from .common import fail


@click.command("dump")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--date", help="Snapshot date YYYY-MM-DD (default: from a parent folder named YYYY-MM-DD).")
@click.option("--suffix", help="Name suffix for a second source on the same date (snapshot YYYY-MM-DD-SUFFIX).")
@click.option("--raw", type=click.Path(path_type=Path), help="Snapshot store (default $ATOMDATA_RAW or ./raw).")
@click.option("--source", help="Where the dump came from (recorded in the manifest).")
@click.option("--license", "license_", help="Licence of the dump's data (recorded in the manifest).")
def dump(paths, date, suffix, raw, source, license_):
    """Import Hub metadata dumps (hub-stats models.parquet layout) as snapshots.

    Each dump is checked (readable parquet, an id column, non-negative integer counters, no
    duplicate ids, no creation date after the snapshot) and stored byte for byte with a
    manifest. Every dump is checked before any is stored: if one fails, nothing is written.
    """
    from ..ingest.dump import import_dump
    from ..settings import raw_dir

    if date and len(paths) > 1:
        raise click.UsageError("--date applies to a single dump; give one PATH or keep dumps in YYYY-MM-DD folders")
    store = raw_dir(raw)
    try:
        planned = {}
        for p in paths:  # check every dump first: a bad one among many stores none of them
            name, digest = import_dump(p, store, date=date, suffix=suffix, check_only=True)
            first = planned.setdefault(name, (p, digest))
            if first[1] != digest:
                raise InputError(p, f"would be snapshot {name}, as {first[0]} would, with different data; "
                                    "give one dump per date (or import the other with --suffix as a second source)")
        for p in paths:
            snap, created = import_dump(p, store, date=date, suffix=suffix, source=source, license=license_)
            verb = "imported" if created else "already imported, unchanged"
            click.echo(f"{snap.name}: {verb} ({snap.manifest['rows']} models, sha256 {snap.sha256[:12]}…) -> {snap.path}")
    except AtomdataError as exc:
        fail(exc)
