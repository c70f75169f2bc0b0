"""Build notebooks/03_candidate_state.ipynb (run: python notebooks/build/build_03.py)."""

from common import code, md, write

TITLE = r"""
# The candidate state and the new hidden state

Notebook 2 built the two gates. Here they go to work. The **reset gate** decides how much of the
previous state the *candidate* state may see, and the **update gate** decides how much of the
previous state survives into the new one. We write both steps in code, check the limiting cases
that make the GRU a generalisation of the plain RNN, compare the two places where libraries put
the reset gate, and show that our step computes exactly what `torch.nn.GRU` computes.
"""

CELLS = [
    code(
        """
        import statistics
        import time

        import ipywidgets as widgets
        import numpy as np
        import torch
        from torch import nn

        from d2lutil.diagrams import COLORS, gru_cell
        from d2lutil.models import GRUScratch, RNNScratch, copy_nn_gru_to_scratch, gru_step
        from d2lutil.widgets import InteractiveFigure
        """
    ),
    md(
        r"""
        ## The candidate state

        A plain RNN computes its new state as $\tanh(\mathbf{X}_t \mathbf{W}_{xh} + \mathbf{H}_{t-1}
        \mathbf{W}_{hh} + \mathbf{b}_h)$. The GRU computes the same kind of quantity, but calls it
        a *candidate*, $\tilde{\mathbf{H}}_t$, and lets the reset gate scale the previous state
        first:

        $$
        \tilde{\mathbf{H}}_t = \tanh\big(\mathbf{X}_t \mathbf{W}_{xh}
            + (\mathbf{R}_t \odot \mathbf{H}_{t-1})\,\mathbf{W}_{hh} + \mathbf{b}_h\big),
        $$

        with $\mathbf{W}_{xh} \in \mathbb{R}^{d \times h}$, $\mathbf{W}_{hh} \in \mathbb{R}^{h \times h}$,
        $\mathbf{b}_h \in \mathbb{R}^{1 \times h}$, and $\tilde{\mathbf{H}}_t$, like $\mathbf{R}_t$ and
        $\mathbf{H}_{t-1}$, of shape $n \times h$. Where an entry of $\mathbf{R}_t$ is close to 1,
        the candidate uses that unit of the past as a plain RNN would; where it is close to 0, the
        candidate is computed as if that unit of the past were zero, from the current input alone.
        That is a *reset*: after a sentence or a document ends, what came before can be made
        irrelevant to what the cell proposes next. The $\tanh$ keeps the candidate in $(-1, 1)$.
        """
    ),
    code('gru_cell("candidate")'),
    md(
        r"""
        ## The new hidden state

        The update gate then mixes the old state and the candidate, unit by unit:

        $$
        \mathbf{H}_t = \mathbf{Z}_t \odot \mathbf{H}_{t-1} + (1 - \mathbf{Z}_t) \odot \tilde{\mathbf{H}}_t .
        $$

        Because $\mathbf{Z}_t$ lies in $(0, 1)$, this is a convex combination: every entry of
        $\mathbf{H}_t$ lies between the old value and the candidate's. Where $\mathbf{Z}_t$ is
        close to 1 the unit keeps its value and the current input is ignored (a token worth
        skipping); where it is close to 0 the unit takes the candidate (new information, or a
        fresh start after a reset). This additive path is what lets information, and gradients,
        travel across many steps (Cho et al., 2014; Chung et al., 2014).
        """
    ),
    code('gru_cell("state")'),
    md(
        r"""
        ## The whole step in code

        We write the three equations with one matrix per role, as they read. The parameters are
        drawn at random; $n = 4$, $d = 3$, $h = 5$ as in notebook 2, in double precision so that
        the comparisons below can be strict.
        """
    ),
    code(
        """
        torch.set_default_dtype(torch.float64)
        d2lutil.set_seed(0)
        n, d, h = 4, 3, 5


        def init(*shape):
            return 0.5 * torch.randn(*shape)


        params = {
            "W_xr": init(d, h), "W_hr": init(h, h), "b_r": init(1, h),  # reset gate
            "W_xz": init(d, h), "W_hz": init(h, h), "b_z": init(1, h),  # update gate
            "W_xh": init(d, h), "W_hh": init(h, h), "b_h": init(1, h),  # candidate state
        }


        def gates(X, H, p):
            R = torch.sigmoid(X @ p["W_xr"] + H @ p["W_hr"] + p["b_r"])
            Z = torch.sigmoid(X @ p["W_xz"] + H @ p["W_hz"] + p["b_z"])
            return R, Z


        def candidate(X, H, R, p):
            return torch.tanh(X @ p["W_xh"] + (R * H) @ p["W_hh"] + p["b_h"])  # reset before the matmul


        def new_state(X, H, R, Z, p):
            return Z * H + (1 - Z) * candidate(X, H, R, p)


        def gru_cell_step(X, H, p):
            R, Z = gates(X, H, p)
            return new_state(X, H, R, Z, p)


        X = torch.randn(n, d)
        H_prev = torch.tanh(torch.randn(n, h))
        H_new = gru_cell_step(X, H_prev, params)
        print("H_t shape:", tuple(H_new.shape))
        print(H_new.numpy().round(3))
        """
    ),
    md(
        r"""
        ## The limiting cases

        Setting the gates by hand to 0 or 1 shows what the GRU can express.

        1. **$\mathbf{R}_t = 1$, $\mathbf{Z}_t = 0$: the plain RNN.** The candidate sees the whole
           past and becomes the new state: $\mathbf{H}_t = \tanh(\mathbf{X}_t \mathbf{W}_{xh} +
           \mathbf{H}_{t-1} \mathbf{W}_{hh} + \mathbf{b}_h)$. We check it against `d2lutil`'s
           `RNNScratch` given the same weights.
        2. **$\mathbf{Z}_t = 1$: copy.** $\mathbf{H}_t = \mathbf{H}_{t-1}$ whatever the input,
           and the Jacobian $\partial \mathbf{H}_t / \partial \mathbf{H}_{t-1}$ is the identity:
           the gradient passes back through the step unchanged, with no shrinking factor. A
           gate is never exactly 1, but it can come close; a large update-gate bias shows how close
           the Jacobian then gets to the identity.
        3. **$\mathbf{R}_t = 0$: reset.** The candidate no longer depends on $\mathbf{H}_{t-1}$;
           with $\mathbf{Z}_t = 0$ as well the new state is a one-layer MLP of $\mathbf{X}_t$ alone.
        """
    ),
    code(
        """
        ones, zeros = torch.ones(n, h), torch.zeros(n, h)

        # 1. R = 1, Z = 0 is the plain tanh RNN, here d2lutil's RNNScratch with the same weights.
        rnn = RNNScratch(d, h)
        with torch.no_grad():
            rnn.W_x.copy_(params["W_xh"]), rnn.W_h.copy_(params["W_hh"])
            rnn.b_x.copy_(params["b_h"][0]), rnn.b_h.zero_()
        _, H_rnn = rnn(X.unsqueeze(0), H_prev.unsqueeze(0))
        assert torch.allclose(new_state(X, H_prev, ones, zeros, params), H_rnn[0], atol=1e-12, rtol=0)

        # 2. Z = 1 copies the state, and its Jacobian with respect to H_{t-1} is the identity.
        assert torch.equal(new_state(X, H_prev, R=ones, Z=ones, p=params), H_prev)
        R_any = torch.rand(1, h)
        J = torch.autograd.functional.jacobian(lambda H: new_state(X[:1], H, R_any, ones[:1], params), H_prev[:1])
        assert torch.equal(J.reshape(h, h), torch.eye(h))

        # ... and with real gates, a large update-gate bias brings the Jacobian close to the identity.
        for bias in [2.0, 5.0, 10.0]:
            leaning = {**params, "b_z": torch.full((1, h), bias)}
            J = torch.autograd.functional.jacobian(lambda H, p=leaning: gru_cell_step(X[:1], H, p), H_prev[:1])
            J = J.reshape(h, h)
            print(f"update-gate bias {bias:4.1f}: mean Z = {gates(X[:1], H_prev[:1], leaning)[1].mean():.5f}, "
                  f"||dH_t/dH_(t-1) - I||_2 = {torch.linalg.matrix_norm(J - torch.eye(h), ord=2):.1e}")

        # 3. R = 0 makes the candidate forget H_{t-1}: any previous state gives the same candidate.
        assert torch.allclose(candidate(X, H_prev, zeros, params), candidate(X, torch.randn(n, h), zeros, params))
        mlp_of_input = torch.tanh(X @ params["W_xh"] + params["b_h"])
        assert torch.allclose(new_state(X, H_prev, zeros, zeros, params), mlp_of_input)
        print("limiting cases hold: R=1,Z=0 is the RNN; Z=1 copies (Jacobian = I); R=0 ignores the past")
        """
    ),
    md(
        r"""
        ## Where does the reset gate act? Two conventions

        The sources disagree, on purpose. Cho et al. (2014) and the d2l text apply the reset gate
        to the state **before** the matmul, as above. cuDNN, `torch.nn.GRU` and Keras (with its
        default `reset_after=True`) apply it **after**, to the product, and keep a second bias
        $\mathbf{b}_{hh}$ inside:

        $$
        \begin{aligned}
        \text{reset before:}\quad \tilde{\mathbf{H}}_t &= \tanh\big(\mathbf{X}_t \mathbf{W}_{xh} + \mathbf{b}_{xh}
            + (\mathbf{R}_t \odot \mathbf{H}_{t-1})\,\mathbf{W}_{hh} + \mathbf{b}_{hh}\big),\\
        \text{reset after:}\quad \tilde{\mathbf{H}}_t &= \tanh\big(\mathbf{X}_t \mathbf{W}_{xh} + \mathbf{b}_{xh}
            + \mathbf{R}_t \odot (\mathbf{H}_{t-1} \mathbf{W}_{hh} + \mathbf{b}_{hh})\big).
        \end{aligned}
        $$

        Both let $\mathbf{R}_t = 0$ cut the candidate off from the past, and both reduce to the
        plain RNN at $\mathbf{R}_t = 1$; in between they are different functions, so weights
        trained under one convention do not carry over to the other. PyTorch's documentation
        notes that its GRU differs from the original paper here.

        **Why reset-after is faster.** In reset-before, the product $(\mathbf{R}_t \odot
        \mathbf{H}_{t-1})\mathbf{W}_{hh}$ cannot start until $\mathbf{R}_t$ is known, so each step
        runs two dependent matmuls with element-wise work in between. In reset-after,
        $\mathbf{H}_{t-1}\mathbf{W}_{hh}$ does not involve $\mathbf{R}_t$, so the hidden-side
        products of all three parts, reset, update and candidate, are **one** $(n \times h)
        \cdot (h \times 3h)$ matmul, started as soon as $\mathbf{H}_{t-1}$ is known; everything
        after it is element-wise and can be fused into a single kernel. (In both conventions the
        input-side products $\mathbf{X}_t \mathbf{W}_x$ of all steps can be computed in one matmul
        before the loop.) Below, both steps are written with the three weight matrices stacked
        side by side, the layout `torch.nn.GRU` and `d2lutil` use.
        """
    ),
    code(
        """
        def step_before(x_proj, H, W_h, b_h):
            \"\"\"x_proj = X_t W_x + b_x (n, 3h), stacked (r, z, candidate); W_h (h, 3h); b_h (3h,).\"\"\"
            k = H.shape[1]  # hidden units
            r_z = torch.sigmoid(x_proj[:, : 2 * k] + H @ W_h[:, : 2 * k] + b_h[: 2 * k])
            R, Z = r_z.chunk(2, dim=1)
            H_tilde = torch.tanh(x_proj[:, 2 * k :] + (R * H) @ W_h[:, 2 * k :] + b_h[2 * k :])  # waits for R
            return Z * H + (1 - Z) * H_tilde


        def step_after(x_proj, H, W_h, b_h):
            k = H.shape[1]
            h_proj = H @ W_h + b_h  # one matmul for all three parts, before R is known
            R, Z = torch.sigmoid(x_proj[:, : 2 * k] + h_proj[:, : 2 * k]).chunk(2, dim=1)
            H_tilde = torch.tanh(x_proj[:, 2 * k :] + R * h_proj[:, 2 * k :])
            return Z * H + (1 - Z) * H_tilde


        # Stacked, our parameters give the same step as the one-matrix-per-role code above ...
        W_x = torch.cat([params["W_xr"], params["W_xz"], params["W_xh"]], dim=1)
        W_h = torch.cat([params["W_hr"], params["W_hz"], params["W_hh"]], dim=1)
        b_x = torch.cat([params["b_r"], params["b_z"], params["b_h"]], dim=1)[0]
        b_h = torch.zeros(3 * h)
        x_proj = X @ W_x + b_x
        assert torch.allclose(step_before(x_proj, H_prev, W_h, b_h), H_new, atol=1e-12)
        # ... the two steps agree with d2lutil's gru_step for each convention ...
        b_h_random = init(3 * h)
        for reset, step in [("before", step_before), ("after", step_after)]:
            ours = step(x_proj, H_prev, W_h, b_h_random)
            assert torch.allclose(ours, gru_step(x_proj, H_prev, W_h, b_h_random, reset).h, atol=1e-12)
        # ... and the two conventions are different functions of the same weights.
        gap = (step_before(x_proj, H_prev, W_h, b_h_random) - step_after(x_proj, H_prev, W_h, b_h_random)).abs().max()
        print(f"same weights, reset before vs reset after: outputs differ by up to {gap:.3f}")
        """
    ),
    md(
        r"""
        ### Timing the two steps

        We time 50 steps of each on a minibatch of 64 sequences with 256 hidden units, forward
        only, on one CPU thread, and report the median of several runs. On a CPU the two versions
        do the same number of multiply-adds, so the gain is modest; on a GPU, where each kernel launch and each
        dependency between kernels costs time, fusing the hidden-side products into one matmul
        matters more, and it is why cuDNN chose reset-after.
        """
    ),
    code(
        """
        torch.set_default_dtype(torch.float32)
        T_BENCH, N_BENCH, H_BENCH = 50, 64, 256
        generator = torch.Generator().manual_seed(0)
        bound = H_BENCH**-0.5
        W_hb = (torch.rand(H_BENCH, 3 * H_BENCH, generator=generator) * 2 - 1) * bound
        b_hb = (torch.rand(3 * H_BENCH, generator=generator) * 2 - 1) * bound
        x_projs = torch.randn(T_BENCH, N_BENCH, 3 * H_BENCH, generator=generator)


        def run(step):
            H = torch.zeros(N_BENCH, H_BENCH)
            start = time.perf_counter()
            with torch.no_grad():
                for x_proj_t in x_projs.unbind(0):
                    H = step(x_proj_t, H, W_hb, b_hb)
            return time.perf_counter() - start


        seconds = {name: [] for name in ("before", "after")}
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # one CPU thread: the comparison is then not blurred by thread scheduling
        for _ in range(5):
            for name, step in [("before", step_before), ("after", step_after)]:
                seconds[name].append(run(step))
        torch.set_num_threads(threads)
        before, after = statistics.median(seconds["before"]), statistics.median(seconds["after"])
        print(f"{T_BENCH} steps, batch {N_BENCH}, hidden {H_BENCH} on {device}: reset before {1e3 * before:.1f} ms, "
              f"reset after {1e3 * after:.1f} ms; reset-after is {before / after:.2f}x as fast")
        """
    ),
    md(
        r"""
        ## Reset-after is what `torch.nn.GRU` computes

        `nn.GRU` stores its weights transposed, as `weight_ih_l0` $(3h \times d)$ and
        `weight_hh_l0` $(3h \times h)$, in the order (reset, update, candidate), with the two
        biases `bias_ih_l0` and `bias_hh_l0`. Copied into our stacked matrices, our reset-after
        step must reproduce its outputs to rounding error, over a whole sequence; `d2lutil`'s
        `GRUScratch` must too. In double precision we ask for agreement to $10^{-6}$.
        """
    ),
    code(
        """
        torch.set_default_dtype(torch.float64)
        d2lutil.set_seed(1)
        T = 12
        reference = nn.GRU(d, h).double()
        X_seq = torch.randn(T, n, d)  # time-major (T, n, d), as nn.GRU expects
        with torch.no_grad():
            outputs_ref, _ = reference(X_seq)
            W_x_ref, b_x_ref = reference.weight_ih_l0.T, reference.bias_ih_l0
            W_h_ref, b_h_ref = reference.weight_hh_l0.T, reference.bias_hh_l0
            H, outputs = torch.zeros(n, h), []
            for x_t in X_seq:
                H = step_after(x_t @ W_x_ref + b_x_ref, H, W_h_ref, b_h_ref)
                outputs.append(H)
            ours = torch.stack(outputs)
            scratch = copy_nn_gru_to_scratch(reference, GRUScratch(d, h).double())
            outputs_scratch, _ = scratch(X_seq)

        err_ours = (ours - outputs_ref).abs().max().item()
        err_scratch = (outputs_scratch - outputs_ref).abs().max().item()
        assert err_ours < 1e-6 and err_scratch < 1e-6
        print(f"over {T} steps: |ours - nn.GRU| <= {err_ours:.1e}, |GRUScratch - nn.GRU| <= {err_scratch:.1e}")
        torch.set_default_dtype(torch.float32)
        """
    ),
    md(
        r"""
        ## Move the gates yourself

        To see what each gate does over time, take a GRU with a single hidden unit, hold $R$ and
        $Z$ constant, and feed it a toy sequence: small random inputs with one large pulse at step
        5. The top panel shows the inputs, the bottom one the state $h_t$ (and the candidate
        $\tilde{h}_t$), with the plain RNN ($R = 1$, $Z = 0$) dashed for comparison. The title
        measures memory: how much of the pulse's effect on $h$ is left 15 steps later.

        * Raise $Z$: the state changes more slowly, so the pulse is remembered longer, but it also
          enters more weakly, and the noise is smoothed away. A trained GRU avoids this trade-off by
          moving $Z$ at every step: low when something worth storing arrives, high otherwise.
        * Lower $R$: the candidate ignores the state, so with small $Z$ the cell forgets at once.
        """
    ),
    code(
        """
        STEPS, PULSE_AT = 40, 5
        inputs = 0.3 * np.random.default_rng(0).standard_normal(STEPS)
        inputs[PULSE_AT] = 2.5
        W_X, W_H, B = 1.5, 0.8, 0.0  # the one unit's input weight, recurrent weight and bias


        def trajectory(r, z, xs=inputs):
            \"\"\"h_t and the candidate over the sequence xs, with R = r and Z = z at every step.\"\"\"
            state, states, candidates = 0.0, [], []
            for x in xs:
                cand = np.tanh(W_X * x + W_H * (r * state) + B)
                state = z * state + (1 - z) * cand
                states.append(state)
                candidates.append(cand)
            return np.array(states), np.array(candidates)


        def memory(r, z, later=15):
            \"\"\"The pulse's effect on h, `later` steps after it, as a fraction of its effect at the pulse.\"\"\"
            without_pulse = inputs.copy()
            without_pulse[PULSE_AT] = 0.0
            effect = trajectory(r, z)[0] - trajectory(r, z, without_pulse)[0]
            return effect[PULSE_AT + later] / effect[PULSE_AT] if abs(effect[PULSE_AT]) > 1e-12 else float("nan")


        plain_rnn, _ = trajectory(1.0, 0.0)
        lines = {}


        def draw_trajectory(fig, r, z):
            states, candidates = trajectory(r, z)
            if not fig.axes:  # first call: axes, the inputs and the plain-RNN reference
                top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 2.2]})
                fig.subplots_adjust(left=0.1, right=0.98, top=0.88, bottom=0.13, hspace=0.12)
                top.bar(range(STEPS), inputs, color=COLORS["input"], width=0.7)
                top.set_ylabel("input $x_t$")
                bottom.plot(plain_rnn, "--", color="0.55", lw=1.5, label="plain RNN (R = 1, Z = 0)")
                candidate_style = {"color": COLORS["candidate"], "lw": 1, "alpha": 0.8}
                (lines["candidate"],) = bottom.plot([], [], **candidate_style, label=r"candidate $\\tilde{h}_t$")
                (lines["state"],) = bottom.plot([], [], "-o", color=COLORS["state"], lw=2, ms=3, label="state $h_t$")
                bottom.axvline(PULSE_AT, color="0.8", lw=1, zorder=0)
                bottom.set_xlim(-0.5, STEPS - 0.5)
                bottom.set_ylim(-1.05, 1.55)
                bottom.set_xlabel("time step $t$")
                bottom.set_ylabel("hidden state")
                bottom.legend(loc="upper center", fontsize=8, ncol=3)
                lines["title"] = fig.suptitle("", fontsize=11)
            lines["state"].set_data(range(STEPS), states)
            lines["candidate"].set_data(range(STEPS), candidates)
            kept = memory(r, z)
            if np.isnan(kept):  # Z = 1: the state never changes, so the pulse never enters it
                finding = "the state is frozen, so the pulse never gets in"
            else:
                finding = f"15 steps after the pulse, {kept:.0%} of its effect on $h$ remains"
            lines["title"].set_text(f"R = {r:.2f}, Z = {z:.2f}: {finding}")


        def gate_slider(value, description):
            return widgets.FloatSlider(
                value=value, min=0.0, max=1.0, step=0.05, description=description,
                continuous_update=True, style={"description_width": "110px"}, layout=widgets.Layout(width="340px"),
            )


        trajectory_figure = InteractiveFigure(
            draw_trajectory,
            {"r": gate_slider(1.0, "reset gate R"), "z": gate_slider(0.8, "update gate Z")},
            figsize=(7.5, 4.0),
            columns=2,
            clear=False,  # draw_trajectory updates two lines and the title in place
        )
        trajectory_figure
        """
    ),
    code(
        """
        controls = trajectory_figure.controls
        for z in [0.0, 0.5, 0.9, 0.95]:
            controls["z"].value = z
        for r in [0.5, 0.0]:
            controls["r"].value = r
        kept, kept_rnn = memory(controls["r"].value, controls["z"].value), memory(1.0, 0.0)
        assert abs(kept - 0.95**15) < 1e-9, "with R = 0 the state's memory of the pulse decays exactly as Z**t"
        assert kept_rnn < 0.01, "the plain RNN (W_H = 0.8) should have all but forgotten the pulse"
        print(f"15 steps after the pulse: GRU with R = 0, Z = 0.95 keeps {kept:.1%} of its effect (0.95**15), "
              f"the plain RNN {kept_rnn:.1%}")
        print("redraw timings:", trajectory_figure.timing_summary())
        """
    ),
    md(
        r"""
        ## Summary

        * The candidate $\tilde{\mathbf{H}}_t = \tanh(\mathbf{X}_t \mathbf{W}_{xh} + (\mathbf{R}_t
          \odot \mathbf{H}_{t-1})\mathbf{W}_{hh} + \mathbf{b}_h)$ is a plain RNN step whose view
          of the past the reset gate can shut off.
        * The new state $\mathbf{H}_t = \mathbf{Z}_t \odot \mathbf{H}_{t-1} + (1 - \mathbf{Z}_t)
          \odot \tilde{\mathbf{H}}_t$ is a convex combination; with $\mathbf{Z}_t = 1$ it copies
          the state and passes the gradient through unchanged (Jacobian = identity).
        * $\mathbf{R}_t = 1, \mathbf{Z}_t = 0$ recovers the plain RNN exactly.
        * The reset gate acts *before* the matmul in Cho et al. (2014) and the d2l text, and
          *after* it in cuDNN, `torch.nn.GRU` and Keras; reset-after puts the hidden-side products
          of all three parts in one matmul. Our reset-after step matches `nn.GRU` and `d2lutil`'s
          `GRUScratch` to rounding error.

        Notebook 4 builds a whole GRU language model from scratch with these pieces.

        ## References

        * Cho, K., van Merriënboer, B., Gulcehre, C., Bahdanau, D., Bougares, F., Schwenk, H., &
          Bengio, Y. (2014). Learning phrase representations using RNN encoder-decoder for
          statistical machine translation. *EMNLP*.
        * Chung, J., Gulcehre, C., Cho, K., & Bengio, Y. (2014). Empirical evaluation of gated
          recurrent neural networks on sequence modeling. *arXiv:1412.3555*.
        * PyTorch documentation, `torch.nn.GRU`; Keras documentation, `keras.layers.GRU`
          (`reset_after`); NVIDIA cuDNN documentation, `cudnnRNNMode_t` (`CUDNN_GRU`).
        """
    ),
]

if __name__ == "__main__":
    write("03_candidate_state.ipynb", TITLE, CELLS)
