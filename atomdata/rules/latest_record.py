"""The latest record of a model, field by field.

A model's attributes are those of its latest record: its row in the newest snapshot that lists
it. A snapshot can lack a field altogether (an ids-and-counters listing, a trending listing with
no ``baseModels``); a missing field says nothing about a model, so for each group of fields the
values come from the newest snapshot that lists the model **and has the field**. Read at face
value, such a snapshot would make every derivative first-party and erase every pipeline.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..issues import issue

#: the Hub fields that give the declared bases (``records.base_edges``): either will do
LINEAGE_FIELDS = ("baseModels", "tags")
#: the latest record's columns that come from Hub fields a snapshot may lack, by those fields (any
#: one of them will do): a snapshot without them says nothing about these columns
FIELD_COLUMNS = {
    ("createdAt",): ("created_at",),
    ("pipeline_tag",): ("pipeline_tag",),
    ("library_name",): ("library_name",),
    ("tags",): ("license", "model_type"),
    ("safetensors",): ("params",),
    LINEAGE_FIELDS: ("relation", "base_id", "n_bases"),  # and the base edges
}


class FieldGaps:
    """The groups of fields some main snapshots lack, and for each model the last main snapshot
    that has them (-1: none): the snapshot its values of those fields come from."""

    def __init__(self, main: list[str], fields: dict[str, set], codes, n_models: int):
        """``codes(name)``: the model codes of main snapshot ``name``'s records."""
        self.main = main
        self.groups = {}  # fields -> (which snapshots have them, last such snapshot of each model)
        for group in FIELD_COLUMNS:
            has = [bool(fields[n] & set(group)) for n in main]
            if any(has) and not all(has):
                last = np.full(n_models, -1, dtype=np.int32)
                for j, name in enumerate(main):
                    if has[j]:
                        last[codes(name)] = j
                self.groups[group] = (has, last)
        self.pieces = {group: [] for group in self.groups}  # (values, codes) taken from earlier snapshots

    def last_with_lineage(self, last_k: np.ndarray) -> np.ndarray:
        """The snapshot each model's base edges come from."""
        return self.groups[LINEAGE_FIELDS][1] if LINEAGE_FIELDS in self.groups else last_k

    def take(self, k: int, records: pd.DataFrame, codes: np.ndarray, last_k: np.ndarray) -> None:
        """Main snapshot ``k``'s values for the models whose latest record lacks a group of fields
        and whose last snapshot with them is this one."""
        for group, (has, last) in self.groups.items():
            if has[k]:
                keep = (last[codes] == k) & (last_k[codes] != k)
                if keep.any():
                    self.pieces[group].append(records.loc[keep, list(FIELD_COLUMNS[group])].assign(_code=codes[keep]))

    def fill(self, latest: pd.DataFrame, last_k: np.ndarray, n_models: int) -> pd.DataFrame:
        """Write the values taken into ``latest`` (rows with ``_code``); return the
        ``snapshot_lacks_fields`` issues."""
        n_latest = np.bincount(last_k, minlength=len(self.main))  # models whose latest record each snapshot holds
        row_of = np.empty(n_models, dtype=np.int64)
        row_of[latest["_code"].to_numpy()] = np.arange(len(latest))
        found = []
        for group, pieces in self.pieces.items():
            filled = np.zeros(len(self.main), dtype=np.int64)  # models given the fields, by their latest snapshot
            if pieces:
                vals = pd.concat(pieces, ignore_index=True)
                at = vals["_code"].to_numpy()
                filled = np.bincount(last_k[at], minlength=len(self.main))
                for c in FIELD_COLUMNS[group]:
                    col = latest[c].copy()
                    col.iloc[row_of[at]] = vals[c].array
                    latest[c] = col
            found.append(self._issues(group, n_latest, filled))
        self.pieces = {}
        return pd.concat(found, ignore_index=True) if found else issue("snapshot_lacks_fields", [], [])

    def _issues(self, group, n_latest: np.ndarray, filled: np.ndarray) -> pd.DataFrame:
        has = self.groups[group][0]
        js = [j for j in range(len(self.main)) if not has[j] and n_latest[j]]
        cols = ", ".join(FIELD_COLUMNS[group])
        return issue("snapshot_lacks_fields", snapshot=[self.main[j] for j in js], value=[float(n_latest[j]) for j in js],
                     detail=[f"no {' or '.join(group)} field: of the {n_latest[j]} models whose latest record this is, "
                             f"{filled[j]} take {cols} from their latest earlier snapshot with it" for j in js],
                     action="a missing field is not read as missing values: the latest snapshot that has it is used; "
                            "models in no such snapshot have none")
