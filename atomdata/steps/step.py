"""The one shape of a build step: named inputs in, a frame (a table, or an item later steps read)
and data_quality rows out."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pandas as pd


@dataclass
class Built:
    """What a step made: ``frame`` (stored under the step's name), ``issues`` (data_quality rows)
    and ``items`` (further named items for later steps)."""

    frame: object = None
    issues: list[pd.DataFrame] = field(default_factory=list)
    items: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """``build(**inputs) -> Built``; ``inputs`` name context items or the frames of earlier steps.
    A step whose name is a table of ``schemas.TABLES`` makes that published table."""

    name: str
    build: Callable[..., Built]
    inputs: tuple[str, ...]
