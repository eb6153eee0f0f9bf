"""``atomdata figures`` and ``atomdata release`` (click commands; wired into ``atomdata.cli.main``).

This module imports click only; matplotlib and the release code load when a command runs, so
``atomdata.cli`` can import it without slowing ``import atomdata`` or other commands.
"""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import AtomdataError

FORMATS = ("png", "svg", "pdf")  # = atomdata.publish.figures.FORMATS, repeated to keep matplotlib unimported


def _default_processed(option) -> Path:
    """``--processed``, else ``processed/`` of the project, else the release shipped in the package."""
    from ..settings import processed_dir, release_dir

    if option:
        return Path(option)
    here = processed_dir()
    if here.is_dir() and any(here.glob("*.csv")):
        return here
    shipped = release_dir() / "processed"
    return shipped if shipped.is_dir() else here


def _size(n: int) -> str:
    return f"{n / 1024:.0f} KiB" if n >= 1024 else f"{n} B"


@click.command("figures")
@click.option("--processed", type=click.Path(path_type=Path, file_okay=False),
              help="Folder of tables (default ./processed, else the release shipped with the package).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), help="Folder for the figures (default ./figures).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="png", show_default=True, help="File format.")
def figures(processed, out, fmt):
    """Regenerate the reference figures from the tables.

    Cumulative downloads by region, monthly download share by region, share of new derivatives
    by root region, top organizations in the latest month, derivatives by relation for the top
    base-model organizations, downloads by size bucket and region, adoption momentum of recent
    releases, the trending leaderboard by region, cumulative derivatives of the five largest root
    organizations. Each carries the data version, a source line and the scope of the models it
    counts; measured months give their window. Same tables, same bytes (SVG and PDF carry no
    dates). Files are written atomically; other files in the folder are left alone.
    """
    from ..settings import figures_dir
    from ..publish.figures import make_figures

    src, dest = _default_processed(processed), figures_dir(out)
    try:
        paths = make_figures(src, dest, fmt)
    except AtomdataError as exc:
        raise click.ClickException(str(exc)) from None
    for p in paths:
        click.echo(f"{p}: {_size(p.stat().st_size)}")


@click.command("release")
@click.option("--processed", type=click.Path(path_type=Path, file_okay=False),
              help="Folder of tables (default ./processed, else the shipped release); "
                   "datapackage.json is read from the folder above it.")
@click.option("--figures", "figures_", type=click.Path(path_type=Path, file_okay=False),
              help="Folder of figures to ship (default: render PNG and SVG from the tables, so they always match).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("dist"), show_default=True,
              help="Folder for the zip; an older release zip there is what the CHANGELOG compares with.")
def release(processed, figures_, out):
    """Build the downloadable zip: tables, datapackage.json, figures, README, CHANGELOG, licences.

    The zip (atomdata-<data version>.zip) unpacks into a self-contained Frictionless data package
    (every file its datapackage.json names is inside); its README says how to load the tables
    (pandas, R, DuckDB) and holds the data dictionary generated from the schemas, the
    methodology, how to cite this data version, and the licences (LICENSE, LICENSE-DATA, NOTICE,
    CITATION.cff travel with it); its CHANGELOG states what changed since the previous release
    zip in --out (months added, regional shares that moved by more than one percentage point).
    Tables that fail their schemas or disagree with each other (keys, totals; see `atomdata
    validate`) are refused and nothing is written. The same inputs give the same zip, byte for byte.
    """
    import zipfile

    from ..publish.release import make_release

    try:
        path = make_release(_default_processed(processed), out, figures_dir=figures_)
    except AtomdataError as exc:
        raise click.ClickException(str(exc)) from None
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            click.echo(f"  {info.filename}: {_size(info.file_size)}")
        n = len(zf.infolist())
    click.echo(f"{path}: {n} files, {_size(path.stat().st_size)}")
