"""The look every reference figure shares: colours, fixed rcParams, the figure frame (title,
subtitle, data version, scope line, source line) and the ``framed`` decorator that makes it for a
figure function, the note above the plot, axes, legends, stacked share bars, number formatting and
the "No data" panel.

``figures.py``, ``analysis_figures.py`` and ``claims_figures.py`` draw with these helpers;
``analysis_figures`` and ``claims_figures`` import nothing from ``figures``. Matplotlib is imported by the figure modules only: importing
``atomdata`` never loads it.
"""
from __future__ import annotations

import functools
import math
import textwrap
from typing import Callable

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from ..vocab import DATA_LICENSE, REGIONS

#: fixed colours (Okabe-Ito, colour-blind safe), the same in every figure
REGION_COLORS = {"us": "#0072B2", "china": "#D55E00", "eu": "#009E73", "other": "#CC79A7", "unknown": "#999999"}
REGION_LABELS = {"us": "United States", "china": "China", "eu": "Europe", "other": "Other countries", "unknown": "Unknown"}
#: relations use a palette distinct from the regions' (Paul Tol "muted")
RELATION_COLORS = {"finetune": "#332288", "adapter": "#88CCEE", "quantized": "#44AA99", "merge": "#DDCC77"}

SAMPLE_NOTE = "samples of Hugging Face Hub model metadata, not the whole Hub"

RC = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9.5,
    "axes.titlesize": 10,
    "axes.labelsize": 9.5,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,
    "axes.grid": False,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.dpi": 150,
    "svg.fonttype": "none",  # text stays text: searchable, small; DejaVu Sans named as the font
    "svg.hashsalt": "atomdata",
    "svg.image_inline": True,
    "pdf.fonttype": 42,
    "pdf.compression": 6,
    "path.simplify": True,
}
METADATA = {
    "png": {"Software": "atomdata"},
    "svg": {"Date": None, "Creator": "atomdata"},
    "pdf": {"Creator": "atomdata", "Producer": "atomdata", "CreationDate": None},
}
FIGSIZE = (10.0, 6.0)
#: top of the plot area: below the title, the subtitle, two lines of scope and a note above the plot
AXES_TOP = 0.75
#: opacity of pale bars: periods with too few items to read as shares
FAINT_ALPHA = 0.3


# --------------------------------------------------------------------------- numbers and ticks

