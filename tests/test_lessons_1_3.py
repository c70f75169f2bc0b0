"""What left the lessons of notebooks 1-3 (issue 25): their checks, run here on the notebooks' own code.

The notebooks keep one teaching assert per idea; the verification that used to sit in the reader's
path lives here: the code a notebook writes out agrees with ``d2lutil``, the sliders' figures say
what the prose says they say, and the small facts the prose leans on (sigma(ln 9) = 0.9, the
moving-average weights, the squashing functions' ranges) hold. Each test executes the code cells of
the notebook's ``.md`` twin that it needs, in one namespace per notebook (module-scoped), under the
quick budget; the Colab cell is skipped.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any

import jupytext
import matplotlib
import numpy as np
import pytest
import torch

from d2lutil.diagrams import contrast
from d2lutil.models import GRUScratch, RNNScratch, gru_step

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
sys.path.insert(0, str(REPO / "scripts"))
import word_counts  # noqa: E402


def run_cells(name: str, stop_after: str | None = None) -> dict[str, Any]:
    """Execute the code cells of ``notebooks/<name>.md`` in order (the Colab cell skipped) and return
    the namespace; with ``stop_after``, stop after the first cell whose source contains that text."""
    nb = jupytext.read(NOTEBOOKS / f"{name}.md")
    namespace: dict[str, Any] = {"__name__": f"notebook_{name}"}
    show, plt.show = plt.show, lambda *args, **kwargs: None
    default_dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
    quick = os.environ.get("D2LUTIL_QUICK")
    os.environ["D2LUTIL_QUICK"] = "1"  # CI's budget, for this notebook only
    try:
        for cell in nb.cells:
            if cell.cell_type != "code" or cell.source.startswith("# Colab only"):
                continue
            exec(compile(cell.source, f"{name}.md", "exec"), namespace)  # noqa: S102
            if stop_after is not None and stop_after in cell.source:
                break
    finally:
        if quick is None:
            del os.environ["D2LUTIL_QUICK"]
        else:
            os.environ["D2LUTIL_QUICK"] = quick
        plt.show = show
        plt.close("all")
        torch.set_default_dtype(default_dtype)
        torch.set_num_threads(threads)
    return namespace


# ----------------------------------------------------------------------------------------------
# The lessons' length (issue 25: at most 2,200 words shown per notebook, counted as scripts/word_counts.py does)


@pytest.mark.parametrize("name", ["01_motivation", "02_gates", "03_candidate_state"])
def test_words_a_reader_sees_stay_within_the_limit(name):
    counts = word_counts.count(jupytext.read(NOTEBOOKS / f"{name}.md"))
    assert counts.shown <= 2200, f"{name} shows {counts.shown} words outside collapsed cells"
    assert counts.timings == 0, f"{name} has a timing cell: timings belong in the engineering appendix"


# ----------------------------------------------------------------------------------------------
# Notebook 1: the Jacobians (the cells before the training; the training runs under nbval)


@pytest.fixture(scope="module")
def nb1() -> dict[str, Any]:
    return run_cells("01_motivation", stop_after="# Going deeper: the bound")


def test_nb1_jacobian_norms_match_the_product_of_step_jacobians(nb1):
    """jacobian_norms (one batched backward pass) against the explicit product of autograd step Jacobians."""
    torch.manual_seed(0)
    layer = GRUScratch(3, 4).double()
    X = torch.randn(6, 2, 3, dtype=torch.float64)
    norms = nb1["jacobian_norms"](layer, X)  # (T + 1, B)
    for b in range(2):
        H, states = torch.zeros(1, 1, 4, dtype=torch.float64), []
        for t in range(6):
            states.append(H)
            H = layer(X[t : t + 1, b : b + 1], H)[1]
        product = torch.eye(4, dtype=torch.float64)
        for k in range(1, 7):  # distance k: the product of the last k step Jacobians, the latest leftmost
            t = 6 - k
            step = torch.autograd.functional.jacobian(
                lambda h, t=t, b=b: layer(X[t : t + 1, b : b + 1], h.view(1, 1, 4))[1].view(4), states[t].view(4)
            )
            product = product @ step
            assert abs(torch.linalg.matrix_norm(product, ord=2).item() - norms[k, b].item()) < 1e-10


@pytest.mark.parametrize("bias", [0.0, 3.0, 10.0])
def test_nb1_gru_step_jacobian_is_autograds(nb1, bias):
    torch.manual_seed(1)
    layer = GRUScratch(4, 6).double()
    with torch.no_grad():
        layer.b_x[6:12] = bias
    x, h = torch.randn(4, dtype=torch.float64), torch.tanh(torch.randn(6, dtype=torch.float64))
    J = nb1["gru_step_jacobian"](layer, x, h)
    auto = torch.autograd.functional.jacobian(lambda v: layer(x.view(1, 1, 4), v.view(1, 1, 6))[1].view(6), h)
    torch.testing.assert_close(J, auto, atol=1e-12, rtol=0)
    if bias == 10.0:  # z near 1: the step is nearly the identity, as the text says
        assert torch.linalg.matrix_norm(J - torch.eye(6, dtype=torch.float64), ord=2) < 1e-3


def test_nb1_the_norm_bound_says_nothing_for_the_measured_rnn(nb1):
    """The hidden cell's facts, asserted: ||W_hh||_2 > 1 > rho(W_hh), the gradient vanishes anyway."""
    g = nb1
    measured = g["far_norm"]["tanh RNN"]
    assert g["norm_2"] > 1 > g["radius"], "the norm bound says nothing, while the spectral radius is below 1"
    assert measured < 1e-3 < g["norm_2"] ** g["FAR"], "the gradient vanishes although the norm bound grows"
    assert measured < g["power_norm"] < 1, "powers of W_hh shrink, and the tanh factors shrink the product further"


