"""Share tables: downloads and new derivatives by country and region."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..vocab import REGIONS
from ..rules.ids import first_rows, positions, take
from ..rules.periods import month_of
from ..rules.publisher import counted

def region_shares(df: pd.DataFrame | None, by: str, count: str) -> tuple[pd.DataFrame, pd.Series]:
    """``by`` (month, or one overall row) x region shares of ``count``, regions in ``REGIONS`` order,
    and the totals they divide by; rows whose total is 0 are left out (both empty for no rows)."""
    if df is None or df.empty:
        return pd.DataFrame(columns=REGIONS, dtype="float64"), pd.Series(dtype="float64")
    g = df.groupby([by, "region"])[count].sum().unstack("region", fill_value=0).astype("float64")
    tot = g.sum(axis=1)
    tot = tot[tot > 0]
    g = g.loc[tot.index].div(tot, axis=0)
    return g.reindex(columns=[r for r in REGIONS if r in g.columns]), tot


def with_share(df: pd.DataFrame, by: list[str], count: str) -> pd.DataFrame:
    total = df.groupby(by, dropna=False)[count].transform("sum")
    df["share"] = (df[count] / total.where(total > 0)).fillna(0.0).astype("Float64")
    return df


def inner_join(per_model: pd.DataFrame, table: pd.DataFrame, where=None) -> pd.DataFrame:
    """``per_model.merge(table[where], on="model_id")`` for a ``table`` with unique model ids: the
    rows of ``per_model`` whose model is in ``table`` (and, given a boolean mask ``where``, on one
    of its rows) in their order, with the table's other columns, matched on positions
    (``ids.positions``), not by hashing strings in pandas. Pass the whole ``models`` table and a
    mask rather than a subset: per-model rows coded over the same ids then match without hashing.
    A column both frames hold (besides ``model_id``) is an error: which one wins would be a guess."""
    shared = sorted(set(per_model.columns) & set(table.columns) - {"model_id"})
    if shared:
        raise ValueError(f"inner_join: both frames hold column(s) {', '.join(shared)}; drop or rename one side")
    table = table.reset_index(drop=True)
    at = positions(per_model["model_id"], table["model_id"])
    if where is not None:
        where = np.asarray(where, dtype=bool)
        at = np.where((at >= 0) & where[np.maximum(at, 0)], at, -1) if len(where) else np.full(len(at), -1)
    out = per_model[at >= 0].reset_index(drop=True)
    rows = at[at >= 0]
    for c in table.columns.drop("model_id"):
        col = table[c]
        if pd.api.types.is_string_dtype(col.dtype) and not isinstance(col.dtype, pd.CategoricalDtype):
            # text as a categorical: one code per row instead of one string (per-model tables are models x months)
            codes, uniq = pd.factorize(col if where is None else col.where(where), sort=True)
            out[c] = pd.Categorical.from_codes(codes[rows], categories=pd.Index(uniq, dtype="string"))
        else:
            out[c] = take(col, rows).array
    return out


class Cells:
    """Per-model rows (month, model_id, values) coded once against the rows of ``models``, so that
    sums by month and any model-level grouping add integer-coded rows into (month, group) cells
    instead of grouping millions of rows by text.

    ``sums`` gives what ``inner_join(per_model, table, where).groupby(["month", *columns],
    dropna=False, sort=True)`` gives with ``sum`` of each value column (missing values add 0, as
    pandas' ``sum`` skips them) and ``size``: one row per (month, group) holding at least one row.
    """

    #: rows per slice when adding rows into cells
    CHUNK = 1 << 22
    #: combinations of groups ``sums_of`` numbers as classes of models in one int64 (beyond: a pass per grouping)
    MAX_CLASSES = 2**62

    def __init__(self, per_model: pd.DataFrame, models: pd.DataFrame, values=("downloads",)):
        self.models = models.reset_index(drop=True)
        at = positions(per_model["model_id"], self.models["model_id"])
        month = per_model["month"]
        mcode, self.months = (month.cat.codes.to_numpy(), month.cat.categories) if isinstance(month.dtype, pd.CategoricalDtype) \
            else pd.factorize(month)
        ok = (at >= 0) & (mcode >= 0)
        rows = slice(None) if ok.all() else np.flatnonzero(ok)  # every row counts, as a rule: no copies then
        self.model_row, self.month = at[rows].astype(np.int32 if len(self.models) < 2**31 else np.int64), mcode[rows]
        self.names, self.values = tuple(values), {}
        for v in values:
            col = per_model[v]
            a = col.array if isinstance(col.dtype, pd.Int64Dtype) else pd.array(col, dtype="Int64")  # no copy when typed
            vals = a._data if not a._mask.any() else a.to_numpy(dtype=np.int64, na_value=0)  # the values, not a copy
            self.values[v] = vals[rows]

    def chunks(self):
        """(month codes, rows of ``models``, values by name) of the rows, a slice at a time (a row
        of no model: -1; a slice of one month may give its code as a number)."""
        for a in range(0, len(self.month), self.CHUNK):
            s = slice(a, a + self.CHUNK)
            yield self.month[s], self.model_row[s], {name: v[s] for name, v in self.values.items()}

    def sums(self, table: pd.DataFrame, where=None) -> pd.DataFrame:
        """``table``: grouping columns aligned with the rows of ``models``; ``where``: a boolean mask
        over them (None: every model). Returns month, the grouping columns, each value's sum and
        ``n_rows``, sorted by month and group (missing keys last)."""
        return self.sums_of([(table, where)])[0]

    def sums_of(self, groupings: list) -> list[pd.DataFrame]:
        """``sums(table, where)`` of each (table, where) of ``groupings``, in one pass over the rows:
        the rows are added into cells of (month, class of models alike in every grouping), and
        each grouping's cells are sums of those (a few thousand classes, not millions of rows)."""
        groups, tables = [], []
        for table, where in groupings:
            table = table.reset_index(drop=True)
            cols = list(table.columns)
            group = table.groupby(cols, dropna=False, sort=False).ngroup().to_numpy() if cols else np.zeros(len(table), dtype=np.int64)
            if where is not None:
                group = np.where(np.asarray(where, dtype=bool), group, -1)
            groups.append(group)
            tables.append(table)
        # each model's class: its group in every grouping (0: left out of all)
        key, span = np.zeros(len(self.models), dtype=np.int64), 1
        for group in groups:
            n = int(group.max(initial=-1)) + 2
            if span * n > self.MAX_CLASSES:  # too many combinations to number: one pass per grouping
                return [out for g in groupings for out in self.sums_of([g])]
            key, span = key * n + (group + 1), span * n
        cls, uniq = pd.factorize(key)
        n_cls = len(uniq) + 1
        cell_of = np.zeros(len(self.models) + 1, dtype=np.int64)  # by model row; the last: a row of no model
        cell_of[:-1] = np.where(key > 0, cls + 1, 0)  # 0: left out of every grouping
        count, totals = self._add(cell_of, n_cls)
        hit = np.flatnonzero(count)
        month, c = hit // n_cls, hit % n_cls
        model_of = first_rows(cell_of[:-1], n_cls)[c]  # a model of each class hit, for its groups
        return [self._by_group(table, group, month, group[model_of], count[hit], {k: v[hit] for k, v in totals.items()})
                for table, group in zip(tables, groups)]

    def _add(self, cell_of: np.ndarray, width: int) -> tuple[np.ndarray, dict]:
        """Rows and value sums of each (month, cell) cell, ``cell_of`` the cell of each row of
        ``models`` (0: left out) and of a row of no model (its last entry), flat by month."""
        size = len(self.months) * width
        count = np.zeros(size, dtype=np.int64)
        totals = {name: np.zeros(size, dtype=np.int64) for name in self.names}
        # a slice of rows at a time: the cells (and the float weights bincount makes) of a few million rows only
        for month, model_row, values in self.chunks():
            if np.ndim(month) == 0:  # a slice of one month: into that month's cells only
                at, cell, n = slice(int(month) * width, (int(month) + 1) * width), cell_of[model_row], width
            else:
                at, cell, n = slice(None), month.astype(np.int64) * width + cell_of[model_row], size
            count[at] += np.bincount(cell, minlength=n)
            for name, v in values.items():
                totals[name][at] += _exact_sums(cell, v, n)
        count[::width] = 0  # the rows left out
        return count, totals

    def _by_group(self, table: pd.DataFrame, group: np.ndarray, month: np.ndarray, cell_group: np.ndarray,
                  count: np.ndarray, totals: dict) -> pd.DataFrame:
        """One grouping's (month, group) rows from the cells of its classes (``month``,
        ``cell_group``: each cell's month and group, -1 left out; ``count``, ``totals``: its sums)."""
        cols = list(table.columns)
        n_groups = max(int(group.max(initial=-1)) + 1, 1)
        keep = cell_group >= 0
        cell = month[keep] * n_groups + cell_group[keep]
        size = len(self.months) * n_groups
        n_rows = np.bincount(cell, weights=count[keep], minlength=size) if len(cell) else np.zeros(size)
        hit = np.flatnonzero(n_rows)
        first = first_rows(group, n_groups)  # a row of each group, for its values
        out = table.iloc[first[hit % n_groups]].reset_index(drop=True)
        out.insert(0, "month", pd.array(np.asarray(self.months, dtype=object)[hit // n_groups], dtype="string"))
        for name, total in totals.items():
            out[name] = pd.array(_exact_sums(cell, total[keep], size)[hit], dtype="Int64")
        out["n_rows"] = pd.array(np.rint(n_rows[hit]).astype(np.int64), dtype="Int64")
        # categorical columns sort in their categories' order (as a group-by on them does), then become text
        out = out.sort_values(["month", *cols], na_position="last", kind="stable").reset_index(drop=True)
        for c in cols:
            if isinstance(out[c].dtype, pd.CategoricalDtype):
                out[c] = out[c].astype(out[c].dtype.categories.dtype)
        return out


def _exact_sums(cell: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Integer sums of ``values`` by ``cell``, exactly: added in floats (``bincount``) where every
    partial sum stays exact (their absolute total below 2**51, a margin of 2x as that total is
    itself added in floats), else one by one in integers."""
    if float(np.abs(values).sum(dtype=np.float64)) < 2**51:
        return np.rint(np.bincount(cell, weights=values, minlength=size)).astype(np.int64)
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, cell, values)
    return out


class MonthCells(Cells):
    """``Cells`` of the per-model monthly table kept in the workspace (``workspace.MonthlyTable``),
    read a month at a time from its arrays: no frame of the table is made, and what is held does
    not grow with the months."""

    def __init__(self, table, models: pd.DataFrame, values=("downloads",)):
        self.models, self.table, self.names = models.reset_index(drop=True), table, tuple(values)
        self.months = pd.Index(sorted(table.labels), dtype="string")
        self.month_of = self.months.get_indexer(table.labels)
        every = pd.Series(pd.Categorical.from_codes(np.arange(len(table.ids.categories)), dtype=table.ids))
        self.row_of = positions(every, self.models["model_id"])  # the model (row of ``models``) of each code

    def chunks(self):
        for i, month in enumerate(self.month_of):
            yield month, self.row_of[self.table.model_codes(i)], {name: self.table.counts(i, name) for name in self.names}


def cells_of(per_model, models: pd.DataFrame, values=("downloads",)) -> Cells:
    """``Cells`` of per-model monthly rows: a frame, or the monthly table kept in the workspace
    (read a month at a time)."""
    from .workspace import MonthlyTable

    if isinstance(per_model, MonthlyTable):
        return MonthCells(per_model, models, values) if per_model.labels else Cells(per_model.to_frame(), models, values)
    return Cells(per_model, models, values)


#: the values of the monthly rows ``downloads_by_country`` sums
COUNTRY_VALUES = ("downloads", "all_time_end")


def downloads_by_country(monthly, models: pd.DataFrame, scope) -> pd.DataFrame:
    """Downloads, share and cumulative downloads per month and country of the models in ``scope``
    (a ``rules.scope.Scope``); ``monthly``: the per-model monthly rows (a frame, or the table kept
    a month at a time)."""
    cells = cells_of(monthly, models, values=COUNTRY_VALUES)
    return by_country(cells.sums(*country_grouping(cells.models, scope)), scope)


def country_grouping(models: pd.DataFrame, scope) -> tuple[pd.DataFrame, np.ndarray]:
    """(grouping, mask) of ``downloads_by_country`` for ``Cells.sums`` (``models``: the cells')."""
    return models[["country", "region"]], scope.mask(models)


def by_country(g: pd.DataFrame, scope) -> pd.DataFrame:
    """``downloads_by_country`` from the sums of its grouping (``country_grouping``)."""
    g = g.rename(columns={"all_time_end": "cumulative_downloads", "n_rows": "n_models"})
    g = with_share(g, ["month"], "downloads")
    g["scope"] = scope.describe()
    cols = ["month", "country", "region", "downloads", "share", "cumulative_downloads", "n_models", "scope"]
    return g[cols].sort_values(["month", "region", "country"], na_position="last", kind="stable").reset_index(drop=True)


#: lineage -> (country, region) columns of the derivatives table it counts by
LINEAGE_COLUMNS = {"declared": ("root_country", "root_region"), "with_inference": ("attributed_country", "attributed_region")}


def derivatives_by_country(derivs: pd.DataFrame) -> pd.DataFrame:
    """New derivatives per month, root region and relation, once per lineage (declared; with
    inference): those others built on a base (``publisher.counted``), not an organization's own."""
    d = derivs[derivs["created_at"].notna() & counted(derivs)].copy()
    d["month"] = month_of(d["created_at"])
    parts = []
    for lin, (country, region) in LINEAGE_COLUMNS.items():
        if region not in d:
            continue
        g = (d.groupby(["month", country, region, "relation"], dropna=False, sort=True)
             .size().rename("new_derivatives").reset_index()
             .rename(columns={country: "country", region: "region"}))
        g = with_share(g, ["month", "relation"], "new_derivatives")
        g.insert(0, "lineage", lin)
        parts.append(g)
    g = pd.concat(parts, ignore_index=True)
    cols = ["lineage", "month", "country", "region", "relation", "new_derivatives", "share"]
    return g[cols].sort_values(["lineage", "month", "relation", "region", "country"], na_position="last", kind="stable").reset_index(drop=True)
