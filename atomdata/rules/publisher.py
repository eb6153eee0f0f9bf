"""Who published a model: the rule of first-party models, and of derivatives relative to their root.

An organization's first-party models are everything it publishes under its own namespace (base,
instruct, chat, reasoning, official quantized and precision variants), whatever base they
declare: ``Qwen/Qwen3-8B`` (base ``Qwen/Qwen3-8B-Base``) is Qwen's, and
``deepseek-ai/DeepSeek-R1-Distill-Qwen-32B`` (root Qwen) is DeepSeek's. A model of a namespace the
registry does not know is first-party only when it declares no base.

Derivative shares measure what *others* build on a base (the ATOM Project's "derivatives"): they
count the derivatives published by another registry organization or by the community, never an
organization's own releases built on its own base (``COUNTED``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .organizations import attribute
from ..vocab import COUNTED_PUBLISHERS as COUNTED
from ..vocab import PUBLISHERS
from .ids import namespace


def first_party(registry_org: pd.Series, base_id: pd.Series) -> pd.Series:
    """A registry organization's own release (any model under its namespace), or a model of any
    other namespace that declares no base."""
    return (registry_org.notna() | base_id.isna()).astype(bool)


def publisher(model_id: pd.Series, root_org: pd.Series, registry: pd.DataFrame) -> pd.Series:
    """``same_org`` (published by the registry organization of the root), ``other_org`` (by
    another registry organization) or ``community`` (by a namespace the registry does not know)."""
    own = attribute(namespace(model_id.astype("string")), registry)["registry_org"]
    root = attribute(root_org.astype("string"), registry)["registry_org"]
    same = (own == root).fillna(False).to_numpy(dtype=bool)
    kind = np.select([same, own.notna().to_numpy(dtype=bool)], PUBLISHERS[:2], PUBLISHERS[2])
    return pd.Series(kind, index=model_id.index, dtype="string")


def counted(derivs: pd.DataFrame) -> pd.Series:
    """The rows of the ``derivatives`` table that derivative shares count (``COUNTED``)."""
    return derivs["publisher"].isin(COUNTED).astype(bool)