def test_nb1_starts_slow_the_vanishing(nb1):
    far = nb1["far_norm"]
    assert far["tanh RNN, orthogonal W_hh"] > far["tanh RNN"]
    assert far[f"GRU, update-gate bias +{nb1['UPDATE_BIAS']:.0f}"] > far["GRU"]


# ----------------------------------------------------------------------------------------------
# Notebook 2: the gates


@pytest.fixture(scope="module")
def nb2() -> dict[str, Any]:
    return run_cells("02_gates")


def test_nb2_gates_are_sigmoid_layers_in_open_interval(nb2):
    R, Z = nb2["R"], nb2["Z"]
    assert bool(((R > 0) & (R < 1)).all() and ((Z > 0) & (Z < 1)).all())
    # each gate is one fully connected layer of [X_t, H_{t-1}]: the same numbers from one matmul
    XH = torch.cat([nb2["X"], nb2["H_prev"]], dim=1)
    W = torch.cat([nb2["W_xr"], nb2["W_hr"]], dim=0)
    torch.testing.assert_close(R, torch.sigmoid(XH @ W + nb2["b_xr"] + nb2["b_hr"]))


def test_nb2_gates_agree_with_d2lutil_gru_step(nb2):
    g = nb2
    h = g["h"]
    zeros = torch.zeros(g["d"], h)
    W_x = torch.cat([g["W_xr"], g["W_xz"], zeros], dim=1)
    W_h = torch.cat([g["W_hr"], g["W_hz"], torch.zeros(h, h)], dim=1)
    b_x = torch.cat([g["b_xr"], g["b_xz"], torch.zeros(1, h)], dim=1)[0]
    b_h = torch.cat([g["b_hr"], g["b_hz"], torch.zeros(1, h)], dim=1)[0]
    step = gru_step(g["X"] @ W_x + b_x, g["H_prev"], W_h, b_h)
    torch.testing.assert_close(step.r, g["R"])
    torch.testing.assert_close(step.z, g["Z"])


def test_nb2_saturation_edge_is_ln_9():
    edge = math.log(9)
    assert abs(1 / (1 + math.exp(-edge)) - 0.9) < 1e-12 and abs(1 / (1 + math.exp(edge)) - 0.1) < 1e-12


