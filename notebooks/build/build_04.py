"""Build notebooks/04_scratch.ipynb (run: python notebooks/build/build_04.py)."""
# ruff: noqa: E501  (the strings below are notebook cells, dedented by 8: the notebooks themselves are linted at 120)

from common import code, md, write

TITLE = r"""
# A GRU language model from scratch

Notebooks 2 and 3 built the gates, the candidate and the new state one equation at a time. Now we
assemble them into a recurrent layer, put a language model around it and train it on H. G. Wells'
*The Time Machine*, one character at a time. Everything recurrent is written out here: the
parameters, the state, the step function and the loop over time. We check that our layer computes
exactly what `torch.nn.GRU` computes, train it while watching the training and held-out
perplexity, and let it write.
"""

CELLS = [
    code(
        """
        import math

        import torch
        import torch.nn.functional as F
        from torch import nn

        from d2lutil.models import RNNLM, GRUScratch
        """
    ),
    md(
        r"""
        ## The data

        We read the book as d2l does: lower-cased, every run of characters other than letters
        folded into one space. That leaves 26 letters and the space, plus `<unk>` for anything
        else, so the vocabulary has 28 tokens. The first 90% of the text is for training; the last
        10% is held out, and every perplexity called *held-out* below is measured there, on text
        the model never trained on.

        A training minibatch is $n$ windows of $T$ consecutive characters, `X` of shape $(n, T)$,
        and the targets `Y` are the same windows shifted by one character: at every position the
        model must predict the next character. The windows are drawn at random positions each
        epoch, so the state starts from zero in every window.
        """
    ),
    code(
        """
        data = d2lutil.load_time_machine()
        vocab = data.vocab
        print(f"{len(vocab)} tokens: {vocab.idx_to_token}")
        print(f"{len(data.train_tokens):,} characters for training, {len(data.val_tokens):,} held out")

        d2lutil.set_seed(0)
        X, Y = next(iter(data.train_iter(batch_size=2, num_steps=24)))
        print("X:", tuple(X.shape), "Y:", tuple(Y.shape))
        for x, y in zip(X, Y, strict=True):
            print(f"  X {''.join(vocab.to_tokens(x.tolist()))!r}\\n  Y {''.join(vocab.to_tokens(y.tolist()))!r}")
        """
    ),
    md(
        r"""
        ## The parameters

        A GRU layer with $d$ inputs and $h$ hidden units has three parts, and each part has a
        weight matrix for the input, one for the previous state, and biases:

        | part | input weights | state weights | biases |
        |---|---|---|---|
        | reset gate $\mathbf{R}_t$ | $\mathbf{W}_{xr}$, $d \times h$ | $\mathbf{W}_{hr}$, $h \times h$ | $\mathbf{b}_{xr}$, $\mathbf{b}_{hr}$, each $h$ |
        | update gate $\mathbf{Z}_t$ | $\mathbf{W}_{xz}$, $d \times h$ | $\mathbf{W}_{hz}$, $h \times h$ | $\mathbf{b}_{xz}$, $\mathbf{b}_{hz}$ |
        | candidate $\tilde{\mathbf{H}}_t$ | $\mathbf{W}_{xh}$, $d \times h$ | $\mathbf{W}_{hh}$, $h \times h$ | $\mathbf{b}_{xh}$, $\mathbf{b}_{hh}$ |

        We keep two bias vectors per part, one on the input side and one on the state side,
        because that is how `nn.GRU` (and cuDNN) store them. For the two gates the pair simply adds
        up, so one vector would do. For the candidate they differ once the reset gate multiplies the
        state side *including its bias* (the reset-after form of notebook 3); to reproduce
        `nn.GRU` exactly we need both.

        How to initialise? We draw every entry uniformly from $[-1/\sqrt{h}, 1/\sqrt{h}]$, as
        `nn.GRU` does: a sum of $h$ such terms times states in $(-1, 1)$ stays of order one, so the
        gates start near $0.5$, neither open nor shut, and the gradients start neither vanishing nor
        exploding. (The d2l text draws the weights from $\mathcal{N}(0, 0.01^2)$ and the biases as
        zeros; both train.)
        """
    ),
    code(
        """
        PARTS = {"r": "reset gate", "z": "update gate", "h": "candidate"}


        def init_gru_params(num_inputs, num_hiddens, device=None):
            \"\"\"The 12 parameters of a GRU layer, uniform in +-1/sqrt(num_hiddens), by name.\"\"\"
            bound = 1 / math.sqrt(num_hiddens)

            def uniform(*shape):
                return nn.Parameter(torch.empty(*shape, device=device).uniform_(-bound, bound))

            params = {}
            for p in PARTS:
                params[f"W_x{p}"] = uniform(num_inputs, num_hiddens)  # (d, h)
                params[f"W_h{p}"] = uniform(num_hiddens, num_hiddens)  # (h, h)
                params[f"b_x{p}"] = uniform(num_hiddens)  # (h,)
                params[f"b_h{p}"] = uniform(num_hiddens)  # (h,)
            return params


        for name, value in init_gru_params(num_inputs=len(vocab), num_hiddens=256).items():
            print(f"{name}: {tuple(value.shape)}", end="\\n" if name.startswith("b_h") else "   ")
        """
    ),
    md(
        r"""
        ## The state

        The hidden state $\mathbf{H}_t$ holds one row of $h$ numbers per sequence in the
        minibatch, $n \times h$. Before the first character nothing has been read, so it starts
        at zero.
        """
    ),
    code(
        """
        def init_gru_state(batch_size, num_hiddens, device=None):
            \"\"\"H_0: zeros of shape (batch_size, num_hiddens).\"\"\"
            return torch.zeros(batch_size, num_hiddens, device=device)
        """
    ),
    md(
        r"""
        ## One step

        With $\mathbf{X}_t$ of shape $n \times d$ and $\mathbf{H}_{t-1}$ of shape $n \times h$,
        one step computes, as notebooks 2 and 3 derived,

        $$
        \begin{aligned}
        \mathbf{R}_t &= \sigma(\mathbf{X}_t \mathbf{W}_{xr} + \mathbf{b}_{xr} + \mathbf{H}_{t-1} \mathbf{W}_{hr} + \mathbf{b}_{hr}),\\
        \mathbf{Z}_t &= \sigma(\mathbf{X}_t \mathbf{W}_{xz} + \mathbf{b}_{xz} + \mathbf{H}_{t-1} \mathbf{W}_{hz} + \mathbf{b}_{hz}),\\
        \tilde{\mathbf{H}}_t &= \tanh\big(\mathbf{X}_t \mathbf{W}_{xh} + \mathbf{b}_{xh} + \mathbf{R}_t \odot (\mathbf{H}_{t-1} \mathbf{W}_{hh} + \mathbf{b}_{hh})\big) \quad\text{(reset after)},\\
        \mathbf{H}_t &= \mathbf{Z}_t \odot \mathbf{H}_{t-1} + (1 - \mathbf{Z}_t) \odot \tilde{\mathbf{H}}_t ,
        \end{aligned}
        $$

        every result $n \times h$. The candidate above is the reset-after form that `nn.GRU`
        computes; the d2l text (and Cho et al., 2014) apply the reset gate *before* the matrix
        product, $(\mathbf{R}_t \odot \mathbf{H}_{t-1})\mathbf{W}_{hh} + \mathbf{b}_{hh}$.
        The step function below does either, chosen by `reset`; both train equally well on this
        task, and we train reset-after so that the result can be compared with `nn.GRU`.
        """
    ),
    code(
        """
        def gru_step(X_t, H, params, reset="after"):
            \"\"\"One GRU step: X_t (n, d), H (n, h) -> new H (n, h).\"\"\"
            P = params
            R = torch.sigmoid(X_t @ P["W_xr"] + P["b_xr"] + H @ P["W_hr"] + P["b_hr"])  # (n, h)
            Z = torch.sigmoid(X_t @ P["W_xz"] + P["b_xz"] + H @ P["W_hz"] + P["b_hz"])  # (n, h)
            if reset == "after":  # nn.GRU and cuDNN
                H_tilde = torch.tanh(X_t @ P["W_xh"] + P["b_xh"] + R * (H @ P["W_hh"] + P["b_hh"]))
            else:  # reset before: the d2l text, Cho et al. (2014)
                H_tilde = torch.tanh(X_t @ P["W_xh"] + P["b_xh"] + (R * H) @ P["W_hh"] + P["b_hh"])
            return Z * H + (1 - Z) * H_tilde  # (n, h)
        """
    ),
    md(
        r"""
        ## The loop over time

        A layer applies the step to every time step in turn, carrying the state. We follow
        `nn.GRU`'s conventions so that our layer can stand in for it anywhere: inputs are
        *time-major*, $(T, n, d)$; the outputs are the states at every step, $(T, n, h)$; and the
        state goes in and out with a leading layer axis, $(1, n, h)$, `None` meaning zeros.
        """
    ),
    code(
        """
        class ScratchGRU(nn.Module):
            \"\"\"A one-layer GRU from the functions above, with nn.GRU's interface.

            forward(X (T, n, d), H (1, n, h) or None) -> (outputs (T, n, h), H_T (1, n, h))
            \"\"\"

            def __init__(self, input_size, hidden_size, reset="after"):
                super().__init__()
                self.input_size, self.hidden_size, self.reset = input_size, hidden_size, reset
                self.params = nn.ParameterDict(init_gru_params(input_size, hidden_size))

            def forward(self, X, H=None):
                H = init_gru_state(X.shape[1], self.hidden_size, X.device) if H is None else H[0]
                H = H.to(X.dtype)
                outputs = []
                for X_t in X.unbind(0):  # T tensors of shape (n, d)
                    H = gru_step(X_t, H, self.params, self.reset)
                    outputs.append(H)
                return torch.stack(outputs), H.unsqueeze(0)


        layer = ScratchGRU(input_size=len(vocab), hidden_size=16)
        X_onehot = F.one_hot(X.T, len(vocab)).float()  # (T, n, d): time-major one-hot characters
        outputs, H_T = layer(X_onehot)
        print("inputs", tuple(X_onehot.shape), "-> outputs", tuple(outputs.shape), "and final state", tuple(H_T.shape))
        assert outputs.shape == (24, 2, 16) and torch.equal(outputs[-1], H_T[0])
        """
    ),
    md(
        r"""
        ## Is it right? Three layers, one answer

        Two independent implementations agree only if both compute the equations. `d2lutil`'s
        `GRUScratch` is written for speed: it stacks the three parts' matrices side by side, in
        the order (reset, update, candidate), so that one $d \times 3h$ matrix multiplies the
        inputs of all time steps before the loop, and one $h \times 3h$ matrix multiplies the state
        at each step. `nn.GRU` stores the same stacks, transposed, as `weight_ih_l0`
        $(3h \times d)$ and `weight_hh_l0` $(3h \times h)$, with `bias_ih_l0` and `bias_hh_l0`.

        We copy one set of weights into all three layers and compare their outputs over a
        sequence of 30 steps, in double precision, where rounding error is around $10^{-15}$: we
        ask for agreement to $10^{-6}$. `GRUScratch` must match our layer for both reset
        conventions, and `nn.GRU` for reset-after.
        """
    ),
    code(
        """
        def stacked(params, side):
            \"\"\"Our per-part parameters stacked as GRUScratch holds them: W (rows, 3h), b (3h,).\"\"\"
            W = torch.cat([params[f"W_{side}{p}"] for p in PARTS], dim=1)
            b = torch.cat([params[f"b_{side}{p}"] for p in PARTS])
            return W, b


        torch.manual_seed(0)
        d, h, n, T = 5, 7, 3, 30
        X_check = torch.randn(T, n, d, dtype=torch.float64)
        H_check = torch.randn(1, n, h, dtype=torch.float64)
        reference = nn.GRU(d, h).double()  # initialised by PyTorch

        for reset in ("after", "before"):
            ours = ScratchGRU(d, h, reset).double()
            fused = GRUScratch(d, h, reset).double()
            with torch.no_grad():
                # nn.GRU's weights into our layer: rows [0:h) are the reset gate, [h:2h) update, [2h:3h) candidate
                for k, p in enumerate(PARTS):
                    rows = slice(k * h, (k + 1) * h)
                    ours.params[f"W_x{p}"].copy_(reference.weight_ih_l0[rows].T)
                    ours.params[f"W_h{p}"].copy_(reference.weight_hh_l0[rows].T)
                    ours.params[f"b_x{p}"].copy_(reference.bias_ih_l0[rows])
                    ours.params[f"b_h{p}"].copy_(reference.bias_hh_l0[rows])
                # ... and ours into GRUScratch, stacked
                fused.W_x.copy_(stacked(ours.params, "x")[0])
                fused.b_x.copy_(stacked(ours.params, "x")[1])
                fused.W_h.copy_(stacked(ours.params, "h")[0])
                fused.b_h.copy_(stacked(ours.params, "h")[1])
                out_ours, H_ours = ours(X_check, H_check)
                out_fused, _ = fused(X_check, H_check)
                out_ref, H_ref = reference(X_check, H_check)
            err_fused = (out_ours - out_fused).abs().max().item()
            assert err_fused < 1e-6, f"reset-{reset}: our GRU and d2lutil's GRUScratch differ by {err_fused:.1e}"
            line = f"reset-{reset:6s}: |ours - GRUScratch| = {err_fused:.1e}"
            if reset == "after":
                err_ref = max((out_ours - out_ref).abs().max().item(), (H_ours - H_ref).abs().max().item())
                assert err_ref < 1e-6, f"our reset-after GRU and nn.GRU differ by {err_ref:.1e}"
                line += f", |ours - nn.GRU| = {err_ref:.1e}"
            else:
                line += f"; vs nn.GRU (reset-after) it differs, as it should: {(out_ours - out_ref).abs().max().item():.2f}"
            print(line)
        """
    ),
    md(
        r"""
        ## A language model around the layer

        The model reads one character per step. Each character enters as a one-hot vector of
        length 28 (so $d = 28$), the GRU updates its state, and a linear layer turns the state,
        $n \times h$, into 28 scores, one per possible next character. `d2lutil`'s `RNNLM` does
        the one-hot encoding, runs any layer with `nn.GRU`'s interface (ours included) and applies
        the linear output layer: tokens $(n, T)$ in, scores $(n, T, 28)$ out.

        **The loss** is the cross-entropy of the next character, averaged over every position of
        the minibatch. Its exponential is the **perplexity**: the number of equally likely
        characters the model is, on average, choosing between. A model that knows nothing scores
        28 (the vocabulary size); one that always knows the next character, 1.

        **Gradient clipping.** Back-propagation through $T$ steps multiplies $T$ Jacobians
        (notebook 1), and now and then the gradient is huge. Before each update we rescale the
        whole gradient $\mathbf{g}$ to norm at most $\theta = 1$:
        $\mathbf{g} \leftarrow \min\left(1, \theta / \lVert \mathbf{g} \rVert\right) \mathbf{g}$.
        The direction is kept; only the step length is capped.

        **The recipe.** `d2lutil.train` does the rest: Adam, clipping, the training perplexity of
        each epoch, and after each epoch the perplexity on the held-out 10%, read in order with the
        state carried across it. The sizes come from `BUDGET`. The quick budget (the one CI runs on
        a 2-core CPU) trains a fixed number of epochs chosen so that the model is still improving
        when it stops: the number it reports is the held-out perplexity of the final weights, not
        of the best epoch picked after the fact. The larger budgets train longer and keep the
        weights of the epoch with the best held-out perplexity (early stopping, `restore_best`),
        since a 256-unit GRU on 156,000 characters starts to overfit after a few minutes.
        """
    ),
    code(
        """
        RECIPES = {  # hidden units, minibatch n x T, epochs, Adam learning rate; clip the gradient norm at 1
            "quick": dict(num_hiddens=256, batch_size=64, num_steps=64, num_epochs=8, lr=5e-3, restore_best=False),
            "cpu": dict(num_hiddens=256, batch_size=64, num_steps=64, num_epochs=20, lr=5e-3, restore_best=True),
            "full": dict(num_hiddens=256, batch_size=64, num_steps=64, num_epochs=40, lr=5e-3, restore_best=True),
        }
        recipe = RECIPES[BUDGET]
        print(BUDGET, recipe)

        d2lutil.set_seed(0)
        model = RNNLM(ScratchGRU(len(vocab), recipe["num_hiddens"]), vocab_size=len(vocab)).to(device)
        history = d2lutil.train(
            model,
            data.train_iter(recipe["batch_size"], recipe["num_steps"]),
            data.val_tokens,
            num_epochs=recipe["num_epochs"],
            lr=recipe["lr"],
            optimizer="adam",
            clip=1.0,
            restore_best=recipe["restore_best"],
            device=device,
            title="GRU from scratch",
        )
        print(history.summary())
        """
    ),
    code(
        """
        held_out = d2lutil.evaluate_perplexity(model, data.val_tokens)
        print(f"held-out perplexity of the trained model: {held_out:.2f} (a uniform guess scores {len(vocab)})")
        assert held_out <= 5.0, f"the scratch GRU should reach a held-out perplexity of 5.0 or lower, got {held_out:.2f}"
        """
    ),
    md(
        r"""
        The training and held-out curves fall together at first: the model learns which letters
        follow which, then common words and word endings. The training perplexity keeps falling
        after the held-out one levels off; that gap is overfitting, the model starting to memorise
        its 156,000 training characters.

        **For comparison.** The d2l 1.0 chapter trains a 32-unit GRU with plain SGD (learning rate
        4, clipping at 1) for 50 epochs on windows taken from the first 10,000 or so characters of
        the book. On this machine it reaches a validation perplexity of about 6.7 on its own split,
        which is text right next to its training text, and about 8 on the last 10% of the book, the
        held-out text we use, in 20 to 25 s. More hidden units, Adam and the whole first 90% of
        the book for training bring our model well below that in about the same time.
        """
    ),
    md(
        r"""
        ## Letting the model write

        To generate, we feed a prefix through the model to warm up the state, then repeatedly
        choose a next character and feed it back in. **Greedy** decoding takes the most likely
        character every time; it is deterministic, and it tends to fall into loops of the most
        common words. **Sampling** draws the next character from the softmax of the scores divided
        by a *temperature* $\tau$: $\tau = 1$ samples the model's own distribution, $\tau < 1$
        sharpens it towards the greedy choice, $\tau > 1$ flattens it towards noise. Sampling is
        seeded, so a rerun prints the same text.
        """
    ),
    code(
        """
        prefix = "time traveller"
        print(f"greedy:      {d2lutil.predict(prefix, 100, model, vocab)!r}")
        for temperature in (0.5, 1.0):
            text = d2lutil.predict(prefix, 100, model, vocab, temperature=temperature, seed=0)
            print(f"temperature {temperature}: {text!r}")
        """
    ),
    md(
        r"""
        Greedy decoding soon falls into a loop of common words: always taking the single most
        likely character leads back to the same few phrases. Sampling at $\tau = 0.5$ is varied and
        mostly made of real words; at $\tau = 1$ the model also invents words that merely look
        English. A character model of this size learns spelling and short phrases, not meaning.

        ## Summary

        * A GRU layer is 12 parameter tensors (three parts, each with input and state weights and
          two biases), a zero initial state, a step function of four lines, and a loop over time.
        * Written this way, with `nn.GRU`'s weights copied in, it reproduces `nn.GRU`'s outputs to
          $10^{-6}$ in double precision (reset-after), and `d2lutil`'s stacked `GRUScratch` for both
          reset conventions.
        * Trained as a character-level language model with Adam and gradient clipping, it
          reaches a held-out perplexity below 5 on the last 10% of *The Time Machine* within the
          quick budget, where the d2l 1.0 recipe reaches about 8.
        * Notebook 5 replaces our loop by `nn.GRU`, measures the speed of the three
          implementations, and opens up a larger trained GRU to look at its gates.

        ## References

        * Cho, K., van Merriënboer, B., Gulcehre, C., Bahdanau, D., Bougares, F., Schwenk, H., &
          Bengio, Y. (2014). Learning phrase representations using RNN encoder-decoder for
          statistical machine translation. *EMNLP*.
        * Pascanu, R., Mikolov, T., & Bengio, Y. (2013). On the difficulty of training recurrent
          neural networks. *ICML* (gradient clipping).
        * Zhang, A., Lipton, Z. C., Li, M., & Smola, A. J. *Dive into Deep Learning*, chapter
          "Gated Recurrent Units (GRU)" (d2l.ai).
        """
    ),
]

if __name__ == "__main__":
    write("04_scratch.ipynb", TITLE, CELLS)
