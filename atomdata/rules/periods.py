"""Periods of the download tables: calendar months, ISO weeks (Monday to Monday) or quarters.

A period runs from one boundary to the next; a month is labelled ``YYYY-MM``, a week
``YYYY-Www``, a quarter ``YYYY-Qn``.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ..vocab import PERIODS



def period_starts(first: dt.date, last: dt.date, period: str = "month") -> list[dt.date]:
    """Every period boundary from the one at or before ``first`` to the one after ``last``."""
    if period == "month":
        freq, start = "MS", dt.date(first.year, first.month, 1)
    elif period == "quarter":
        freq, start = "QS", dt.date(first.year, 3 * ((first.month - 1) // 3) + 1, 1)
    elif period == "week":
        freq, start = "W-MON", first - dt.timedelta(days=first.weekday())
    else:
        raise ValueError(f"unknown period {period!r}; choose one of {PERIODS}")
    rng = pd.date_range(start, pd.Timestamp(last) + pd.offsets.DateOffset(days=100), freq=freq)
    out = [d.date() for d in rng]
    # keep one boundary past the last reading
    return [d for i, d in enumerate(out) if i == 0 or out[i - 1] <= last]


def measured_starts(first: dt.date, last: dt.date, period: str, tolerance_days: int) -> tuple[list[dt.date], str | None]:
    """The boundaries to measure, and the label of a period added before the first one (else None).

    :func:`period_starts` begins at the boundary at or before the first snapshot. When that
    snapshot lies within the tolerance of a month boundary, its 30-day counters also measure the
    month that ends there (``rolling_30d``): that month is added. Where nothing measures it,
    it is not reported as unmeasured either (it was not asked for)."""
    bounds = period_starts(first, last, period)
    if period != "month" or not bounds or (first - bounds[0]).days > tolerance_days:
        return bounds, None
    before = (pd.Timestamp(bounds[0]) - pd.offsets.MonthBegin(1)).date()
    return [before] + bounds, period_label(before, period)


def asked(unmeasured: list[dict], added: str | None) -> pd.DataFrame:
    """The unmeasured periods, less the period :func:`measured_starts` added before the first."""
    return pd.DataFrame([u for u in unmeasured if u["period"] != added], columns=["period", "detail"])


def month_of(dates: pd.Series) -> pd.Series:
    """``YYYY-MM`` of each date (missing where the date is), formatted once per distinct month:
    a derivatives table repeats a few hundred months over millions of rows."""
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)  # the local wall time, as strftime reads it
    months = dates.to_numpy().astype("datetime64[M]")
    uniq, inv = np.unique(months, return_inverse=True)
    labels = pd.DatetimeIndex(uniq).strftime("%Y-%m")
    return pd.Series(pd.array(labels, dtype="string").take(inv.reshape(-1)) if len(dates) else pd.array([], dtype="string"),
                     index=dates.index, dtype="string")


def period_label(start: dt.date, period: str = "month") -> str:
    if period == "month":
        return f"{start.year:04d}-{start.month:02d}"
    if period == "quarter":
        return f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"
    iso = start.isocalendar()
    return f"{iso[0]:04d}-W{iso[1]:02d}"
