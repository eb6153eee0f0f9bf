"""``atomdata ingest hub``: the click command for live Hub ingestion (wired in ``atomdata.cli``).

Wire it with ``ingest.add_command(hub)``; ``python -m atomdata.commands.ingest_hub`` runs it alone.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..settings import raw_dir
from .common import ending, hub_options, retry_options, token_from
from .progress import Bar, for_stderr


class _Listings:
    """ingest hub's progress callbacks (``hub.Progress``) on a shared bar: listings done, with
    pages, models and retries in its status."""

    def __init__(self, bar: Bar):
        self.bar = bar

    def listings(self, total):
        self.bar.total(total)

    @staticmethod
    def _status(stats):
        return f"{stats.pages} pages, {stats.models} models, {stats.retries} retries"

    def page(self, listing, rows, stats):
        self.bar.advance(0, self._status(stats))

    def listing_done(self, listing, stats):
        self.bar.advance(1, self._status(stats))

    def wait(self, why, seconds):
        self.bar.wait(why, seconds)

    def close(self):
        self.bar.close()


@click.command("hub")
@click.option("--date", help="Snapshot date YYYY-MM-DD (default: today, UTC).")
@click.option("--raw", type=click.Path(path_type=Path), help="Snapshot store (default $ATOMDATA_RAW or ./raw).")
@click.option("--mode", type=click.Choice(["first-party", "full"]), default="first-party", show_default=True,
              help="first-party: registry organizations and their derivatives; full: every model on the Hub.")
@click.option("--trending", type=click.IntRange(1, None), metavar="N",
              help="Instead: list only the current top N models by trending score (snapshot DATE-trending).")
@click.option("--orgs", "orgs_file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="CSV with an 'org' column (default: the organization registry).")
@click.option("--depth", default=1, show_default=True, type=click.IntRange(0, 10),
              help="first-party mode: levels of derivatives to list (0: none, 1: models based on a first-party model, ...).")
@click.option("--ancestors", "ancestors", default=0, show_default=True, type=click.IntRange(0, None), metavar="N",
              help="After the listing, fetch the declared bases it lacks, up each chain, with at most N requests "
                   "(one per base; 0: off), and add them to the snapshot so `atomdata build` follows complete chains. "
                   "Answers are cached in RAW/.cache/lineage-cache.json. Not with --trending.")
@click.option("--suffix", help="Name suffix: snapshot YYYY-MM-DD-SUFFIX (default: none; 'trending' with --trending).")
@click.option("--resume", is_flag=True, help="Continue an interrupted run for the same snapshot (starts afresh if there is none).")
@hub_options
@click.option("--max-requests", default=20000, show_default=True, type=click.IntRange(1, None),
              help="Stop (resumably) after this many HTTP requests in total, counting those of the run being resumed.")
@click.option("--page-size", default=1000, show_default=True, type=click.IntRange(1, 1000), help="Models per page.")
@retry_options(per="page")
@click.option("--timeout", default=60.0, show_default=True, type=click.FloatRange(0.01, None), help="Seconds per request.")
@click.option("--license", "license_", help="Licence of the listed metadata (recorded in the manifest).")
def hub(date, raw, mode, trending, orgs_file, depth, ancestors, suffix, resume, token_env, endpoint, max_requests, page_size,
        retries, backoff, max_retry_after, timeout, license_):
    """List models from the Hugging Face Hub API into a dated snapshot.

    first-party mode lists every model of every registry organization, then every model whose
    declared base is one of them (DEPTH levels down the model tree); full mode lists the whole
    Hub; --trending N lists the current top N by trending score. With --ancestors N the declared
    bases the listing lacks (re-uploads, fine-tunes of other namespaces, deleted models) are then
    looked up, at most N requests, and stored in the same snapshot; the manifest records the ids
    found, missing and not fetched. Pages are checkpointed: after
    a crash, Ctrl-C or a rate-limit stop, re-run with --resume. The snapshot appears only when
    complete and an existing one is never overwritten.
    """
    from ..ingest import hub as h  # pyarrow and pandas: loaded when the command runs, not for --help

    token = token_from(token_env)
    if trending is not None and mode == "full":
        raise click.UsageError("--trending is its own listing; do not combine it with --mode full")
    if trending is not None and ancestors:
        raise click.UsageError("--ancestors completes model trees; a --trending listing is a top N, not a tree")
    date = date or dt.datetime.now(dt.timezone.utc).date().isoformat()
    if trending is not None:
        mode = "trending"
        suffix = suffix or "trending"
    store = raw_dir(raw)
    bar = _Listings(for_stderr("listing the Hub"))
    with ending(bar, "the pages listed and the ancestors fetched so far are kept; re-run with --resume to continue"):
        orgs: list[str] = []
        if mode == "first-party":
            if orgs_file:
                orgs = h.read_orgs_file(orgs_file)
            else:
                from ..rules.organizations import load_registry

                orgs = load_registry()["org"].tolist()
        query = h.Query(mode=mode, orgs=orgs, depth=depth, trending=trending, page_size=page_size, endpoint=endpoint)
        policy = h.RetryPolicy(max_retries=retries, backoff=backoff, max_retry_after=max_retry_after, timeout=timeout)
        res = h.ingest(store, date, query, token=token, suffix=suffix, resume=resume, policy=policy,
                       max_requests=max_requests, license=license_, progress=bar, ancestors=ancestors)
    click.echo(res.summary())


if __name__ == "__main__":  # pragma: no cover
    hub(prog_name="atomdata ingest hub")
