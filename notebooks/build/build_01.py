"""Build notebooks/01_motivation.ipynb (run: python notebooks/build/build_01.py)."""

from common import code, md, write

TITLE = r"""
# Why plain RNNs forget

A recurrent neural network reads a sequence one step at a time and carries what it has seen in
its hidden state. In principle that state can hold anything from the past. In practice a plain
RNN, trained by gradient descent, struggles to learn dependencies that span more than a few dozen
steps. This notebook shows why, with measurements rather than sketches, and shows the gated
recurrent unit (GRU) solving a task on which a plain RNN stays at chance. The next two notebooks
take the GRU apart.
"""

CELLS = [
    code(
        """
        import copy

        import matplotlib.pyplot as plt
        import numpy as np
        import torch
        from torch import nn

        from d2lutil.diagrams import COLORS
        from d2lutil.gates import trace_gates
        from d2lutil.models import GRUScratch, RNNScratch
        from d2lutil.tasks import SequenceModel, first_token_recall, train_on_task

        # The layers in this notebook are tiny (32 to 64 units): on a CPU one thread runs them faster than
        # several threads that mostly wait for each other, and much faster when other programs share the CPU.
        torch.set_num_threads(1)
        """
    ),
    md(
        r"""
        ## Three situations a sequence model must handle

        1. **An early token decides everything.** The first character of a serial number is a
           checksum of the rest; the first word of a review ("Not ...") flips the meaning of all
           that follows. The model must store that token at once and carry it, untouched, across
           everything that comes after.
        2. **Some tokens should be skipped.** Markup in a web page, filler words, a burst of
           noise: the best thing the state can do is not change at all while they pass.
        3. **Sometimes the state should be reset.** At the end of a sentence, a paragraph or a
           document that was concatenated with the next one, what came before stops mattering;
           carrying it on only gets in the way.

        A plain RNN has one tool for all three: at every step it recomputes its whole state,
        $\mathbf{H}_t = \tanh(\mathbf{X}_t \mathbf{W}_{xh} + \mathbf{H}_{t-1} \mathbf{W}_{hh} +
        \mathbf{b}_h)$, with the same weights, whether the token matters or not. It cannot simply
        *keep* its state, and, as we now see, it can hardly *learn* to keep it. The GRU adds
        gates that make keeping (situations 1 and 2) and resetting (situation 3) explicit.

        ## Gradients through time are products of Jacobians

        Training adjusts the weights by the gradient of a loss, and a loss at the last step $T$
        reaches an early step $t$ only through the chain of states in between. By the chain rule,

        $$
        \frac{\partial \mathbf{h}_T}{\partial \mathbf{h}_t}
        = \prod_{i=t+1}^{T} \frac{\partial \mathbf{h}_i}{\partial \mathbf{h}_{i-1}}
        = \prod_{i=t+1}^{T} \operatorname{diag}\big(1 - \mathbf{h}_i^2\big)\, \mathbf{W}_{hh}^\top ,
        $$

        for one example's state $\mathbf{h}_i \in \mathbb{R}^h$ of a tanh RNN (the column-vector
        form of the equation above; $1 - \tanh^2$ is the derivative of $\tanh$). Each factor has
        norm at most $\|\mathbf{W}_{hh}\|_2$, because $0 < 1 - \mathbf{h}_i^2 \le 1$, so

        $$
        \Big\| \frac{\partial \mathbf{h}_T}{\partial \mathbf{h}_t} \Big\|_2 \le \|\mathbf{W}_{hh}\|_2^{\,T-t}.
        $$

        When the largest singular value of $\mathbf{W}_{hh}$ is below 1, the gradient that
        connects step $t$ to step $T$ shrinks geometrically with the distance $T - t$: it
        *vanishes*, and the early token's contribution to the weight update is drowned out by
        the nearby ones. When it is large, the product can instead *explode*. Bengio, Simard and
        Frasconi (1994) showed that a network that stores information robustly must be in the
        vanishing regime, and Pascanu, Mikolov and Bengio (2013) gave the conditions above and
        the gradient clipping that tames explosions. Vanishing has no such easy fix.

        A GRU computes its new state as a mix of the old one and a candidate,
        $\mathbf{h}_i = \mathbf{z}_i \odot \mathbf{h}_{i-1} + (1 - \mathbf{z}_i) \odot
        \tilde{\mathbf{h}}_i$, with an *update gate* $\mathbf{z}_i \in (0, 1)^h$ computed from the
        data (notebook 2). Its step Jacobian is $\operatorname{diag}(\mathbf{z}_i)$ plus terms
        that pass through the gates and the candidate. Where $\mathbf{z}_i$ is close to 1, the
        step is close to the identity, and the product of many such steps need not shrink.

        ## Measuring $\|\partial \mathbf{h}_T / \partial \mathbf{h}_t\|$ with autograd

        Rather than trust the bound, we measure the Jacobian. We run a layer one step at a time,
        keep every state $\mathbf{h}_t$ in the autograd graph, and ask autograd for the gradient of
        each coordinate of $\mathbf{h}_T$ with respect to every earlier state at once (one
        backward pass per coordinate, batched). That gives the full $h \times h$ matrix
        $\partial \mathbf{h}_T / \partial \mathbf{h}_t$ for every $t$, and we take its spectral
        norm. The layer is copied to the CPU in double precision, since the numbers get very small.
        """
    ),
    code(
        """
        def jacobian_norms(layer, X):
            \"\"\"Spectral norms ||dh_T/dh_t||_2 for a recurrent layer with nn.RNN's interface.

            X: (T, B, d) inputs. Returns (T + 1, B): row k holds the norm at distance k = T - t
            (row 0 is dh_T/dh_T = I), for each of the B sequences.
            \"\"\"
            layer = copy.deepcopy(layer).to("cpu", torch.float64)
            X = X.detach().to("cpu", torch.float64)
            T, B, _ = X.shape
            hidden = layer.hidden_size
            H = X.new_zeros(1, B, hidden, requires_grad=True)
            states = [H]
            for t in range(T):
                H = layer(X[t : t + 1], H)[1]
                states.append(H)
            # one backward pass per coordinate i of h_T, all of them batched: row i of every Jacobian
            basis = torch.eye(hidden, dtype=X.dtype).view(hidden, 1, 1, hidden).expand(hidden, 1, B, hidden)
            grads = torch.autograd.grad(states[-1], states, grad_outputs=basis, is_grads_batched=True)
            jacobians = torch.stack(grads)[:, :, 0].permute(0, 2, 1, 3)  # (T + 1, B, h, h)
            return torch.linalg.matrix_norm(jacobians, ord=2).flip(0)
        """
    ),
    md(
        r"""
        We measure three freshly initialised layers with $d = 8$ inputs and $h = 64$ hidden units,
        on 8 random input sequences of length 60 ($\mathbf{x}_t \sim \mathcal{N}(0, I)$). All
        weights and biases start as PyTorch initialises them, uniform in
        $\pm 1/\sqrt{h} = \pm 0.125$. The third layer differs in one respect: its update-gate bias
        starts at $+3$, so that $\mathbf{z} \approx \sigma(3) = 0.95$ and the cell leans towards
        keeping its state. The curves show the geometric mean over the 8 sequences, the band
        their range.
        """
    ),
    code(
        """
        d2lutil.set_seed(0)
        D_IN, HIDDEN, LENGTH, SEQS = 8, 64, 60, 8
        rnn_layer = RNNScratch(D_IN, HIDDEN)
        gru_layer = GRUScratch(D_IN, HIDDEN)
        gru_keep = GRUScratch(D_IN, HIDDEN)
        with torch.no_grad():  # columns h..2h of the stacked weights belong to the update gate
            gru_keep.b_x[HIDDEN : 2 * HIDDEN] = 3.0
            gru_keep.b_h[HIDDEN : 2 * HIDDEN] = 0.0
        X_random = torch.randn(LENGTH, SEQS, D_IN)

        layers = {
            "tanh RNN": (rnn_layer, "0.35"),
            "GRU": (gru_layer, COLORS["update"]),
            "GRU, update-gate bias +3": (gru_keep, COLORS["candidate"]),
        }
        norms_at_init = {name: jacobian_norms(layer, X_random) for name, (layer, _) in layers.items()}


        def plot_norms(norms_by_name, colors, title, ax):
            for name, norms in norms_by_name.items():
                distance = np.arange(norms.shape[0])
                log_norms = norms.clamp_min(1e-300).log10().numpy()
                ax.plot(distance, 10 ** log_norms.mean(1), color=colors[name], lw=2, label=name)
                low, high = 10 ** log_norms.min(1), 10 ** log_norms.max(1)
                ax.fill_between(distance, low, high, color=colors[name], alpha=0.15)
            ax.set_yscale("log")
            ax.set_xlabel("distance $T - t$ (steps)")
            ax.set_ylabel(r"$\\|\\partial h_T / \\partial h_t\\|_2$")
            ax.set_title(title, fontsize=10.5)
            ax.grid(True, which="major", alpha=0.3)
            ax.legend()


        fig, ax = plt.subplots(figsize=(7, 4))
        plot_norms(
            norms_at_init, {name: color for name, (_, color) in layers.items()},
            "At initialisation the gradient vanishes geometrically,\\nunless the update gate starts close to 1", ax,
        )
        plt.show()
        for name, norms in norms_at_init.items():
            print(f"{name:26} ||dh_T/dh_t|| at distance 50: {10 ** norms[50].log10().mean().item():.1e}")
        """
    ),
    md(
        r"""
        Both default layers lose a factor of ten every few steps: after 50 steps the gradient is
        around $10^{-10}$ or smaller, so a signal at the start of a sequence has no measurable
        influence on how the weights change. The default GRU is no exception: its update gate
        starts near $\sigma(0) = 0.5$, and a product of fifty factors of about one half is tiny.
        What the GRU has, and the RNN lacks, is a *knob*: once the update gate is close to 1,
        the Jacobian of each step is close to the identity and the gradient crosses 50 steps
        losing only a modest factor. A GRU can learn to turn that knob; a tanh RNN has nothing to
        turn.

        ## A long-range task: recall the first token

        Let us see whether that matters for learning. In *first-token recall*, each sequence
        starts with one of 4 class symbols, followed by random symbols (8 possible) up to the full
        length; the label is the first symbol. Everything after the first step is noise to be
        ignored: situations 1 and 2 at once. Guessing scores $1/4$.

        Both models embed the symbols in 16 dimensions, read the sequence with 32 hidden units,
        and classify from the last state. They train on fresh random batches of 128 with Adam
        (learning rate $10^{-2}$) and gradient clipping at 1, and are scored on 2,048 held-out
        sequences. Following the measurement above, the GRU's update-gate bias starts at $+3$.
        With PyTorch's default initialisation the GRU can still learn the task, but only after it
        stumbles out of the plateau that the vanishing gradient creates, which took more than a
        thousand steps, or did not happen within 1,500, depending on the seed, when we tried.
        (Jozefowicz, Zaremba and Sutskever (2015) recommend the same kind of initialisation for
        the LSTM's forget gate.) The plain RNN has no gate to initialise.
        """
    ),
    code(
        """
        TASK = {  # sequence length and training steps per budget
            "quick": {"length": 50, "steps": 300},  # CI: a few seconds per model on a quiet 2-core CPU
            "cpu": {"length": 100, "steps": 600},
            "full": {"length": 100, "steps": 1000},
        }[BUDGET]
        CLASSES, SYMBOLS, EMBED, HIDDEN_TASK = 4, 8, 16, 32


        def make_batch(batch_size, generator):
            return first_token_recall(batch_size, TASK["length"], CLASSES, SYMBOLS, generator=generator)


        def make_model(kind):
            if kind == "GRU":
                rnn = nn.GRU(EMBED, HIDDEN_TASK)
                with torch.no_grad():  # update-gate bias +3 (nn.GRU stacks the gates as reset, update, candidate)
                    rnn.bias_ih_l0[HIDDEN_TASK : 2 * HIDDEN_TASK] = 3.0
                    rnn.bias_hh_l0[HIDDEN_TASK : 2 * HIDDEN_TASK] = 0.0
            else:
                rnn = nn.RNN(EMBED, HIDDEN_TASK, nonlinearity="tanh")
            return SequenceModel(rnn, CLASSES, vocab_size=SYMBOLS, embed_size=EMBED).to(device)


        models, results = {}, {}
        for kind in ["GRU", "tanh RNN"]:
            d2lutil.set_seed(0)
            models[kind] = make_model(kind)
            results[kind] = train_on_task(
                models[kind], make_batch, TASK["steps"], batch_size=128, lr=1e-2, clip=1.0, log_every=25
            )
            print(f"{kind:8}: test accuracy {results[kind].test_score:.3f} after {TASK['steps']} steps at length "
                  f"{TASK['length']} ({results[kind].seconds:.1f} s)")
        """
    ),
    code(
        """
        acc_gru, acc_rnn = results["GRU"].test_score, results["tanh RNN"].test_score
        fig, ax = plt.subplots(figsize=(7, 4))
        for kind, color in [("GRU", COLORS["update"]), ("tanh RNN", "0.35")]:
            label = f"{kind} (test accuracy {results[kind].test_score:.3f})"
            ax.plot(results[kind].steps, results[kind].losses, color=color, lw=2, label=label)
        chance = np.log(CLASSES)
        ax.axhline(chance, color="0.6", ls="--", lw=1, label=f"chance: loss ln {CLASSES} = {chance:.2f}")
        ax.set_xlabel("training step")
        ax.set_ylabel("training cross-entropy loss")
        ax.set_ylim(bottom=0)
        title = f"First-token recall at length {TASK['length']}:\\nthe GRU learns it, the tanh RNN stays at chance"
        ax.set_title(title, fontsize=10.5)
        ax.legend()
        plt.show()

        assert acc_gru >= 0.95, f"the GRU should solve the task, got accuracy {acc_gru:.3f}"
        assert acc_rnn <= 0.40, f"the tanh RNN should stay near chance (0.25), got accuracy {acc_rnn:.3f}"
        """
    ),
    md(
        r"""
        The plain RNN's loss never leaves $\ln 4$: it predicts the four classes with equal
        probability, because the one token that matters sits 49 or more steps before the output,
        where its gradient has vanished. The GRU's loss drops to nearly zero.

        ## What training did to the gradient

        The same measurement on the two trained models, now fed held-out task sequences
        (embedded), shows what the GRU learned.
        """
    ),
    code(
        """
        held_out = torch.Generator().manual_seed(123)
        X_test, _ = first_token_recall(8, TASK["length"], CLASSES, SYMBOLS, generator=held_out)
        norms_trained = {}
        with torch.no_grad():
            # the layers' inputs: embedded symbols, time-major (T, 8, 16)
            embedded = {kind: models[kind].embedding(X_test.to(device)).transpose(0, 1) for kind in models}
        for kind in models:
            norms_trained[kind] = jacobian_norms(models[kind].rnn, embedded[kind])

        fig, ax = plt.subplots(figsize=(7, 4))
        plot_norms(norms_trained, {"GRU": COLORS["update"], "tanh RNN": "0.35"},
                   "After training, the GRU's gradient spans the whole sequence;\\nthe tanh RNN's still vanishes", ax)
        plt.show()

        far = TASK["length"] - 1  # from the last state back to the first one
        g_far = {kind: 10 ** norms_trained[kind][far].log10().mean().item() for kind in models}
        z_per_unit = trace_gates(models["GRU"].rnn, embedded["GRU"]).z[1:].mean(dim=(0, 1))  # (32,): noise steps only
        print(f"||dh_T/dh_1|| after training: GRU {g_far['GRU']:.1e}, tanh RNN {g_far['tanh RNN']:.1e}")
        top = ", ".join(f"{value:.3f}" for value in z_per_unit.sort(descending=True).values[:4])
        print(f"the trained GRU's update gate over the noise tokens: {z_per_unit.mean():.3f} on average, {top} in the")
        print("four units that keep the most")
        assert g_far["GRU"] > 0.1 and g_far["GRU"] > 1e3 * g_far["tanh RNN"]
        """
    ),
    md(
        r"""
        Trained on the task, the GRU's gradient no longer vanishes: its norm stays close to 1 all
        the way from the last state back to the first. Its update gates lean towards keeping
        while the noise streams by, though not all the way to 1: the trained cell combines
        partial keeping with a candidate that writes back what the state already holds, and the
        product of its step Jacobians stays near 1 along the direction that stores the class.
        What mattered was the start: with its update gate near 1 the GRU received the
        long-range gradient from the first step of training on, and training found a way to keep
        it. The tanh RNN, whose only way to keep information is through $\mathbf{W}_{hh}$ and
        the squashing $\tanh$, never received the signal it needed to change.

        ## Summary

        * The gradient from step $T$ back to step $t$ is a product of $T - t$ Jacobians; in a
          tanh RNN its norm typically shrinks geometrically with the distance (Bengio et al.,
          1994; Pascanu et al., 2013). We measured it: about $10^{-10}$ after 50 steps.
        * A GRU's state update is a gated mix of the old state and a candidate. With the update
          gate near 1, each step is nearly the identity and gradients survive long distances.
        * On first-token recall, a task made of situations 1 and 2, a GRU learns to keep the first
          token and scores near 100%, while a tanh RNN of the same size stays at chance.

        Notebook 2 builds the gates that make this possible; notebook 3 the candidate state and
        the update.

        ## References

        * Bengio, Y., Simard, P., & Frasconi, P. (1994). Learning long-term dependencies with
          gradient descent is difficult. *IEEE Transactions on Neural Networks*, 5(2), 157-166.
        * Pascanu, R., Mikolov, T., & Bengio, Y. (2013). On the difficulty of training recurrent
          neural networks. *ICML*.
        * Cho, K., van Merriënboer, B., Gulcehre, C., Bahdanau, D., Bougares, F., Schwenk, H., &
          Bengio, Y. (2014). Learning phrase representations using RNN encoder-decoder for
          statistical machine translation. *EMNLP*.
        * Chung, J., Gulcehre, C., Cho, K., & Bengio, Y. (2014). Empirical evaluation of gated
          recurrent neural networks on sequence modeling. *arXiv:1412.3555*.
        * Jozefowicz, R., Zaremba, W., & Sutskever, I. (2015). An empirical exploration of
          recurrent network architectures. *ICML*.
        """
    ),
]

if __name__ == "__main__":
    write("01_motivation.ipynb", TITLE, CELLS)
