"""The derivative tables: ``derivatives`` (every model that declares a base, its declared root and
its attribution with inference), ``derivatives_by_country`` and ``derivatives_by_root_org``."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..rules import inference, lineage, publisher
from ..rules.ids import take
from ..rules.organizations import attribute
from .claims import derivatives_by_root_org
from .shares import derivatives_by_country
from .step import Built


def _declared(latest: pd.DataFrame, registry: pd.DataFrame) -> pd.DataFrame:
    """One row per model that declares a base: its declared root (``rules.lineage``) and who
    published it relative to that root (``rules.publisher``), in model id order; ``_row`` and
    ``_root_row``: the rows of the model and of its root in ``latest`` (-1: none)."""
    roots = lineage.resolve(latest[["model_id", "base_id"]])
    ratt = attribute(roots["root_org"], registry)
    # each derivative's row in ``latest``: resolve keeps the rows with a declared base, in order
    at = np.flatnonzero(latest["base_id"].notna().to_numpy())
    assert len(at) == len(roots)
    return pd.DataFrame({
        "model_id": roots["model_id"],
        "created_at": take(latest["created_at"], at, roots.index).dt.normalize(),
        "relation": take(latest["relation"], at, roots.index),
        "base_model_id": take(latest["base_id"], at, roots.index),
        "n_bases": take(latest["n_bases"], at, roots.index).astype("Int64"),
        "root_model_id": roots["root_model_id"],
        "root_org": roots["root_org"],
        "root_country": ratt["country"],
        "root_region": ratt["region"],
        "publisher": publisher.publisher(roots["model_id"], roots["root_org"], registry),
        "depth": roots["depth"],
        "lineage_status": roots["lineage_status"],
        "_row": at,
        "_root_row": roots["root_row"].to_numpy(),
    }).take(np.argsort(latest["id_rank"].to_numpy()[at], kind="stable")).reset_index(drop=True)  # in id order


def _inference_frame(derivs: pd.DataFrame, latest: pd.DataFrame, rows: np.ndarray, root_rows: np.ndarray) -> pd.DataFrame:
    """What the inference rules read of each derivative: its id, declared root and the model-type
    tags of both, taken from their rows in ``latest`` (``rows``, ``root_rows``: -1 for none)."""
    mtype = latest["model_type"]
    return pd.DataFrame({"model_id": derivs["model_id"], "root_model_id": derivs["root_model_id"],
                         "model_type": take(mtype, rows, derivs.index), "root_model_type": take(mtype, root_rows, derivs.index)})


def build_derivatives(latest, edges, registry, mirrors, architectures) -> Built:
    """``derivatives`` with the attribution beyond the declared chain (``rules.inference``), and
    the lineage rows of data_quality; for ``derivative_checks``: ``known_index`` (the known models
    of registry organizations by name, ``inference.known_model_index``) and ``derivative_rows``
    (the rows in ``latest`` of each derivative and of its root)."""
    derivs = _declared(latest, registry)
    rows = (derivs.pop("_row").to_numpy(), derivs.pop("_root_row").to_numpy())
    iframe = _inference_frame(derivs, latest, *rows)
    known_ids = pd.concat([latest["model_id"], edges["base_id"]], ignore_index=True)  # every model named anywhere
    index = inference.known_model_index(known_ids, registry, mirrors)
    derivs = pd.concat([derivs, inference.infer(iframe, registry, known_ids, mirrors, architectures, index=index)], axis=1)
    return Built(derivs, lineage.issues(derivs), items={"known_index": index, "derivative_rows": rows})


def build_derivative_checks(derivatives, latest, edges, main_codes, ids, registry, mirrors, architectures, known_index,
                            derivative_rows) -> Built:
    """The data_quality rows of the derivatives that no table waits for, made beside the tables:
    merges whose roots lie in several regions, the held-out accuracy of the inference rules, and
    the share of each snapshot's derivatives attributed by each rule."""
    held_out = inference.held_out(_inference_frame(derivatives, latest, *derivative_rows), registry, None, mirrors, architectures,
                                  truth=derivatives, index=known_index)[1]
    counts = inference.attribution_counts(derivatives, ids, main_codes)
    return Built(None, [lineage.merge_issues(edges, derivatives, registry)] + inference.quality_rows(counts, held_out))


def build_derivatives_by_country(derivatives: pd.DataFrame) -> Built:
    return Built(derivatives_by_country(derivatives))


def build_derivatives_by_root_org(derivatives: pd.DataFrame, registry: pd.DataFrame) -> Built:
    return Built(derivatives_by_root_org(derivatives, registry))
