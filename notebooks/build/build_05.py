"""Build notebooks/05_concise.ipynb (run: python notebooks/build/build_05.py)."""
# ruff: noqa: E501  (the strings below are notebook cells, dedented by 8: the notebooks themselves are linted at 120)

from common import code, md, write

TITLE = r"""
# The concise GRU: `nn.GRU`, its speed, and a look inside a trained one

Notebook 4 wrote the GRU out step by step. PyTorch ships the same layer as `torch.nn.GRU`. In this
notebook we train the same language model with it, measure how fast the three implementations
are (the step-by-step layer as the d2l text writes it, our fused scratch layer, and `nn.GRU`),
and then open up a larger GRU, trained with the full recipe and shipped with `d2lutil`, to watch
its update and reset gates read *The Time Machine*.
"""

CELLS = [
    code(
        """
        import statistics
        import time

        import matplotlib.pyplot as plt
        import torch
        import torch.nn.functional as F

        from d2lutil.checkpoints import load_checkpoint
        from d2lutil.explorer import GateExplorer
        from d2lutil.gates import saturation, trace_gates
        from d2lutil.models import RNNLM, GRUD2LStyle, GRUScratch
        """
    ),
    md(
        r"""
        ## `nn.GRU`

        `nn.GRU(input_size, hidden_size, num_layers=1)` is the layer of notebook 4 in one line. It
        keeps the stacked weights `weight_ih_l0` $(3h \times d)$ and `weight_hh_l0`
        $(3h \times h)$ and the two biases, in the order (reset, update, candidate), and computes
        the reset-after candidate. Its loop over time runs in C++ on the CPU and, on an NVIDIA GPU,
        in cuDNN, which fuses the element-wise work of a step into few kernels. It also offers
        what our layer does not: several stacked layers, dropout between them, and a
        bidirectional mode.

        We put it in the same language model (one-hot input, a linear output layer) with
        `d2lutil.build_lm("gru", ...)` and train it with exactly notebook 4's recipe.
        """
    ),
    code(
        """
        data = d2lutil.load_time_machine()
        vocab = data.vocab
        RECIPES = {  # as in notebook 4: hidden units, minibatch n x T, epochs, Adam learning rate; clip at 1
            "quick": dict(num_hiddens=256, batch_size=64, num_steps=64, num_epochs=8, lr=5e-3, restore_best=False),
            "cpu": dict(num_hiddens=256, batch_size=64, num_steps=64, num_epochs=20, lr=5e-3, restore_best=True),
            "full": dict(num_hiddens=256, batch_size=64, num_steps=64, num_epochs=40, lr=5e-3, restore_best=True),
        }
        recipe = RECIPES[BUDGET]
        print(BUDGET, recipe)

        d2lutil.set_seed(0)
        model = d2lutil.build_lm("gru", len(vocab), hidden_size=recipe["num_hiddens"]).to(device)
        print(model.rnn)
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
            title="nn.GRU",
        )
        print(history.summary())
        """
    ),
    code(
        """
        held_out = d2lutil.evaluate_perplexity(model, data.val_tokens)
        print(f"held-out perplexity: {held_out:.2f}")
        assert held_out <= 5.0, f"nn.GRU should reach a held-out perplexity of 5.0 or lower, got {held_out:.2f}"
        prefix = "time traveller"
        print(f"greedy:          {d2lutil.predict(prefix, 100, model, vocab)!r}")
        print(f"temperature 0.5: {d2lutil.predict(prefix, 100, model, vocab, temperature=0.5, seed=0)!r}")
        """
    ),
    md(
        r"""
        The curves and the text look like notebook 4's, as they should: it is the same model with
        the same arithmetic. (The numbers differ a little, because `nn.GRU` draws its initial
        weights in a different order than our twelve tensors.)

        ## How fast is each implementation?

        We time one training step, forward, backward and an Adam update, on one minibatch of
        $64 \times 64$ characters with 256 hidden units, for three layers that compute the same
        function:

        * **d2l style** (`d2lutil.models.GRUD2LStyle`): nine weight matrices; at every step three
          input-side and three state-side matrix products and the reset gate applied before the
          product, as the d2l text codes it;
        * **fused scratch** (`GRUScratch`): the input-side products of all steps in one matrix
          product before the loop, then one $h \times 3h$ state-side product per step (reset
          after); still a Python loop over time;
        * **`nn.GRU`**: the loop in C++ (CPU) or cuDNN (GPU).

        The three alternate within each round, so that a busy machine slows them alike, and we
        report the median over the rounds. Only the ratios are comparable across machines.
        """
    ),
    code(
        """
        SPEED = {"quick": dict(rounds=5), "cpu": dict(rounds=15), "full": dict(rounds=30)}[BUDGET]
        BATCH, STEPS, HIDDEN = 64, 64, 256
        layers = {
            "d2l style (GRUD2LStyle)": GRUD2LStyle(len(vocab), HIDDEN),
            "fused scratch (GRUScratch)": GRUScratch(len(vocab), HIDDEN),
            "nn.GRU": torch.nn.GRU(len(vocab), HIDDEN),
        }
        d2lutil.set_seed(0)
        X_speed, Y_speed = next(iter(data.train_iter(BATCH, STEPS)))
        X_speed, Y_speed = X_speed.to(device), Y_speed.to(device)


        def sync():
            if device.type == "cuda":
                torch.cuda.synchronize()


        def train_step(model, optimizer):
            \"\"\"One forward, backward and update on the timing minibatch; returns the seconds it took.\"\"\"
            sync()
            start = time.perf_counter()
            logits, _ = model(X_speed)
            loss = F.cross_entropy(logits.reshape(-1, len(vocab)), Y_speed.reshape(-1))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            sync()
            return time.perf_counter() - start


        runs = {}
        for name, layer in layers.items():
            lm = RNNLM(layer, len(vocab)).to(device)
            runs[name] = (lm, torch.optim.Adam(lm.parameters(), lr=1e-3), [])
            train_step(*runs[name][:2])  # warm-up: allocations, kernel selection
        for _ in range(SPEED["rounds"]):
            for lm, optimizer, seconds in runs.values():
                seconds.append(train_step(lm, optimizer))

        speed = {name: BATCH * STEPS / statistics.median(seconds) for name, (_, _, seconds) in runs.items()}
        print(f"tokens/s of forward + backward + Adam step, batch {BATCH} x {STEPS} steps, hidden {HIDDEN}, on {device}:")
        print(f"{'layer':28s} {'tokens/s':>10s} {'vs nn.GRU':>10s} {'ms/step':>8s}")
        for name, tps in speed.items():
            print(f"{name:28s} {tps:10,.0f} {tps / speed['nn.GRU']:9.2f}x {1e3 * BATCH * STEPS / tps:8.1f}")
        """
    ),
    md(
        r"""
        On a CPU the three are close: each step is a handful of matrix products of a
        $64 \times 256$ state by $256 \times 256$ or $256 \times 768$ weights, so the arithmetic
        dominates, and `nn.GRU`'s C++ loop saves only the Python overhead. On this project's
        2-core CI machine the d2l-style layer ran at about 0.8 and the fused layer at about 0.9
        times `nn.GRU`'s speed. On a GPU the picture changes: each of the many small kernels of a
        Python-loop step costs a launch, and cuDNN's fused kernels win by a wide margin. The built
        d2l books report, on their GPUs, about 20,000 tokens per second for the scratch GRU
        against 110,000 to 330,000 for the concise one.

        Indexing matters as much as fusing. Taking the precomputed input projections as
        `gi[t]` inside the loop, instead of `gi.unbind(0)`, makes the fused layer several times
        *slower* than the d2l style: the backward pass of every index writes a zero-filled
        gradient of the whole $(T, n, 3h)$ tensor, so the cost grows with the square of $T$.

        ## A trained GRU, opened up

        A model worth looking inside takes longer to train than this notebook should. `d2lutil`
        ships one: a two-layer `nn.GRU` with 512 units per layer and a 64-dimensional character
        embedding, trained with AdamW, dropout and gradient clipping on the first 90% of the book
        (`python -m d2lutil.pretrain` retrains it). Its weights are stored as *safetensors*, a
        format that cannot run code when loaded, and a manifest records how it was trained; the
        loader checks the weights' sha256 against the manifest.
        """
    ),
    code(
        """
        big, big_vocab, manifest = load_checkpoint("gru_lm", vocab=vocab, device=device)
        print("model:   ", manifest["model"])
        print("recipe:  ", manifest["recipe"])
        print("trained on", manifest["device"], f"in {manifest['train_seconds']:.0f} s with torch {manifest['torch']}")
        print(f"held-out perplexity in the manifest: {manifest['val_ppl']:.3f}")
        big_ppl = d2lutil.evaluate_perplexity(big, data.val_tokens)
        print(f"held-out perplexity measured now:    {big_ppl:.3f}")
        assert abs(big_ppl / manifest["val_ppl"] - 1) < 0.01, "the shipped model does not reproduce its manifest's perplexity"
        print(f"greedy: {d2lutil.predict('time traveller', 100, big, vocab)!r}")
        """
    ),
    md(
        r"""
        ### The gate explorer

        The explorer runs the trained model over a passage of held-out text and records both
        gates of every unit at every character (`d2lutil.gates.trace_gates`). Then:

        * **passage** picks one of three held-out passages; you can also type or paste any text
          in the box (it is traced when you click outside it).
        * **unit** picks one of the 512 hidden units; the passage is coloured by that unit's gate
          at every character: red where the gate is near 1, blue near 0. Hover a character to read
          the value.
        * **update gate Z / reset gate R** switches the gate; **layer** the layer.
        * **steps** picks a window of time steps. The heatmap shows the gate over that window for
          a block of 64 units around the chosen one (its row is boxed), with the characters read
          at each step under the columns; the window is underlined in the passage.
        * The scatter plot, after Karpathy, Johnson and Fei-Fei (2015), places every unit's gate
          at (fraction of steps above 0.9, fraction below 0.1) over the passage. Points near the
          left or bottom edge are gates that are almost never shut or never open; points near the
          diagonal are gates that act like switches, nearly always fully open or fully shut.
        * **rank by** lists the units whose gate correlates most strongly with spaces, word starts
          or vowels; choosing one moves the unit slider to it.

        Things to look for: units whose update gate drops (blue) right after a space, so they
        rewrite their state at the start of every word and hold it through the word; units whose
        gate hardly moves (a near-constant colour: long-term memory, or unused); and how different
        the two layers are.
        """
    ),
    code(
        """
        explorer = GateExplorer(big, vocab, window=60)
        explorer
        """
    ),
    md(
        r"""
        Every control redraws in place: the explorer traced the passage once, so a move only
        indexes into the stored gates and repaints, and the pictures are PNGs swapped into image
        widgets (no flicker, and nothing beyond core ipywidgets, so it also works in Colab). The
        cell below moves the controls as a reader would and reports how long each redraw took.
        """
    ),
    code(
        """
        for unit in range(0, 24, 2):  # slider moves within one block of rows
            explorer.unit.value = unit
        for first in range(0, 120, 20):
            explorer.window.value = (first, first + 59)
        explorer.gate.value = "reset gate R"
        explorer.layer.value = 0
        explorer.gate.value = "update gate Z"
        explorer.feature.value = "word start"
        explorer.ranked.value = explorer.ranked.options[1][1]  # the top unit for word starts
        print(f"chosen: {explorer.ranked.options[1][0]}")
        unit_moves = explorer.timings_by_handler["unit"]
        print(f"unit slider: median {statistics.median(unit_moves):.0f} ms, worst {max(unit_moves):.0f} ms")
        print(explorer.timing_summary())
        """
    ),
    md(
        r"""
        ### Saturation over the whole held-out text

        The scatter in the explorer covers one passage. Over all 17,343 held-out characters,
        read as 8 streams, we count for every unit how often each gate is saturated, and
        compare with the same model before training (its initial weights, drawn as `nn.GRU`
        draws them).
        """
    ),
    code(
        """
        def gate_saturation(lm, layer, streams=8):
            \"\"\"{gate: (left (h,), right (h,))} over the held-out text, read as `streams` rows.\"\"\"
            n = (len(data.val_tokens) // streams) * streams
            tokens = data.val_tokens[:n].reshape(streams, -1).to(device)  # (streams, T)
            gates = trace_gates(lm, tokens, layer=layer)  # each (T, streams, h)
            return {"update": saturation(gates.z), "reset": saturation(gates.r)}


        d2lutil.set_seed(0)
        untrained = d2lutil.build_lm(**manifest["model"]).to(device).eval()
        fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharey=True)
        share = {}
        for layer, ax in enumerate(axes):
            for (name, (left, right)), color in zip(gate_saturation(big, layer).items(), ["tab:red", "tab:blue"], strict=True):
                ax.scatter(right.cpu(), left.cpu(), s=6, alpha=0.5, color=color, label=f"{name} gate")
                share[layer, name, "trained"] = ((left + right) > 0.5).float().mean().item()
            for name, (left, right) in gate_saturation(untrained, layer).items():
                share[layer, name, "untrained"] = ((left + right) > 0.5).float().mean().item()
            ax.plot([0, 1], [1, 0], color="0.7", lw=0.8)
            ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), xlabel="fraction of steps right-saturated (> 0.9)")
            ax.set_title(f"layer {layer + 1}", fontsize=10)
            ax.legend(loc="upper right", fontsize=8)
        axes[0].set_ylabel("fraction of steps left-saturated (< 0.1)")
        trained_z = max(share[layer, "update", "trained"] for layer in (0, 1))
        fig.suptitle(
            f"Trained gates saturate: up to {trained_z:.0%} of update gates are saturated on more than half the steps",
            fontsize=11,
        )
        fig.tight_layout()
        plt.show()
        for key in ("update", "reset"):
            for layer in (0, 1):
                print(
                    f"layer {layer + 1}, {key} gate: saturated on more than half the steps in "
                    f"{share[layer, key, 'trained']:.0%} of units after training, {share[layer, key, 'untrained']:.0%} before"
                )
        assert all(share[layer, "update", "trained"] > share[layer, "update", "untrained"] for layer in (0, 1))
        """
    ),
    md(
        r"""
        Before training no gate saturates: with small random weights every gate hovers around
        0.5. After training many gates spend most of their time near 0 or 1, which is what gates
        are for: a unit either keeps its state or rewrites it, and the candidate either uses the
        past or ignores it. Karpathy et al. (2015) saw the same in character-level LSTMs and GRUs
        trained on Tolstoy and on the Linux source: in the first layer few gates saturate, while
        higher layers hold units that are almost always right-saturated, integrators that carry
        information across long stretches of text.

        ## Summary

        * `nn.GRU` is notebook 4's layer, with the loop in C++ or cuDNN; the same recipe gives the
          same held-out perplexity, below 5 in the quick budget.
        * Measured here: the step-by-step layer, the fused scratch layer and `nn.GRU` are close on
          a CPU; on a GPU `nn.GRU` is many times faster. Precomputing the input projections and
          stacking the three parts' weights are the two fusions that matter, and `unbind` rather
          than indexing keeps the backward pass linear in the number of steps.
        * The shipped two-layer, 512-unit GRU reaches its manifest's held-out perplexity when
          reloaded. Its gates, seen in the explorer, are mostly decisive: many units switch at
          word boundaries, and many gates saturate, unlike the same network before training.

        ## References

        * Karpathy, A., Johnson, J., & Fei-Fei, L. (2015). Visualizing and understanding recurrent
          networks. *arXiv:1506.02078* (ICLR 2016 workshop).
        * Cho, K., et al. (2014). Learning phrase representations using RNN encoder-decoder for
          statistical machine translation. *EMNLP*.
        * Chetlur, S., et al. (2014). cuDNN: Efficient primitives for deep learning.
          *arXiv:1410.0759*; PyTorch documentation, `torch.nn.GRU`.
        * Zhang, A., Lipton, Z. C., Li, M., & Smola, A. J. *Dive into Deep Learning*, chapter
          "Gated Recurrent Units (GRU)" (d2l.ai).
        """
    ),
]

if __name__ == "__main__":
    write("05_concise.ipynb", TITLE, CELLS)
