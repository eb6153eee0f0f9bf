"""``atomdata ingest archive``: the click command for backfills (wired in ``atomdata.cli``)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..errors import AtomdataError
from ..ingest.client import RetryingClient, RetryPolicy, check_endpoint
from ..settings import raw_dir
from .common import ending, hub_options, retry_options, token_from
from .progress import for_stderr


def _date(ctx, param, value):
    if value is None:
        return None
    from ..ingest.store import parse_date  # the store reads tables (pandas): loaded when the command runs

    try:
        return parse_date(value, what=f"--{param.name}")
    except AtomdataError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("archive")
@click.option("--since", required=True, callback=_date, metavar="YYYY-MM-DD",
              help="First day of the range: boundaries are the 1st of each month (Mondays, days) from it.")
@click.option("--until", callback=_date, metavar="YYYY-MM-DD", help="Last day of the range, included (default: today, UTC).")
@click.option("--repo", default="cfahlgren1/hub-stats", show_default=True,
              help="Archive dataset: a daily one (models.parquet, early on models.csv, rewritten by a commit a day) "
                   "or a weekly one (models/<YYYY-MM-DD>/models.parquet, e.g. hfmlsoc/hub_weekly_snapshots).")
@click.option("--raw", type=click.Path(path_type=Path), help="Snapshot store (default $ATOMDATA_RAW or ./raw).")
@click.option("--every", type=click.Choice(["month", "week", "day"]), default="month", show_default=True,
              help="Boundaries: the 1st of each month, each Monday, or each day.")
@click.option("--tolerance", default=3, show_default=True, type=click.IntRange(0, 15),
              help="Days an observation may be from its boundary (the build's --tolerance).")
@click.option("--suffix", help="Name suffix: snapshots YYYY-MM-DD-SUFFIX (to keep them beside snapshots of another source).")
@click.option("--listing", type=click.Choice(["full", "sample"]), default="full", show_default=True,
              help="What one archived file lists: the whole Hub (the hub-stats and weekly archives do) or a sample.")
@click.option("--license", "license_", help="Licence of the archive's data (default: the dataset card's).")
@click.option("--resume", is_flag=True, help="Continue a stopped run (the same as running again: stored boundaries are skipped).")
@hub_options
@retry_options(per="request")
def archive(since, until, repo, raw, every, tolerance, suffix, listing, license_, resume, token_env, endpoint, retries,
            backoff, max_retry_after):
    """Backfill dated snapshots from a public archive of Hub dumps.

    For each boundary from --since to --until, stores the archive's observation nearest to it
    within --tolerance days, named by its observation date: for a daily archive the date of the
    commit that first carried the file's bytes (a commit that re-carries an old file is never a
    boundary); for the weekly archive the folder label + 6 days. A boundary with no observation
    near it gets nothing and is said so. Only the columns the build uses are read (HTTP range
    requests into Parquet; CSV files are read whole); the manifest records the archive, commit,
    path and sha256 of the source, the commit time, the observation date and the licence.
    Boundaries already stored are skipped without a request for their data; a stopped run
    continues when run again. Exits 1 listing the boundaries whose file could not be read.
    """
    from ..ingest import archive as a  # pandas and pyarrow: loaded when the command runs, not for --help

    try:
        endpoint = check_endpoint(endpoint)  # an unusable endpoint is one line, before anything is written
    except AtomdataError as exc:
        raise click.ClickException(str(exc)) from None

    token = token_from(token_env)
    until = until or dt.datetime.now(dt.timezone.utc).date()
    if since > until:
        raise click.UsageError(f"--since {since} is after --until {until}")
    bar = for_stderr("boundaries")
    policy = RetryPolicy(max_retries=retries, backoff=backoff, max_retry_after=max_retry_after)
    client = RetryingClient(endpoint, token, policy, on_wait=bar.wait)
    client.resume_hint = "the snapshots stored so far are kept: run the command again to continue"
    opts = a.Options(repo=repo, every=every, tolerance=tolerance, suffix=suffix, license=license_, listing=listing)
    with ending(bar, "the snapshots stored so far are kept; run the command again to continue", client.scrub):
        report = a.backfill(raw_dir(raw), since, until, opts, client, progress=bar,
                            on_outcome=lambda o: click.echo(f"{o.boundary}: {o.message}"))
    click.echo(report.summary())
    failed = [o for o in report.outcomes if o.status == "failed"]
    if failed:
        raise click.ClickException(f"{len(failed)} of {len(report.outcomes)} boundaries failed, nothing stored for them: "
                                   + "; ".join(f"{o.boundary} ({o.message.splitlines()[0]})" for o in failed))


if __name__ == "__main__":  # pragma: no cover
    archive(prog_name="atomdata ingest archive")