def test_nb2_slider_figure_follows_the_sliders(nb2):
    """Moving the sliders from code, as a reader would by hand: the title states the gate and its verdict."""
    figure = nb2["gate_figure"]
    controls = figure.controls
    controls["w_h"].value = 4.0
    controls["b"].value = 3.0
    for value in [-2.0, 0.0, 3.0]:
        controls["x"].value = value
    a = controls["w_x"].value * controls["x"].value + 4.0 * controls["h_prev"].value + 3.0
    g = 1 / (1 + math.exp(-a))
    assert g > 0.9
    title = figure.fig.get_suptitle()
    assert f"{g:.3f}" in title and "saturated open" in title
    controls["b"].value = -4.0
    controls["x"].value = -3.0
    controls["w_h"].value = -4.0
    title = figure.fig.get_suptitle()
    assert "saturated closed" in title


def test_nb2_heatmaps_have_a_colour_bar_each_with_words_at_the_ends(nb2):
    nb = jupytext.read(NOTEBOOKS / "02_gates.md")
    source = next(c.source for c in nb.cells if c.cell_type == "code" and "imshow" in c.source)
    namespace, show = dict(nb2), plt.show
    plt.show = lambda *args, **kwargs: None  # the notebook's figure was closed: draw it again from its cell
    try:
        exec(compile(source, "02_gates.md", "exec"), namespace)  # noqa: S102
        fig = namespace["fig"]
        bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
        assert len(bars) == 2
        for bar in bars:
            labels = [t.get_text() for t in bar.get_yticklabels()]
            assert labels[0].startswith("0:") and labels[-1].startswith("1:")
        for ax in fig.axes:  # the numbers on the cells: readable on every cell's colour
            if ax.images:
                image = ax.images[0]
                for text in ax.texts:
                    j, i = text.get_position()
                    cell = image.cmap(image.norm(image.get_array()[int(i), int(j)]))[:3]
                    assert contrast(cell, text.get_color()) >= 4.5, text.get_text()
    finally:
        plt.show = show
        plt.close("all")


# ----------------------------------------------------------------------------------------------
# Notebook 3: the candidate and the new state


@pytest.fixture(scope="module")
def nb3() -> dict[str, Any]:
    namespace = run_cells("03_candidate_state")
    return namespace


