"""What a figure must say about its numbers, read from the tables (never written into the code):
the window each measured month was measured over, and which models a chart counts (its scope).

- ``month_windows(model_downloads_monthly)``: per month, the boundary snapshots most of its
  downloads were measured between, their dates (a snapshot's name begins with its date) and the
  number of days between them, against the days of the calendar month;
- ``measured_months(months, windows)``: how a series chart says which months it measures, and
  marks those measured over a window other than the calendar month;
- ``table_scope(table)``: the ``scope`` column of a table, as one line; ``derivatives_scope``: the
  scope of the charts that count derivative repos (their tables have no scope column: they hold
  every derivative others built on a base that the snapshots show).

Pure pandas: no matplotlib here.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

#: the days a ``rolling_30d`` row counts, before its end snapshot
ROLLING_DAYS = 30
#: how many off-calendar months a series chart names in its note (the others are marked only)
MAX_NAMED = 3


@dataclass(frozen=True)
class Window:
    """The window of one measured month: from the start boundary's snapshot to the end's."""

    month: str
    start: date
    end: date
    rolling: bool = False  # 30-day counters read at the end boundary, no start snapshot
    share: float = 1.0  # of the month's downloads, those measured between these two snapshots

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def month_days(self) -> int:
        y, m = (int(p) for p in self.month.split("-"))
        return calendar.monthrange(y, m)[1]

    @property
    def is_calendar(self) -> bool:
        """True when the window is the calendar month: from its first day to the next month's."""
        first = date(*(int(p) for p in self.month.split("-")), 1)
        return self.start == first and self.end == first + timedelta(days=self.month_days)

    def span(self) -> str:
        """``2026-07-02 to 2026-08-01, 30 of 31 days`` (the days measured of the calendar month's)."""
        days = (f"{self.days} of {self.month_days} days" if self.days <= self.month_days
                else f"{self.days} days for a {self.month_days}-day month")
        text = f"{self.start:%Y-%m-%d} to {self.end:%Y-%m-%d}, {days}"
        if self.rolling:
            text += f" ({ROLLING_DAYS}-day counters read on {self.end:%Y-%m-%d})"
        if self.share < 0.995:
            text += f"; other boundaries for {1 - self.share:.0%} of the downloads"
        return text


def _snapshot_dates(names: pd.Series) -> pd.Series:
    """A snapshot's name is its date, then an optional suffix (``schemas.SNAPSHOT_RE``)."""
    return pd.to_datetime(names.astype("string").str[:10], format="%Y-%m-%d", errors="coerce")


def month_windows(mdm: pd.DataFrame) -> dict[str, Window]:
    """Per month of ``model_downloads_monthly``: the boundary snapshots that measured the largest part
    of its downloads (ties: the most models, then the earliest snapshots), and that part."""
    if mdm is None or mdm.empty:
        return {}
    end = _snapshot_dates(mdm["end_snapshot"])
    rolling = (mdm["method"].astype("string") == "rolling_30d").fillna(False).to_numpy(dtype=bool)
    start = _snapshot_dates(mdm["start_snapshot"]).mask(rolling, end - pd.Timedelta(days=ROLLING_DAYS))
    d = pd.DataFrame({"month": mdm["month"].astype("string").to_numpy(), "start": start.to_numpy(), "end": end.to_numpy(),
                      "rolling": rolling, "downloads": mdm["downloads"].fillna(0).astype("float64").to_numpy()})
    d = d.dropna(subset=["start", "end"])
    g = d.groupby(["month", "start", "end", "rolling"]).agg(downloads=("downloads", "sum"), models=("downloads", "size")).reset_index()
    g["total"] = g.groupby("month")["downloads"].transform("sum")
    g = g.sort_values(["month", "downloads", "models", "start", "end"], ascending=[True, False, False, True, True], kind="stable")
    out = {}
    for r in g.drop_duplicates("month").itertuples(index=False):
        share = r.downloads / r.total if r.total > 0 else r.models / g.loc[g["month"] == r.month, "models"].sum()
        out[r.month] = Window(r.month, r.start.date(), r.end.date(), bool(r.rolling), float(share))
    return out


def month_label(month: str, windows: dict[str, Window]) -> str:
    """``2026-07 (2026-07-02 to 2026-08-01, 30 of 31 days)``, or the month alone without a window."""
    w = windows.get(month)
    return f"{month} ({w.span()})" if w else month


def measured_months(months: list[str], windows: dict[str, Window]) -> tuple[dict[str, str], str]:
    """The tick label of each month (``*`` after those measured over a window other than the calendar
    month) and the note saying how many months are measured and over which windows."""
    if len(months) == 1:
        w = windows.get(months[0])
        return {}, (f"1 month measured, {months[0]}: {w.span()}" if w
                    else f"1 month measured, {months[0]} (no boundary snapshots in model_downloads_monthly)")
    off = [m for m in months if m in windows and not windows[m].is_calendar]
    text = f"{len(months)} months measured"
    unknown = [m for m in months if m not in windows]
    if off:
        named = "; ".join(f"{m}: {windows[m].span()}" for m in off[:MAX_NAMED])
        more = f"; {len(off) - MAX_NAMED} more (model_downloads_monthly)" if len(off) > MAX_NAMED else ""
        text += f". * measured over a window other than the calendar month: {named}{more}"
    elif not unknown:
        text += ", each from its first day to the next month's"
    if unknown:
        text += f"; no boundary snapshots in model_downloads_monthly for {len(unknown)}"
    return {m: f"{m}*" for m in off}, text


def derivatives_scope(which: str) -> str:
    """The scope of a chart of derivative counts: ``which`` derivatives (e.g. "with a creation date")."""
    return (f"derivative repos others built on a base (another registry organization or the community; an organization's "
            f"own releases on its own base are first-party), seen in any snapshot, any pipeline, {which}; counts of repos, not downloads")


def table_scope(table: pd.DataFrame, fallback: str = "") -> str:
    """The table's ``scope`` column as one line (its distinct values, in order of first row), else ``fallback``."""
    if table is None or "scope" not in table:
        return fallback
    values = list(dict.fromkeys(table["scope"].dropna().astype(str)))
    return " | ".join(values) if values else fallback