def human(n: float) -> str:
    """1234 → 1.23k, 3.4e6 → 3.4M, 1.2e9 → 1.2B (three significant digits)."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return ""
    a = abs(n)
    for div, suf in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{n / div:.3g}{suf}"
    return f"{n:.0f}"


HUMAN = FuncFormatter(lambda v, _pos: human(v))


def month_index(month: str) -> int:
    """``YYYY-MM`` → months since year 0 (consecutive months differ by one)."""
    y, m = month.split("-")
    return int(y) * 12 + int(m) - 1


def thin_ticks(ax, positions, labels, max_labels=14, rotate=True):
    step = max(1, math.ceil(len(positions) / max_labels))
    ax.set_xticks(list(positions)[::step])
    ax.set_xticklabels(list(labels)[::step], rotation=45 if rotate and len(positions) > 6 else 0,
                       ha="right" if rotate and len(positions) > 6 else "center")


def regions_present(regions) -> list[str]:
    present = set(regions)
    return [r for r in REGIONS if r in present]


# --------------------------------------------------------------------------- the frame

def wrap(text: str, width: int, max_lines: int | None = None) -> str:
    """``text`` wrapped at ``width`` characters; beyond ``max_lines`` the last line ends in '…'."""
    lines = textwrap.wrap(text, width, break_on_hyphens=False)
    if max_lines and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return "\n".join(lines)


def new_figure(title: str, subtitle: str, version: str, source: str, scope: str | None = None):
    """A figure with its title, the data version and subtitle, the scope line (``Scope: ...``: which
    models the chart counts, at most two lines) and the source line at the foot."""
    fig = Figure(figsize=FIGSIZE)
    FigureCanvasAgg(fig)
    fig.text(0.02, 0.965, title, fontsize=13.5, fontweight="bold", va="top", ha="left")
    fig.text(0.02, 0.905, f"Data version {version}  ·  {subtitle}", fontsize=9, color="#444444", va="top", ha="left")
    if scope:
        fig.text(0.02, 0.866, wrap(f"Scope: {scope}", 158, 2), fontsize=8, color="#444444", va="top", ha="left")
    foot = (f"Source: atomdata data version {version} ({DATA_LICENSE}), built from dated {SAMPLE_NOTE}. {source} "
            "Regenerate with `atomdata figures`.")
    fig.text(0.02, 0.02, "\n".join(textwrap.wrap(foot, 150)), fontsize=7.5, color="#555555", va="bottom", ha="left")
    return fig


def framed(title: str, subtitle: str, source: str | Callable[[dict], str], scope: str | Callable[[dict], str] | None = None):
    """A figure function drawn in the frame of :func:`new_figure`: the decorated ``draw(fig, t, **kw)``
    draws on the frame these texts make (``t``: the tables by name) and returns the figure; it is
    called ``f(t, version, **kw)``. ``source`` and ``scope``, where they depend on the tables, are
    functions of them."""
    def decorate(draw):
        @functools.wraps(draw)
        def figure(t, version, **kw):
            def text(v):
                return v(t) if callable(v) else v

            return draw(new_figure(title, subtitle, version, text(source), scope=text(scope)), t, **kw)
        return figure
    return decorate


def axes(fig, left=0.09, right=0.80, bottom=0.20, top=AXES_TOP):
    return fig.add_axes((left, bottom, right - left, top - bottom))


def note(ax, text: str):
    """A note just above the plot area, from its left edge to the figure's right, at most two lines:
    what the chart measures, which bars to read with care."""
    width = int((0.98 - ax.get_position().x0) * FIGSIZE[0] * 72 / (8.5 * 0.6))  # characters of 8.5 pt that fit
    ax.set_title(wrap(text, width, 2), loc="left", fontsize=8.5, color="#444444")


def no_data(fig, what: str):
    ax = axes(fig)
    ax.set_axis_off()
    ax.text(0.5, 0.5, f"No data: {what}", ha="center", va="center", fontsize=12, color="#555555",
            wrap=True, bbox={"boxstyle": "round,pad=0.8", "facecolor": "#f4f4f4", "edgecolor": "#cccccc"})
    return fig


def region_legend(ax, regions, **kw):
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=REGION_COLORS[r], label=REGION_LABELS[r]) for r in regions]
    ax.legend(handles=handles, title="Region of origin", loc="upper left", bbox_to_anchor=(1.01, 1.0), **kw)


# --------------------------------------------------------------------------- bars

def labelled_bars(ax, labels, vals, colors):
    """One bar per label, its value above it; for a single month of a series drawn as a bar chart."""
    bars = ax.bar(range(len(labels)), vals, 0.6, color=colors)
    for b, v in zip(bars, vals):
        ax.text(b.get_x() + b.get_width() / 2, v, human(v), ha="center", va="bottom", fontsize=8.5)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels)
    ax.set_ylim(0, max(vals) * 1.12 if max(vals) > 0 else 1)
    return bars


def stacked_share_bars(ax, shares: pd.DataFrame, totals: pd.Series | None, total_label, *, faint=frozenset(),
                       tick_labels=None):
    """100 % stacked bars: ``shares`` is period x region (fractions). Periods in ``faint`` are drawn
    pale and without percentages inside (too few items to read as shares); ``tick_labels`` (period
    → label) replaces a period's name under its bar."""
    from matplotlib.colors import to_rgba

    periods = list(shares.index)
    x = list(range(len(periods)))
    width = 0.8 if len(periods) > 3 else 0.5
    bottom = [0.0] * len(periods)
    alpha = [FAINT_ALPHA if p in faint else 1.0 for p in periods]
    regions = [r for r in REGIONS if r in shares.columns]
    for r in regions:
        vals = [float(v) for v in shares[r].fillna(0.0)]
        ax.bar(x, vals, width, bottom=bottom, color=[to_rgba(REGION_COLORS[r], a) for a in alpha], label=REGION_LABELS[r],
               edgecolor="white", linewidth=0.4)
        if len(periods) <= 8:
            for xi, b, v, a in zip(x, bottom, vals, alpha):
                if v >= 0.04 and a == 1.0:
                    ax.text(xi, b + v / 2, f"{v:.0%}", ha="center", va="center", fontsize=8, color="white", fontweight="bold")
        bottom = [b + v for b, v in zip(bottom, vals)]
    if totals is not None and len(periods) <= 40:
        size = 8 if len(periods) <= 8 else 6
        for xi, p in zip(x, periods):
            ax.text(xi, 1.01, total_label(totals[p]), ha="center", va="bottom", fontsize=size, color="#444444",
                    rotation=0 if len(periods) <= 12 else 90)
    ax.set_ylim(0, 1.12 if len(periods) <= 12 else 1.16)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.yaxis.grid(True)
    thin_ticks(ax, x, [(tick_labels or {}).get(p, p) for p in periods], max_labels=24)
    if len(periods) <= 3:
        ax.set_xlim(-1.0, len(periods))
    region_legend(ax, regions)
