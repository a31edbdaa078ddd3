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
