"""The book's one plotting style and a few shared helpers.

Colours are the Okabe–Ito palette, distinguishable with the common forms of colour blindness;
sequential and diverging maps are ``viridis`` and ``RdBu_r`` (also colour-blind safe). Call
:func:`use_style` once at the top of a chapter.
"""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import numpy as np
from cycler import cycler

#: Okabe–Ito colours, in the order the style cycles through them.
OKABE_ITO: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}

SEQUENTIAL_CMAP = "viridis"
DIVERGING_CMAP = "RdBu_r"

STYLE: dict[str, Any] = {
    "axes.prop_cycle": cycler(color=list(OKABE_ITO.values())),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "figure.figsize": (6.0, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "image.cmap": SEQUENTIAL_CMAP,
    "lines.linewidth": 1.8,
    "font.family": "DejaVu Sans",
}


def use_style() -> None:
    """Apply the book's style to every later figure (idempotent)."""
    mpl.rcParams.update(STYLE)


def color(name: str) -> str:
    """An Okabe–Ito colour by name (``"blue"``, ``"orange"``, …)."""
    if name not in OKABE_ITO:
        raise ValueError(f"name must be one of {sorted(OKABE_ITO)}, got {name!r}")
    return OKABE_ITO[name]


def plot_band(
    ax: Any,
    x: Any,
    mean: Any,
    half_width: Any,
    *,
    label: str | None = None,
    color: str | None = None,
    alpha: float = 0.25,
    **line_kwargs: Any,
) -> Any:
    """Plot ``mean`` as a line and ``mean ± half_width`` as a shaded band of the same colour.

    Args:
      ax: a matplotlib ``Axes``.
      x, mean, half_width: 1-D arrays of one length (``half_width`` e.g. 1.96 × standard error).
      label, color: passed to the line; the band takes the line's colour.
      alpha: the band's opacity.

    Returns:
      The ``Line2D`` of the mean.
    """
    x, mean, half_width = (np.asarray(a, dtype=float) for a in (x, mean, half_width))
    if not (x.ndim == mean.ndim == half_width.ndim == 1 and x.shape == mean.shape == half_width.shape):
        raise ValueError(
            f"x, mean and half_width must be 1-D of one length, got {x.shape}, {mean.shape}, "
            f"{half_width.shape}"
        )
    (line,) = ax.plot(x, mean, label=label, color=color, **line_kwargs)
    ax.fill_between(x, mean - half_width, mean + half_width, color=line.get_color(), alpha=alpha, linewidth=0)
    return line
