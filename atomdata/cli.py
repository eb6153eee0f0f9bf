"""The ``atomdata`` command line: ingest, build, validate, figures, release."""
from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import click

from .version import code_version
from .errors import AtomdataError, InputError


def _fail(exc: Exception) -> None:
    raise click.ClickException(str(exc))


def _progress_enabled() -> bool:
    return sys.stderr.isatty()


class _Bar:
    """click progress bar on a terminal, silent otherwise."""

    def __init__(self, length, label):
        self.bar = click.progressbar(length=length, label=label, file=sys.stderr) if _progress_enabled() else None

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


@ingest.command("dump")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--date", help="Snapshot date YYYY-MM-DD (default: from a parent folder named YYYY-MM-DD).")
@click.option("--suffix", help="Name suffix for a second source on the same date (snapshot YYYY-MM-DD-SUFFIX).")
@click.option("--raw", type=click.Path(path_type=Path), help="Snapshot store (default $ATOMDATA_RAW or ./raw).")
@click.option("--source", help="Where the dump came from (recorded in the manifest).")
@click.option("--license", "license_", help="Licence of the dump's data (recorded in the manifest).")
def ingest_dump(paths, date, suffix, raw, source, license_):
    """Import Hub metadata dumps (hub-stats models.parquet layout) as snapshots.

    Each dump is checked (readable parquet, an id column, non-negative integer counters, no
    duplicate ids, no creation date after the snapshot) and stored byte for byte with a
    manifest. Every dump is checked before any is stored: if one fails, nothing is written.
    """
    from .ingest.dump import import_dump
    from .settings import raw_dir

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
        _fail(exc)


@main.command()
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

    Tables are validated (all failures at once) before anything is written; the folder is
    replaced in one step, so a failed build leaves the previous tables exactly as they were.
    """
    from . import build as b
    from .io import dumps_json
    from .settings import processed_dir, raw_dir
    from .rules.scope import load_scope, model_list_scope

    store, dest = raw_dir(raw), processed_dir(out)
    if models_file and click.get_current_context().get_parameter_source("scope_name").name != "DEFAULT":
        raise click.UsageError("--models replaces the scope preset: give --scope or --models, not both")
    try:
        scope = model_list_scope(models_file) if models_file else load_scope(scope_name, store)
        from .ingest.store import list_snapshots

        b.check_tables_folder(dest)  # a folder that must not be replaced is refused before the work
        n = len(list_snapshots(store))
        with _Bar(n, "reading snapshots") as bar:
            res = b.build_tables(store, registry_file=registry, scope=scope, tolerance_days=tolerance, period=period, progress=bar)
        from .publish.datapackage import descriptor, write_datapackage

        if out is None:  # the project layout: processed/ plus datapackage.json beside it
            b.write_tables(res.tables, dest)
            if datapackage:
                write_datapackage(res, dest)
        else:  # a self-contained folder: the tables and their descriptor, replaced together
            extra = {"datapackage.json": dumps_json(descriptor(res, dest, dest)).encode()} if datapackage else {}
            b.write_tables(res.tables, dest, extra=extra)
        res.out = dest
    except AtomdataError as exc:
        _fail(exc)
    click.echo(res.summary())


@main.command()
@click.option("--processed", type=click.Path(path_type=Path),
              help="Folder of tables (default ./processed; without one, the release shipped with the package).")
def validate(processed):
    """Check existing tables against their schemas and against each other; exit 1 naming every
    problem of every table at once (file, column or key, check, and rows by their line in the file).

    Across tables: primary and foreign keys as datapackage.json declares them, and the totals
    that tie the tables together (downloads by country are the sums of the in-scope models'
    monthly downloads, every derivative in models has its derivatives row, ...)."""
    from .settings import processed_dir, release_dir
    from .integrity import validate_folder

    folder = processed_dir(processed)
    if processed is None and not folder.exists() and (release_dir() / "processed").is_dir():
        folder = release_dir() / "processed"  # outside a project folder: the shipped release, as `figures` and `release` do
    if not folder.is_dir():
        _fail(AtomdataError(f"{folder}: no such folder of tables"))
    try:
        tables = validate_folder(folder)
    except AtomdataError as exc:
        _fail(exc)
    click.echo(f"{folder}: {len(tables)} tables valid ({', '.join(tables)})")


from .ingest.archive_cli import archive as _archive_cmd  # noqa: E402
from .ingest.hub_cli import hub as _hub_cmd  # noqa: E402
from .publish.commands import figures as _figures_cmd, release as _release_cmd  # noqa: E402

ingest.add_command(_hub_cmd)
ingest.add_command(_archive_cmd)

main.add_command(_figures_cmd)
main.add_command(_release_cmd)


if __name__ == "__main__":  # pragma: no cover
    main()
