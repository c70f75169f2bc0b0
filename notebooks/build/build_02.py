"""Build notebooks/02_gates.ipynb (run: python notebooks/build/build_02.py)."""

from common import code, md, write

TITLE = r"""
# Gates: how a GRU decides what to keep

A plain RNN rewrites its whole state at every step with the same function of the new input. The
gated recurrent unit (GRU) of Cho et al. (2014) adds two small networks, the **reset gate** and
the **update gate**, that look at the current input and the previous state and answer, for each
hidden unit separately: *how much of the past should the next candidate see?* and *how much of
the old state should simply be kept?* This notebook builds the two gates. Notebook 3 uses them.
"""

CELLS = [
    code(
        """
        import math

        import ipywidgets as widgets
        import matplotlib.pyplot as plt
        import numpy as np
        import torch

        from d2lutil.diagrams import COLORS, gru_cell
        from d2lutil.models import gru_step
        from d2lutil.widgets import InteractiveFigure
        """
    ),
    md(
        r"""
        ## What a gate is

        A *gate* is a vector of numbers between 0 and 1, one for each hidden unit, that multiplies
        another vector element by element. A gate value of 1 lets that unit's signal through
        unchanged, 0 blocks it, and 0.3 lets 30% through. Because the gate values are computed
        from the data at every step, the network learns *when* to let information through, not
        only *how* to transform it.

        The GRU has two of them, and both are computed the same way: an affine map of the current
        input $\mathbf{X}_t$ and the previous state $\mathbf{H}_{t-1}$, squashed by the logistic
        sigmoid $\sigma(a) = 1 / (1 + e^{-a})$. The diagram shows the first stage of the cell; the
        next notebook adds the rest.
        """
    ),
    code('gru_cell("gates")'),
    md(
        r"""
        ## The equations, with shapes

        For a minibatch of $n$ examples with $d$ input features and $h$ hidden units, take the
        input $\mathbf{X}_t \in \mathbb{R}^{n \times d}$ and the previous state
        $\mathbf{H}_{t-1} \in \mathbb{R}^{n \times h}$. The reset gate $\mathbf{R}_t$ and the
        update gate $\mathbf{Z}_t$ are

        $$
        \begin{aligned}
        \mathbf{R}_t &= \sigma(\mathbf{X}_t \mathbf{W}_{xr} + \mathbf{H}_{t-1} \mathbf{W}_{hr} + \mathbf{b}_r),\\
        \mathbf{Z}_t &= \sigma(\mathbf{X}_t \mathbf{W}_{xz} + \mathbf{H}_{t-1} \mathbf{W}_{hz} + \mathbf{b}_z),
        \end{aligned}
        $$

        with weights $\mathbf{W}_{xr}, \mathbf{W}_{xz} \in \mathbb{R}^{d \times h}$ and
        $\mathbf{W}_{hr}, \mathbf{W}_{hz} \in \mathbb{R}^{h \times h}$, and biases
        $\mathbf{b}_r, \mathbf{b}_z \in \mathbb{R}^{1 \times h}$ that broadcast over the $n$ rows.
        Both gates are $n \times h$: one value per example and per hidden unit, so every unit of
        every sequence decides for itself. Each gate is exactly a fully connected layer on the
        concatenation $[\mathbf{X}_t, \mathbf{H}_{t-1}]$, with a sigmoid as its activation.

        **Why the sigmoid.** Its values lie strictly between 0 and 1, which is what a gate needs:
        the GRU will use $\mathbf{Z}_t$ to form $\mathbf{Z}_t \odot \mathbf{A} + (1 - \mathbf{Z}_t)
        \odot \mathbf{B}$, a *convex combination* of two vectors. With weights in $(0, 1)$ that sum
        to 1, the result lies between $\mathbf{A}$ and $\mathbf{B}$ in every coordinate, so the
        state can neither blow up nor change sign through the gate itself. A hard 0/1 switch would
        give the same picture but no gradient to learn from; the sigmoid is a smooth switch with
        derivative $\sigma'(a) = \sigma(a)(1 - \sigma(a)) \le 1/4$. A $\tanh$, with values in
        $(-1, 1)$, would let a gate flip the sign of what it passes, which is not what "keep 30%"
        means.

        ## The gates in code

        Here are the two gates for a minibatch of $n = 4$ examples, $d = 3$ input features and
        $h = 5$ hidden units, written exactly as the equations read.
        """
    ),
    code(
        """
        d2lutil.set_seed(0)
        n, d, h = 4, 3, 5  # batch size, input features, hidden units


        def init(*shape):
            return 0.5 * torch.randn(*shape)


        W_xr, W_hr, b_r = init(d, h), init(h, h), init(1, h)  # reset gate
        W_xz, W_hz, b_z = init(d, h), init(h, h), init(1, h)  # update gate
        X = torch.randn(n, d)  # X_t
        H_prev = torch.tanh(torch.randn(n, h))  # H_{t-1}, in (-1, 1) like any tanh RNN state

        R = torch.sigmoid(X @ W_xr + H_prev @ W_hr + b_r)
        Z = torch.sigmoid(X @ W_xz + H_prev @ W_hz + b_z)

        shapes = {"X_t": X, "H_{t-1}": H_prev, "W_xr": W_xr, "W_hr": W_hr, "b_r": b_r, "R_t": R, "Z_t": Z}
        for name, tensor in shapes.items():
            print(f"{name:8} {tuple(tensor.shape)}")
        assert R.shape == Z.shape == (n, h)
        assert bool(((R > 0) & (R < 1)).all() and ((Z > 0) & (Z < 1)).all())
        print("R_t =", R.numpy().round(3), sep="\\n")
        """
    ),
    md(
        r"""
        `d2lutil` computes the same gates inside `gru_step`, the step function of every GRU in
        this chapter. It stores the three weight matrices of the cell side by side, in the order
        (reset, update, candidate) that `torch.nn.GRU` also uses, so that one matmul serves all
        of them. Stacking our matrices the same way must give the same gate values; the candidate
        weights are needed for the call, but do not affect $\mathbf{R}_t$ or $\mathbf{Z}_t$.
        """
    ),
    code(
        """
        W_xn, W_hn = init(d, h), init(h, h)  # the candidate state's weights (notebook 3)
        W_x = torch.cat([W_xr, W_xz, W_xn], dim=1)  # (d, 3h)
        W_h = torch.cat([W_hr, W_hz, W_hn], dim=1)  # (h, 3h)
        b_x = torch.cat([b_r, b_z, torch.zeros(1, h)], dim=1)  # (1, 3h)
        step = gru_step(X @ W_x + b_x, H_prev, W_h, torch.zeros(3 * h))

        assert torch.allclose(step.r, R, atol=1e-7) and torch.allclose(step.z, Z, atol=1e-7)
        gap_r, gap_z = (step.r - R).abs().max(), (step.z - Z).abs().max()
        print(f"notebook and d2lutil agree: max |R - r| = {gap_r:.1e}, max |Z - z| = {gap_z:.1e}")
        """
    ),
    md(
        r"""
        Each entry of a gate belongs to one example (row) and one hidden unit (column). Drawn as
        a picture, the two gates of our random cell look like this; a trained GRU's gates are far
        more decisive, often close to 0 or 1 (notebook 5 measures how often).
        """
    ),
    code(
        """
        fig, axes = plt.subplots(1, 2, figsize=(8, 2.8), sharey=True)
        panels = [(axes[0], R, "reset gate $R_t$", "reset"), (axes[1], Z, "update gate $Z_t$", "update")]
        for ax, gate, name, key in panels:
            cmap = plt.matplotlib.colors.LinearSegmentedColormap.from_list(key, ["white", COLORS[key]])
            image = ax.imshow(gate.numpy(), vmin=0, vmax=1, cmap=cmap)
            for (i, j), value in np.ndenumerate(gate.numpy()):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8)
            ax.set_title(name)
            ax.set_xlabel("hidden unit")
            ax.set_xticks(range(h))
            ax.set_yticks(range(n))
        axes[0].set_ylabel("example in the minibatch")
        fig.colorbar(image, ax=axes, label="gate value", shrink=0.9)
        fig.suptitle("One gate value in (0, 1) per example and hidden unit", y=1.02)
        plt.show()
        """
    ),
    md(
        r"""
        **Gates in `torch.nn.GRU`.** PyTorch keeps the same weights transposed and stacked:
        `weight_ih_l0` is $(3h) \times d$ and holds $\mathbf{W}_{xr}^\top$, $\mathbf{W}_{xz}^\top$
        and the candidate's input weights, `weight_hh_l0` is $(3h) \times h$, and it has *two*
        bias vectors, `bias_ih_l0` and `bias_hh_l0`. For the gates the two biases simply add up,
        $\mathbf{b}_r = \mathbf{b}_{ir} + \mathbf{b}_{hr}$; for the candidate they do not, which
        notebook 3 explains.

        ## Move a gate yourself

        One hidden unit, with scalar input $x_t$ and scalar previous state $h_{t-1}$, has the
        pre-activation $a = w_x x_t + w_h h_{t-1} + b$ and the gate value $g = \sigma(a)$. Move the
        sliders: the left panel marks $a$ on the sigmoid, the right one shows $g$ and $1 - g$, the
        two weights of the convex combination the gate will form. Notice how the gate saturates:
        once $|a|$ is larger than about 2.2 the gate is below 0.1 or above 0.9, and pushing $a$
        further hardly changes it (and its gradient fades).
        """
    ),
    code(
        """
        A_GRID = np.linspace(-10, 10, 401)
        artists = {}  # what draw_gate made on its first call, updated on every later one


        def draw_gate(fig, x, h_prev, w_x, w_h, b):
            a = w_x * x + w_h * h_prev + b
            g = 1 / (1 + math.exp(-a))
            if not fig.axes:  # first call: the parts that never change
                ax, bars = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3.2, 1]})
                fig.subplots_adjust(left=0.09, right=0.98, bottom=0.17, top=0.84, wspace=0.35)
                ax.axhspan(0.9, 1.02, color="0.93")
                ax.axhspan(-0.02, 0.1, color="0.93")
                ax.text(-9.6, 0.95, "saturated open", va="center", fontsize=8, color="0.4")
                ax.text(9.6, 0.05, "saturated closed", va="center", ha="right", fontsize=8, color="0.4")
                ax.plot(A_GRID, 1 / (1 + np.exp(-A_GRID)), color=COLORS["update"], lw=2, label=r"$g = \\sigma(a)$")
                (artists["drop"],) = ax.plot([], [], ":", color="black", lw=1)
                (artists["marker"],) = ax.plot([], [], "o", color="black", ms=7, label="this unit")
                ax.set_xlim(-10, 10)
                ax.set_ylim(-0.02, 1.02)
                ax.set_xlabel(r"pre-activation $a = w_x x_t + w_h h_{t-1} + b$")
                ax.set_ylabel("gate value $g$")
                ax.legend(loc="center left", fontsize=8)
                artists["bars"] = bars.bar([0, 1], [0, 0], color=[COLORS["update"], "0.65"], width=0.6)
                artists["values"] = [bars.text(i, 0, "", ha="center", fontsize=8) for i in range(2)]
                bars.set_xticks([0, 1], ["$g$", "$1 - g$"])
                bars.set_ylim(0, 1.1)
                bars.set_ylabel("weight in the mix")
                artists["title"] = fig.suptitle("", fontsize=11)
            shown = min(max(a, -10.0), 10.0)  # keep the marker on the axes
            artists["drop"].set_data([shown, shown, -10], [0, g, g])
            artists["marker"].set_data([shown], [g])
            for bar, text, value in zip(artists["bars"], artists["values"], [g, 1 - g], strict=True):
                bar.set_height(value)
                text.set_position((bar.get_x() + bar.get_width() / 2, value + 0.02))
                text.set_text(f"{value:.3f}")
            verdict = "partly open"
            if g > 0.9 or g < 0.1:
                verdict = "saturated open (above 0.9)" if g > 0.9 else "saturated closed (below 0.1)"
            artists["title"].set_text(f"a = {a:+.2f}: the gate is {g:.3f}, {verdict}")


        def slider(value, low, high, description):
            return widgets.FloatSlider(
                value=value, min=low, max=high, step=0.1, description=description,
                continuous_update=True, style={"description_width": "90px"}, layout=widgets.Layout(width="320px"),
            )


        gate_figure = InteractiveFigure(
            draw_gate,
            {
                "x": slider(1.0, -3.0, 3.0, "input xₜ"),
                "h_prev": slider(0.5, -1.0, 1.0, "state hₜ₋₁"),
                "w_x": slider(1.5, -4.0, 4.0, "weight wₓ"),
                "w_h": slider(-1.0, -4.0, 4.0, "weight wₕ"),
                "b": slider(0.0, -4.0, 4.0, "bias b"),
            },
            figsize=(7.5, 3.4),
            columns=2,
            clear=False,  # draw_gate updates its artists in place: about twice as fast as redrawing all
        )
        gate_figure
        """
    ),
    md(
        r"""
        The figure is a picture that the handler redraws and replaces whenever a slider moves, so
        it works in JupyterLab and in Colab alike. `draw_gate` builds the axes once and afterwards
        only moves the marker, the bars and the title, which keeps a redraw fast. The next cell
        moves the sliders from code, as a reader would by hand, and reports how long each redraw
        took (the target is well under 100 ms, so that the figure follows the slider).
        """
    ),
    code(
        """
        controls = gate_figure.controls
        for value in [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0]:
            controls["x"].value = value
        for value in [-3.0, 0.0, 3.0]:
            controls["b"].value = value
        controls["w_h"].value = 4.0
        g = 1 / (1 + math.exp(-(controls["w_x"].value * controls["x"].value + 4.0 * controls["h_prev"].value + 3.0)))
        assert g > 0.9, "with a large positive pre-activation the gate must be saturated open"
        print(f"gate now {g:.4f}; redraw timings: {gate_figure.timing_summary()}")
        """
    ),
    md(
        r"""
        ## Summary

        * The reset gate $\mathbf{R}_t$ and the update gate $\mathbf{Z}_t$ are fully connected
          layers of $[\mathbf{X}_t, \mathbf{H}_{t-1}]$ with a sigmoid activation: $n \times h$
          matrices, one value in $(0, 1)$ per example and per hidden unit.
        * The sigmoid makes them smooth, learnable switches, and makes
          $\mathbf{Z}_t \odot \mathbf{A} + (1 - \mathbf{Z}_t) \odot \mathbf{B}$ a convex
          combination that stays between its two ingredients.
        * Our gates agree with `d2lutil`'s `gru_step`, which stores the (reset, update, candidate)
          weights side by side like `torch.nn.GRU`.
        * Far from $a = 0$ a gate saturates: it is nearly 0 or 1 and its gradient is small.

        Notebook 3 puts the gates to work: the reset gate shapes the candidate state, the update
        gate mixes it with the old state.

        ## References

        * Cho, K., van Merriënboer, B., Gulcehre, C., Bahdanau, D., Bougares, F., Schwenk, H., &
          Bengio, Y. (2014). Learning phrase representations using RNN encoder-decoder for
          statistical machine translation. *EMNLP*.
        * Chung, J., Gulcehre, C., Cho, K., & Bengio, Y. (2014). Empirical evaluation of gated
          recurrent neural networks on sequence modeling. *arXiv:1412.3555*.
        """
    ),
]

if __name__ == "__main__":
    write("02_gates.ipynb", TITLE, CELLS)
