"""The book's one plotting style and a few shared helpers.

Colours are the Okabe–Ito palette, distinguishable with the common forms of colour blindness;
sequential and diverging maps are ``viridis`` and ``RdBu_r`` (also colour-blind safe). Call
:func:`use_style` once at the top of a chapter.

Figures are drawn for the book's content column: :data:`COLUMN_WIDTH` inches at :data:`DPI` dots per
inch, that is twice the pixels of the column (about 730 CSS px), so the browser halves them and a
9 pt tick label reads as 9 pt. Each estimator has one colour and line style book-wide
(:func:`estimator_style`), so that a reader recognises it from chapter to chapter.
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

#: Width of the content column, in inches.
COLUMN_WIDTH = 7.3
#: Resolution of figures in dots per inch, twice the pixels of the column.
DPI = 200

#: The smallest font size, in points, of any text in a figure (tick labels, legends).
MIN_FONT_SIZE = 9

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
    "legend.fontsize": MIN_FONT_SIZE,
    "legend.frameon": False,
    "xtick.labelsize": MIN_FONT_SIZE,
    "ytick.labelsize": MIN_FONT_SIZE,
    "figure.figsize": (COLUMN_WIDTH, 3.4),
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "savefig.bbox": "tight",
    "image.cmap": SEQUENTIAL_CMAP,
    "lines.linewidth": 1.8,
    "font.family": "DejaVu Sans",
}


def use_style() -> None:
    """Apply the book's style to every later figure (idempotent)."""
    mpl.rcParams.update(STYLE)  # type: ignore[arg-type]


#: One colour and line style per estimator, used by every chapter (name -> (colour, line style, label)).
ESTIMATOR_STYLES: dict[str, tuple[str, str, str]] = {
    "exact": ("black", ":", "exact"),
    "score_function": ("vermillion", "-", "score function"),
    "baseline": ("orange", "-", "score function + baseline"),
    "rloo": ("purple", "-", "RLOO"),
    "pathwise": ("blue", "-", "pathwise"),
    "measure_valued": ("green", "-", "measure-valued"),
    "gumbel_softmax": ("sky", "-", "Gumbel-softmax"),
    "straight_through": ("black", "-", "straight-through"),
    "rebar": ("green", "--", "REBAR"),
    "relax": ("blue", "--", "RELAX"),
    "antithetic": ("sky", "--", "antithetic"),
    "rqmc": ("green", ":", "RQMC"),
    "sum_and_sample": ("orange", "--", "sum-and-sample"),
    "importance_sampling": ("black", "-.", "importance sampling"),
    "arm": ("black", "--", "ARM"),
    "disarm": ("vermillion", "-.", "DisARM"),
    "unordered_set": ("orange", "-.", "unordered set"),
    "gumbel_rao": ("sky", "-.", "Gumbel-Rao"),
    "vimco": ("green", "-.", "VIMCO"),
    "grpo": ("blue", "-.", "GRPO"),
}


def estimator_style(name: str) -> dict[str, str]:
    """The colour, line style and label of an estimator, the same in every chapter.

    Use as ``ax.plot(x, y, **estimator_style("rloo"))``; override ``label`` by passing
    ``{**estimator_style("rloo"), "label": "RLOO, N = 8"}``.

    Raises:
      ValueError: if ``name`` is not a key of :data:`ESTIMATOR_STYLES`.
    """
    if name not in ESTIMATOR_STYLES:
        raise ValueError(f"name must be one of {sorted(ESTIMATOR_STYLES)}, got {name!r}")
    colour, linestyle, label = ESTIMATOR_STYLES[name]
    return {"color": OKABE_ITO[colour], "linestyle": linestyle, "label": label}


def column_figure(nrows: int = 1, ncols: int = 1, *, height: float | None = None, **kwargs: Any) -> Any:
    """A figure as wide as the content column, with a grid of at most two panels per row.

    Args:
      nrows, ncols: the grid of axes; ``ncols`` is 1 or 2 (a row of three or more panels would
        shrink every label below the legible size: use more rows instead).
      height: the figure's height in inches; default 3.4 per row of panels (2.8 from the third row).
      kwargs: passed to ``matplotlib.pyplot.subplots`` (``sharex``, ``sharey``, ...).

    Returns:
      ``(figure, axes)`` as ``matplotlib.pyplot.subplots`` returns them.

    Raises:
      ValueError: if ``nrows < 1``, ``ncols`` is not 1 or 2, or ``height`` is not positive.
    """
    import matplotlib.pyplot as plt

    if not isinstance(nrows, int) or nrows < 1:
        raise ValueError(f"nrows must be an int >= 1, got {nrows!r}")
    if ncols not in (1, 2):
        raise ValueError(f"ncols must be 1 or 2 (use more rows for more panels), got {ncols!r}")
    if height is None:
        height = 3.4 * nrows if nrows <= 2 else 2.8 * nrows
    if not height > 0:
        raise ValueError(f"height must be > 0 inches, got {height!r}")
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, figsize=(COLUMN_WIDTH, height), **kwargs)


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
