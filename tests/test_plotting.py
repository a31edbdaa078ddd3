"""The book's plotting style: colour-blind-safe palette and the band helper."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from gradest import plotting


def test_style_sets_the_okabe_ito_cycle():
    plotting.use_style()
    cycle = [c["color"] for c in matplotlib.rcParams["axes.prop_cycle"]]
    assert cycle == list(plotting.OKABE_ITO.values())


def test_plot_band_draws_line_and_band_in_one_colour():
    fig, ax = plt.subplots()
    line = plotting.plot_band(ax, np.arange(3), np.zeros(3), np.ones(3), color=plotting.color("blue"))
    assert line.get_color() == plotting.OKABE_ITO["blue"]
    assert len(ax.collections) == 1
    plt.close(fig)


def test_bad_plotting_arguments_are_rejected():
    with pytest.raises(ValueError, match="name"):
        plotting.color("red")
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="half_width"):
        plotting.plot_band(ax, np.arange(3), np.zeros(3), np.ones(4))
    plt.close(fig)


def test_style_draws_for_the_column_at_twice_its_pixels_with_legible_fonts():
    plotting.use_style()
    rc = matplotlib.rcParams
    assert rc["figure.dpi"] == rc["savefig.dpi"] == plotting.DPI >= 150
    assert rc["figure.figsize"][0] <= 7.5
    # The browser halves a 2x image: COLUMN_WIDTH * DPI pixels fill a ~730 CSS px column twice over.
    assert abs(plotting.COLUMN_WIDTH * plotting.DPI / 2 - 730) < 10
    for key in ("xtick.labelsize", "ytick.labelsize", "legend.fontsize", "axes.labelsize"):
        assert rc[key] >= plotting.MIN_FONT_SIZE >= 9, key


def test_every_estimator_has_its_own_colour_and_line_style():
    pairs = {(c, ls) for c, ls, _ in plotting.ESTIMATOR_STYLES.values()}
    assert len(pairs) == len(plotting.ESTIMATOR_STYLES)
    style = plotting.estimator_style("rloo")
    assert style == {"color": plotting.OKABE_ITO["purple"], "linestyle": "-", "label": "RLOO"}
    with pytest.raises(ValueError, match="name"):
        plotting.estimator_style("reinforce")


def test_column_figure_fits_the_column_and_refuses_wide_rows():
    fig, axes = plotting.column_figure(2, 2)
    assert fig.get_size_inches()[0] == plotting.COLUMN_WIDTH and axes.shape == (2, 2)
    plt.close(fig)
    with pytest.raises(ValueError, match="ncols"):
        plotting.column_figure(1, 3)
    with pytest.raises(ValueError, match="height"):
        plotting.column_figure(1, 1, height=0.0)
