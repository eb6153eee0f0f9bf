"""``atomdata build``: the click command that builds, validates and writes the tables (wired in
``atomdata.cli``)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import AtomdataError
from .common import fail


class _Bar:
    """click progress bar on a terminal, silent otherwise."""

    def __init__(self, length, label):
        self.bar = click.progressbar(length=length, label=label, file=sys.stderr) if sys.stderr.isatty() else None

    def __enter__(self):
        if self.bar:
            self.bar.__enter__()
        return self

    def __call__(self, n=1):
        if self.bar:
            self.bar.update(n)

    def __exit__(self, *a):
        if self.bar:
            self.bar.__exit__(*a)


@click.command("build")
@click.option("--raw", type=click.Path(path_type=Path), help="Snapshot store (default $ATOMDATA_RAW or ./raw).")
@click.option("--out", type=click.Path(path_type=Path), help="Folder for the tables (default ./processed); replaced as a whole, so one holding other files is refused.")
@click.option("--registry", type=click.Path(path_type=Path, exists=True, dir_okay=False), help="Organization registry CSV (default: the shipped raw/organizations.csv).")
@click.option("--tolerance", default=3, show_default=True, type=click.IntRange(0, 15), help="Days a snapshot may be from a month boundary.")
@click.option("--scope", "scope_name", default="default", show_default=True, metavar="NAME",
              help="Preset of the scope policy (raw/scope_policy.toml of the store's folder, else the shipped one): "
                   "default (ATOM-comparable) or all (every model of registry organizations).")
@click.option("--models", "models_file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Instead of a preset: a CSV with a modelId or model_id column (such as the ATOM Project's models.csv); "
                   "the headline counts exactly these models.")
@click.option("--datapackage/--no-datapackage", default=True, show_default=True,
              help="Also write datapackage.json: at the project root for the default ./processed, inside --out otherwise.")
@click.option("--period", type=click.Choice(["week", "month", "quarter"]), default="month", show_default=True,
              help="Period of the downloads_by_period table (ISO weeks, calendar months or quarters); the monthly tables stay monthly.")
def build(raw, out, registry, tolerance, scope_name, models_file, datapackage, period):
    """Build and validate the tables from every snapshot in the store.

    Tables are validated (all failures at once) and the folder is replaced in one step once every
    table has passed, so a failed build leaves the previous tables exactly as they were.
    """
    from .. import build as b
    from ..io import dumps_json
    from ..settings import processed_dir, raw_dir
    from ..rules.scope import load_scope, model_list_scope

    store, dest = raw_dir(raw), processed_dir(out)
    if models_file and click.get_current_context().get_parameter_source("scope_name").name != "DEFAULT":
        raise click.UsageError("--models replaces the scope preset: give --scope or --models, not both")
    try:
        scope = model_list_scope(models_file) if models_file else load_scope(scope_name, store)
        from ..ingest.store import list_snapshots
        from ..publish.datapackage import descriptor, write_datapackage

        b.check_tables_folder(dest)  # a folder that must not be replaced is refused before the work
        # the project layout: processed/ plus datapackage.json beside it; a folder of its own (--out):
        # the tables and their descriptor, replaced together
        inside = out is not None and datapackage
        extra = (lambda res: {"datapackage.json": dumps_json(descriptor(res, dest, dest)).encode()}) if inside else None
        n = len(list_snapshots(store))
        with _Bar(n, "reading snapshots") as bar:
            res = b.build(store, dest, extra=extra, registry_file=registry, scope=scope, tolerance_days=tolerance,
                          period=period, progress=bar)
        if out is None and datapackage:
            write_datapackage(res, dest)
    except AtomdataError as exc:
        fail(exc)
    click.echo(res.summary())