def _stacked(p: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
    W_x = torch.cat([p["W_xr"], p["W_xz"], p["W_xn"]], dim=1)  # (d, 3h)
    W_h = torch.cat([p["W_hr"], p["W_hz"], p["W_hn"]], dim=1)  # (h, 3h)
    b_x = torch.cat([p["b_xr"], p["b_xz"], p["b_xn"]], dim=1)[0]
    b_h = torch.cat([p["b_hr"], p["b_hz"], p["b_hn"]], dim=1)[0]
    return W_x, W_h, b_x, b_h


def test_nb3_step_agrees_with_d2lutil_gru_step(nb3):
    """The per-role step of notebook 3 is d2lutil's stacked gru_step (reset after), part by part."""
    g = nb3
    p, X, H = g["params"], g["X"].double(), g["H_prev"].double()
    W_x, W_h, b_x, b_h = _stacked(p)
    step = gru_step(X @ W_x + b_x, H, W_h, b_h)
    R, Z = g["gates"](X, H, p)
    torch.testing.assert_close(step.r, R, atol=1e-12, rtol=0)
    torch.testing.assert_close(step.z, Z, atol=1e-12, rtol=0)
    torch.testing.assert_close(step.n, g["candidate"](X, H, R, p), atol=1e-12, rtol=0)
    torch.testing.assert_close(step.h, g["H_new"], atol=1e-12, rtol=0)


def test_nb3_plain_rnn_limit_is_d2lutil_rnn(nb3):
    g = nb3
    p, X, H = g["params"], g["X"], g["H_prev"]
    B, d, h = g["B"], g["d"], g["h"]
    with torch.no_grad():
        rnn = RNNScratch(d, h).double()
        rnn.W_x.copy_(p["W_xn"]), rnn.W_h.copy_(p["W_hn"])
        rnn.b_x.copy_(p["b_xn"][0]), rnn.b_h.copy_(p["b_hn"][0])
        _, H_rnn = rnn(X.unsqueeze(0), H.unsqueeze(0))
    gru = g["new_state"](X, H, torch.ones(B, h), torch.zeros(B, h), p)
    torch.testing.assert_close(gru, H_rnn[0], atol=1e-12, rtol=0)


def test_nb3_copy_has_identity_jacobian(nb3):
    g = nb3
    p, X, H, h = g["params"], g["X"], g["H_prev"], g["h"]
    R_any, ones = torch.rand(1, h, dtype=torch.float64), torch.ones(1, h, dtype=torch.float64)
    J = torch.autograd.functional.jacobian(lambda H1: g["new_state"](X[:1], H1, R_any, ones, p), H[:1])
    assert torch.equal(J.reshape(h, h), torch.eye(h, dtype=torch.float64))


def test_nb3_residual_form_is_the_convex_combination(nb3):
    g = nb3
    p, X, H = g["params"], g["X"], g["H_prev"]
    R, Z = g["gates"](X, H, p)
    H_tilde = g["candidate"](X, H, R, p)
    torch.testing.assert_close(H + (1 - Z) * (H_tilde - H), g["H_new"], atol=1e-15, rtol=0)


@pytest.mark.parametrize("z", [0.0, 0.5, 0.9, 0.99])
def test_nb3_moving_average_weights_and_memory_length(nb3, z):
    k = torch.arange(5000.0, dtype=torch.float64)
    assert abs(((1 - z) * z**k).sum().item() - 1) < 1e-6
    assert abs((z**k).sum().item() - 1 / (1 - z)) < 1e-6
    z_constant = torch.full((4000, 1, 1), z, dtype=torch.float64)
    assert abs(nb3["memory_lengths"](z_constant, settle=3000).item() - 1 / (1 - z)) < 1e-3


def test_nb3_memory_lengths_of_the_shipped_model(nb3):
    """The figures the prose states (the notebook asserts the same ranges): medians 1.3-2, longest 8-15."""
    medians = [float(np.median(m)) for m in nb3["memory"].values()]
    assert len(medians) == 2 and all(1.3 < m < 2 for m in medians)
    assert 8 < max(m.max() for m in nb3["memory"].values()) < 15


def test_nb3_squashing_functions(nb3):
    runs = nb3["long_runs"]
    assert runs["tanh"].abs().max() <= 1
    assert runs["sigmoid"].min() >= 0, "a sigmoid candidate cannot make a state negative from a zero start"
    assert runs["relu"].abs().max() > 1, "a ReLU candidate lets the state leave [-1, 1]"


def test_nb3_trajectory_slider_self_test(nb3):
    """The sliders moved from code: the title's absolute and relative effects match pulse_effect."""
    figure = nb3["trajectory_figure"]
    controls = figure.controls
    for z in [0.0, 0.5, 0.9, 0.95]:
        controls["z"].value = z
    for r in [0.5, 0.0]:
        controls["r"].value = r
    at_pulse, later = nb3["pulse_effect"](0.0, 0.95)
    assert abs(later / at_pulse - 0.95**15) < 1e-9, "with R = 0 the pulse's effect decays exactly as Z**t"
    title = figure.fig.get_suptitle()
    assert f"{at_pulse:+.3f}" in title and f"{later:+.3f}" in title and f"{later / at_pulse:.0%}" in title
    at_pulse_rnn, later_rnn = nb3["pulse_effect"](1.0, 0.0)
    assert abs(later_rnn / at_pulse_rnn) < 0.01, "the plain RNN (W_H = 0.8) has all but forgotten the pulse"
    controls["z"].value = 1.0
    assert "frozen" in figure.fig.get_suptitle()
