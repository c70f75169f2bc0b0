"""Build notebooks/06_exercises.ipynb: six exercises, each with a scaffold, a self-check and a
worked solution whose cells are collapsed in JupyterLab (the reader opens them on purpose).

    python notebooks/build/build_06.py
"""

# ruff: noqa: E501  (cell sources sit indented 12 spaces here; the built notebook itself keeps to 120 columns)
from __future__ import annotations

import nbformat
from common import HIDDEN, code, md, write


def solution(*cells: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The visible marker, then the solution's cells, collapsed."""
    marker = md(
        """
        #### Solution (open on purpose)

        Try the exercise first. The cells below are collapsed: click the bar to the left of a cell (or the `...`)
        to open it. They run the same self-check on the worked answer.
        """
    )
    for cell in cells:
        cell.metadata = dict(HIDDEN)
    return [marker, *cells]


TITLE = r"""
        # Exercises: gated recurrent units, measured

        Six exercises on the chapter, each one runnable. For every exercise you get

        * a **statement**,
        * a **scaffold**: a code cell with a `None` for you to replace (the notebook runs as shipped, so you can
          work through it in any order),
        * a **self-check**: a cell that calls `d2lutil.exercises.check_exercise_N`. It says *not attempted yet*
          while the scaffold is untouched, fails with a message that says what is wrong when the answer is
          wrong, and prints a confirmation when it is right. The checks run your code or re-measure your
          numbers; they do not compare text.
        * a **worked solution**, collapsed: open it on purpose, after trying.

        Exercises 1, 3, 4 and 5 train models. Their sizes come from `BUDGET` (next cell): `"quick"` is the
        CI setting (the whole notebook in a few minutes on a CPU), `"cpu"` trains longer, `"full"` is meant for
        a GPU. The numbers in the solutions are measured when you run them, so they will differ from budget to
        budget; the conclusions printed are computed from the numbers, never written in advance.
        """

CELLS: list[nbformat.NotebookNode] = [
    code(
        """
        import matplotlib.pyplot as plt
        import torch
        from torch import nn

        from d2lutil import exercises as ex
        from d2lutil.checkpoints import load_checkpoint
        from d2lutil.tasks import first_token_recall

        d2lutil.set_seed(0)
        data = d2lutil.load_time_machine()
        PREFIX = "time traveller"
        # The language-model budget that exercises 1 and 4 share (one-hot input, Adam, clipping at 1).
        LM = {
            "quick": dict(hidden_size=64, batch_size=64, num_steps=32, lr=1e-2, num_epochs=1, train_chars=None),
            "cpu": dict(hidden_size=128, batch_size=128, num_steps=32, lr=1e-2, num_epochs=4, train_chars=None),
            "full": dict(hidden_size=256, batch_size=256, num_steps=64, lr=5e-3, num_epochs=30, train_chars=None),
        }[BUDGET]
        print(f"{len(data.train_tokens):,} training and {len(data.val_tokens):,} held-out characters; LM budget {LM}")
        """
    ),
    # ------------------------------------------------------------------------------------------ 1
    md(
        r"""
        ## Exercise 1: plain RNN or GRU?

        Train a plain tanh RNN and a GRU, each both from scratch (`"rnn_scratch"`, `"gru_scratch"`) and as the
        built-in layer (`"rnn"` for `nn.RNN`, `"gru"` for `nn.GRU`), on the same data with the same budget.
        Compare running time, held-out perplexity (on the last 10% of the book) and generated text.

        `ex.lm_trial(data, kind, **LM)` trains one model and returns a row: `model`, `seconds` (training steps
        only), `tokens_per_s`, `val_ppl`, `sample`. Fill `ex1_results` with one row per kind, then read your
        table and answer: which family is faster (compare `nn.RNN` with `nn.GRU`), and which reaches the lower
        held-out perplexity? The self-check measures every model's perplexity again.
        """
    ),
    code(
        """
        ex1_results = None  # {kind: ex.lm_trial(data, kind, **LM) for kind in ex.LM_KINDS}
        ex1_answer = None  # {"faster": "rnn" or "gru", "lower_perplexity": "rnn" or "gru"}
        """
    ),
    code("ex.check_exercise_1(ex1_results, ex1_answer, data)"),
    *solution(
        code(
            """
            sol1 = {kind: ex.lm_trial(data, kind, device=device, **LM) for kind in ex.LM_KINDS}
            print(ex.format_table(list(sol1.values()), ["kind", "seconds", "tokens_per_s", "train_ppl", "val_ppl"]))
            print()
            for kind, row in sol1.items():
                print(f"{kind:12s} {row['sample']!r}")
            faster = "rnn" if sol1["rnn"]["seconds"] < sol1["gru"]["seconds"] else "gru"
            best = {fam: min(sol1[f"{fam}_scratch"]["val_ppl"], sol1[fam]["val_ppl"]) for fam in ("rnn", "gru")}
            sol1_answer = {"faster": faster, "lower_perplexity": min(best, key=best.get)}
            ex.check_exercise_1(sol1, sol1_answer, data)
            """
        ),
        code(
            """
            fig, ax = plt.subplots(figsize=(6, 3.5))
            for kind, row in sol1.items():
                ax.scatter(row["tokens_per_s"], row["val_ppl"], s=60, label=kind, marker="o" if "gru" in kind else "s")
            ax.set_xscale("log")
            ax.set_xlabel("training speed (tokens per second, log scale)")
            ax.set_ylabel("held-out perplexity")
            ax.legend()
            ax.grid(alpha=0.3)
            ax.set_title(
                f"Same budget: nn.GRU at {sol1['gru']['tokens_per_s'] / sol1['rnn']['tokens_per_s']:.2f}x nn.RNN's speed, "
                f"perplexity {sol1['gru']['val_ppl']:.2f} vs {sol1['rnn']['val_ppl']:.2f}",
                fontsize=10,
            )
            fig.tight_layout()
            plt.show()
            """
        ),
        md(
            r"""
            A short budget flatters the plain RNN: it has a third of the GRU's recurrent weights, so each step is
            cheaper, and on the first pass over the text both mostly learn which letters follow which. The GRU's
            gates pay off on longer training and longer dependencies. The shipped checkpoints (below) were
            trained with the full recipe, a two-layer 512-unit network of each kind, on a GPU: they show the
            difference once both have converged.
            """
        ),
        code(
            """
            rows = []
            for name in ("rnn_lm", "gru_lm"):
                try:
                    model, vocab, manifest = load_checkpoint(name, vocab=data.vocab, device=device)
                except FileNotFoundError as err:
                    print(f"{name}: not shipped in this install ({err}); skipping it")
                    continue
                rows.append({
                    "checkpoint": name,
                    "layers x hidden": f"{manifest['model']['num_layers']} x {manifest['model']['hidden_size']}",
                    "train_s": manifest["train_seconds"],
                    "tokens_per_s": manifest["tokens_per_s"],
                    "val_ppl": d2lutil.evaluate_perplexity(model, data.val_tokens),
                    "sample": d2lutil.predict(PREFIX, 60, model, vocab),
                    "device": manifest["device"],
                })
            if rows:
                print(ex.format_table(rows, ["checkpoint", "layers x hidden", "train_s", "tokens_per_s", "val_ppl", "device"]))
                for row in rows:
                    print(f"{row['checkpoint']}: {row['sample']!r}")
            if len(rows) == 2:
                rnn_ppl, gru_ppl = rows[0]["val_ppl"], rows[1]["val_ppl"]
                verdict = "lower" if gru_ppl < rnn_ppl else "not lower"
                print(f"Fully trained, the GRU's held-out perplexity is {verdict} than the RNN's: "
                      f"{gru_ppl:.2f} vs {rnn_ppl:.2f} (a difference of {rnn_ppl - gru_ppl:.2f}).")
            """
        ),
    ),
    # ------------------------------------------------------------------------------------------ 2
    md(
        r"""
        ## Exercise 2: gates for "only $x_{t'}$ matters"

        Suppose that only the input at step $t'$ should predict the output at a later step $t > t'$. What values
        of the reset gate $\mathbf{R}_s$ and the update gate $\mathbf{Z}_s$ would be best at each step $s$?
        Recall

        $$\tilde{\mathbf{H}}_s = \tanh\big(\mathbf{X}_s \mathbf{W}_{xh} + (\mathbf{R}_s \odot \mathbf{H}_{s-1})
        \mathbf{W}_{hh} + \mathbf{b}_h\big), \qquad
        \mathbf{H}_s = \mathbf{Z}_s \odot \mathbf{H}_{s-1} + (1 - \mathbf{Z}_s) \odot \tilde{\mathbf{H}}_s .$$

        Answer with a function `gates(s, t_prime)` that returns the pair `(r, z)` for step `s`, each 0 or 1, or
        `None` where the value does not matter. The self-check puts your schedule into an `nn.GRU` whose gates
        are set by hand (`ex.hand_set_gru`: large weights on a one-hot clock, so each gate is exactly 0 or 1 at
        each step) and measures the gradient of the last state with respect to every input and to the initial
        state: only $x_{t'}$ may have an effect. Gates you answer `None` are tried at 0, 1/2 and 1.
        """
    ),
    code(
        """
        def gates(s, t_prime):
            \"\"\"(r, z) at step s when only x_{t_prime} should matter; None where the value does not matter.\"\"\"
            return None  # your answer, e.g. (0, 1) or (None, 0); replace this whole function body


        ex2_gates = None  # set to gates once you have written it
        """
    ),
    code("ex.check_exercise_2(ex2_gates)"),
    *solution(
        md(
            r"""
            **In words.** Before $t'$ nothing matters: whatever the state holds will be thrown away. At $t'$ the
            update gate is $\mathbf{Z}_{t'} = 0$, so the new state is the candidate alone, and the reset gate is
            $\mathbf{R}_{t'} = 0$, so the candidate reads only $\mathbf{X}_{t'}$ and not the old state. After
            $t'$ the update gate is $\mathbf{Z}_s = 1$: the state is copied unchanged, so the later inputs never
            get in, and the reset gate does not matter because the candidate it shapes is multiplied by
            $1 - \mathbf{Z}_s = 0$. Then $\mathbf{H}_t = \mathbf{H}_{t'} = \tanh(\mathbf{X}_{t'}\mathbf{W}_{xh}
            + \mathbf{b}_h)$, and the gradient through the copies is exactly the identity.
            """
        ),
        code(
            """
            def gates_solution(s, t_prime):
                if s < t_prime:
                    return (None, None)  # overwritten at t' anyway
                if s == t_prime:
                    return (0, 0)  # take the candidate, and let it read only x_t'
                return (None, 1)  # copy the state; the candidate is ignored, so r does not matter


            ex.check_exercise_2(gates_solution)
            """
        ),
        code(
            """
            T, t_prime = 10, 3
            schedules = {
                "the answer": (
                    [0.5 if s != t_prime else 0 for s in range(T)],
                    [0.5 if s < t_prime else int(s > t_prime) for s in range(T)],
                ),
                "z = 0 at t', but r = 1": ([1] * T, [0.5 if s < t_prime else int(s > t_prime) for s in range(T)]),
                "every gate 1/2": ([0.5] * T, [0.5] * T),
            }
            fig, ax = plt.subplots(figsize=(6.5, 3.5))
            width = 0.27
            for i, (name, (r, z)) in enumerate(schedules.items()):
                grads, g0 = ex.input_sensitivity(r, z)
                values = [g0, *grads.tolist()]
                ax.bar([k + (i - 1) * width for k in range(T + 1)], [max(v, 1e-18) for v in values], width, label=name)
                print(f"{name:24s} |dH/dH_0| = {g0:.1e}; |dH/dx_s| = {[f'{g:.0e}' for g in grads.tolist()]}")
            ax.set_yscale("log")
            ax.set_ylim(1e-18, 10)
            ax.set_xticks(range(T + 1), ["$H_0$"] + [f"$x_{s}$" for s in range(T)])
            ax.set_xlabel("what the last state might depend on")
            ax.set_ylabel(f"gradient norm of the state at step {T - 1}")
            ax.set_title(
                f"With z=0, r=0 at t'={t_prime} and z=1 after it, only $x_{{{t_prime}}}$ reaches the output", fontsize=10
            )
            ax.legend(fontsize=8)
            fig.tight_layout()
            plt.show()
            grads, g0 = ex.input_sensitivity(*schedules["the answer"])
            assert grads[t_prime] > 1e-3 and g0 < 1e-9 and all(grads[s] < 1e-9 for s in range(T) if s != t_prime)
            """
        ),
    ),
    # ------------------------------------------------------------------------------------------ 3
    md(
        r"""
        ## Exercise 3: hyper-parameters

        Change the hyper-parameters (hidden size, number of steps per window, learning rate, gradient clipping,
        batch size) of the `nn.GRU` language model and observe the running time, the held-out perplexity and the
        generated text. Present the result as a table and a plot.

        Run a **one-factor-at-a-time** sweep: a baseline first, then runs that each change exactly one
        hyper-parameter, every one of the five changed at least once (`ex.lm_trial(data, "gru", ...)` with
        `hidden_size`, `num_steps`, `lr`, `clip`, `batch_size`). Then answer: which change gave the lowest
        held-out perplexity, and which the longest training (`"baseline"` if none beat the baseline)?
        """
    ),
    code(
        """
        ex3_rows = None  # [baseline_row, row_with_one_change, ...], each from ex.lm_trial
        ex3_answer = None  # {"best": "hidden_size" / ... / "baseline", "slowest": ...}
        """
    ),
    code("ex.check_exercise_3(ex3_rows, ex3_answer)"),
    *solution(
        code(
            """
            SWEEP = {
                "quick": dict(base=dict(hidden_size=32, batch_size=64, num_steps=32, lr=1e-2, clip=1.0),
                              changes=dict(hidden_size=[64], num_steps=[8], lr=[2e-3], clip=[None], batch_size=[16]),
                              num_epochs=1, train_chars=60_000),
                "cpu": dict(base=dict(hidden_size=64, batch_size=64, num_steps=32, lr=1e-2, clip=1.0),
                            changes=dict(hidden_size=[32, 128], num_steps=[8, 64], lr=[2e-3, 3e-2], clip=[None, 0.1],
                                         batch_size=[16, 256]),
                            num_epochs=2, train_chars=None),
                "full": dict(base=dict(hidden_size=256, batch_size=128, num_steps=64, lr=5e-3, clip=1.0),
                             changes=dict(hidden_size=[64, 512], num_steps=[16, 128], lr=[1e-3, 2e-2], clip=[None, 0.1],
                                          batch_size=[32, 512]),
                             num_epochs=10, train_chars=None),
            }[BUDGET]
            runs = [("baseline", SWEEP["base"])]
            runs += [
                (name, {**SWEEP["base"], name: value}) for name, values in SWEEP["changes"].items() for value in values
            ]
            sol3 = []
            for label, hp in runs:
                budget = dict(num_epochs=SWEEP["num_epochs"], train_chars=SWEEP["train_chars"])
                row = ex.lm_trial(data, "gru", device=device, **budget, **hp)
                row["changed"] = label if label == "baseline" else f"{label}={hp[label]}"
                sol3.append(row)
            print(ex.format_table(sol3, ["changed", "hidden_size", "num_steps", "lr", "clip", "batch_size", "seconds", "val_ppl"]))
            print()
            for row in sol3:
                print(f"{row['changed']:18s} {row['sample']!r}")
            labels = [label for label, _ in runs]
            sol3_answer = {
                "best": labels[min(range(len(sol3)), key=lambda i: sol3[i]["val_ppl"])],
                "slowest": labels[max(range(len(sol3)), key=lambda i: sol3[i]["seconds"])],
            }
            ex.check_exercise_3(sol3, sol3_answer)
            """
        ),
        code(
            """
            fig, ax = plt.subplots(figsize=(6.5, 4))
            base = sol3[0]
            for row in sol3:
                ax.scatter(row["seconds"], row["val_ppl"], s=50, color="black" if row is base else None)
                ax.annotate(row["changed"], (row["seconds"], row["val_ppl"]), fontsize=8, xytext=(4, 3), textcoords="offset points")
            ax.set_xlabel("training time (s)")
            ax.set_ylabel("held-out perplexity")
            ax.grid(alpha=0.3)
            best = min(sol3, key=lambda r: r["val_ppl"])
            ax.set_title(f"With the same epochs, {best['changed']} gives the lowest perplexity ({best['val_ppl']:.2f} "
                         f"vs {base['val_ppl']:.2f})", fontsize=10)
            fig.tight_layout()
            plt.show()
            """
        ),
        md(
            r"""
            How to read the sweep. With the number of epochs fixed, a **smaller batch** or **shorter windows**
            give more parameter updates per epoch (and cost more time, since the per-step overhead is paid more
            often); a **larger hidden size** costs more per step and, on a short budget, may not yet pay off;
            the **learning rate** moves everything (too small and a short budget barely learns, too large and the
            loss jumps); **clipping** matters little while gradients are small and prevents the rare large step
            from undoing the training when they are not. Generated text tracks perplexity: below about 5 the
            samples start to form words. Compare your table with these expectations; where it disagrees, the
            budget is usually the reason.
            """
        ),
    ),
    # ------------------------------------------------------------------------------------------ 4
    md(
        r"""
        ## Exercise 4: one gate only

        Implement a recurrent cell with only a reset gate and one with only an update gate, train them beside
        the full GRU and the plain RNN on the same task, and report what each loses.

        Write the two step functions. Both receive `gi` $(B, 2h)$, the input projections
        $\mathbf{X}_t\mathbf{W}_x + \mathbf{b}_x$ of the gate and the candidate stacked in that order, the state
        `h` $(B, h)$, and the recurrent weights `W_h` $(h, 2h)$ and biases `b_h` $(2h)$, stacked the same way.
        They return the new state $(B, h)$.

        * reset-only: the GRU with $\mathbf{Z}_t = 0$, so $\mathbf{H}_t = \tilde{\mathbf{H}}_t$ (either reset
          convention is accepted: `nn.GRU`'s $\mathbf{R}\odot(\mathbf{H}\mathbf{W}_{hn} + \mathbf{b}_{hn})$ or
          the text's $(\mathbf{R}\odot\mathbf{H})\mathbf{W}_{hn}$);
        * update-only: the GRU with $\mathbf{R}_t = 1$.

        `ex.OneGateRNN(input_size, hidden_size, step)` turns a step into a layer with `nn.GRU`'s interface.
        """
    ),
    code(
        """
        def reset_only_cell_step(gi, h, W_h, b_h):
            \"\"\"gi (B, 2h) stacked (r, n); h (B, h); W_h (h, 2h); b_h (2h,) -> new state (B, h).\"\"\"
            return None  # your code


        def update_only_cell_step(gi, h, W_h, b_h):
            \"\"\"gi (B, 2h) stacked (z, n); h (B, h); W_h (h, 2h); b_h (2h,) -> new state (B, h).\"\"\"
            return None  # your code


        ex4_steps = None  # set to (reset_only_cell_step, update_only_cell_step) once written
        """
    ),
    code("ex.check_exercise_4(*(ex4_steps or (None, None)))"),
    *solution(
        code(
            """
            def reset_only_solution(gi, h, W_h, b_h):
                k = h.shape[-1]
                gh = h @ W_h + b_h
                r = torch.sigmoid(gi[:, :k] + gh[:, :k])
                return torch.tanh(gi[:, k:] + r * gh[:, k:])  # Z = 0: the candidate is the new state


            def update_only_solution(gi, h, W_h, b_h):
                k = h.shape[-1]
                gh = h @ W_h + b_h
                z = torch.sigmoid(gi[:, :k] + gh[:, :k])
                n = torch.tanh(gi[:, k:] + gh[:, k:])  # R = 1: the candidate reads the whole state
                return z * h + (1 - z) * n


            ex.check_exercise_4(reset_only_solution, update_only_solution)
            """
        ),
        md(
            r"""
            Two tasks probe two abilities. **First-token recall** (notebook 1) needs a memory that lasts the
            whole sequence: only a cell that can copy its state ($\mathbf{Z}\approx 1$) keeps the first token
            alive. **The language model** needs mostly short context, where every cell has some chance. Each
            cell has its own number of weights: the RNN one block, the one-gate cells two, the GRU three.
            """
        ),
        code(
            """
            # First-token recall needs thousands of steps before a gated cell leaves chance (notebook 1), so the quick
            # budget skips it and compares the cells on the language model only.
            RECALL = {"quick": None, "cpu": dict(length=50, steps=1500), "full": dict(length=100, steps=3000)}[BUDGET]
            CELLS = {
                "plain RNN": lambda d, h: nn.RNN(d, h),
                "reset only": lambda d, h: ex.OneGateRNN(d, h, reset_only_solution),
                "update only": lambda d, h: ex.OneGateRNN(d, h, update_only_solution),
                "GRU": lambda d, h: d2lutil.GRUScratch(d, h),
            }


            def recall_batch(batch_size, generator):
                return first_token_recall(batch_size, RECALL["length"], generator=generator)


            sol4 = []
            for name, make in CELLS.items():
                d2lutil.set_seed(0)
                lm = ex.lm_trial(data, make(len(data.vocab), LM["hidden_size"]), device=device,
                                 **{k: v for k, v in LM.items() if k != "hidden_size"})
                size = sum(p.numel() for p in make(len(data.vocab), LM["hidden_size"]).parameters())
                row = {"cell": name, "recurrent params": size,
                       "lm_val_ppl": lm["val_ppl"], "lm_s": lm["seconds"], "sample": lm["sample"]}
                if RECALL is not None:
                    d2lutil.set_seed(0)
                    recall = ex.accuracy_run(make(16, 32).to(device), recall_batch, num_classes=4, vocab_size=8,
                                             num_steps=RECALL["steps"])
                    row.update(recall_acc=recall["accuracy"], recall_s=recall["seconds"])
                sol4.append(row)
            print(f"language model: {LM}" + ("" if RECALL is None else f"; first-token recall: {RECALL}, chance 0.25"))
            print(ex.format_table(sol4, ["cell", "recurrent params", "lm_val_ppl", "lm_s", "recall_acc", "recall_s"]))
            for row in sol4:
                print(f"{row['cell']:12s} {row.get('sample', '')!r}")
            ppl = {row["cell"]: row["lm_val_ppl"] for row in sol4}
            print(f"Held-out perplexity: without the update gate {ppl['reset only']:.2f}, without the reset gate "
                  f"{ppl['update only']:.2f}, GRU {ppl['GRU']:.2f}, plain RNN {ppl['plain RNN']:.2f}.")
            """
        ),
        code(
            """
            fig, axes = plt.subplots(1, 2 if RECALL else 1, figsize=(9 if RECALL else 5, 3.5), squeeze=False)
            colors = ["grey", "tab:orange", "tab:green", "tab:blue"]
            names = [r["cell"] for r in sol4]
            axes[0, 0].bar(names, [r["lm_val_ppl"] for r in sol4], color=colors)
            axes[0, 0].set_ylabel("held-out perplexity")
            axes[0, 0].set_xlabel(f"recurrent cell (hidden size {LM['hidden_size']})")
            best = min(sol4, key=lambda r: r["lm_val_ppl"])
            axes[0, 0].set_title(f"Language model: {best['cell']} lowest ({best['lm_val_ppl']:.2f})", fontsize=10)
            if RECALL:
                axes[0, 1].bar(names, [r["recall_acc"] for r in sol4], color=colors)
                axes[0, 1].axhline(0.25, color="black", ls="--", lw=1, label="chance")
                axes[0, 1].set_ylim(0, 1.05)
                axes[0, 1].set_ylabel("test accuracy")
                axes[0, 1].set_xlabel("recurrent cell (hidden size 32)")
                axes[0, 1].legend()
                keeps = [r["cell"] for r in sol4 if r["recall_acc"] > 0.9]
                axes[0, 1].set_title(f"Recall over {RECALL['length']} steps: solved by {', '.join(keeps) or 'none'}", fontsize=10)
            fig.tight_layout()
            plt.show()
            """
        ),
    ),
    # ------------------------------------------------------------------------------------------ 5
    md(
        r"""
        ## Exercise 5: is the reset gate needed?

        The update gate can already drop the old state: with $\mathbf{Z}_t = 0$ the new state is the candidate.
        But without a reset gate the candidate still reads the old state, $\tanh(\mathbf{X}_t\mathbf{W}_{xh} +
        \mathbf{H}_{t-1}\mathbf{W}_{hh} + \mathbf{b}_h)$. Design an experiment that shows when the reset gate
        matters, and report the measured answer honestly, whichever way it comes out.

        Step one is a task where the state *must* be reset: sequences of segments separated by a break token,
        whose label depends only on the last segment, while the earlier segments look just like it (so a model
        that does not reset is misled). Write `make_break_batch(batch_size, generator) -> (X (B, T) int64,
        y (B,) int64)`, `label_of(X) -> y`, and the break symbol `BREAK`. The self-check verifies the property:
        changing anything before the last break never changes a label, and deleting the last break often does.
        Step two (in the solution) trains the GRU and the update-only cell on it, with the same hidden size,
        budget and seeds.
        """
    ),
    code(
        """
        BREAK = None  # the break token


        def make_break_batch(batch_size, generator):
            return None  # your code: (X, y)


        def label_of(X):
            return None  # your code: y


        ex5_task = None  # set to (make_break_batch, label_of, BREAK) once written
        """
    ),
    code("ex.check_exercise_5(*(ex5_task or (None, None, None)))"),
    *solution(
        code(
            """
            BREAK_SOL, NUM_CLASSES, NUM_SYMBOLS = 0, 4, 8  # symbols 1..8; the first 4 are also the labels
            TASK5 = {"quick": dict(length=32, steps=200, seeds=(0, 1)), "cpu": dict(length=64, steps=600, seeds=(0, 1, 2)),
                     "full": dict(length=100, steps=1500, seeds=(0, 1, 2, 3, 4))}[BUDGET]


            def label_of_solution(X):
                \"\"\"The token after the last break, or the first token when there is no break, as a class 0..3.\"\"\"
                pos = torch.arange(X.shape[1], device=X.device)
                last = torch.where(X == BREAK_SOL, pos, torch.full_like(pos, -1)).max(1).values
                return X[torch.arange(len(X)), last + 1] - 1


            def make_break_batch_solution(batch_size, generator, length=None):
                \"\"\"Noise symbols with about 1.5 breaks per sequence; each segment starts with a class symbol.\"\"\"
                T = length or TASK5["length"]
                X = torch.randint(1, NUM_SYMBOLS + 1, (batch_size, T), generator=generator)
                starts = torch.zeros(batch_size, T, dtype=torch.bool)
                breaks = torch.zeros(batch_size, T, dtype=torch.bool)
                breaks[:, 1:-1] = torch.rand(batch_size, T - 2, generator=generator) < 1.5 / (T - 2)
                starts[:, 0], starts[:, 1:] = True, breaks[:, :-1]
                classes = torch.randint(1, NUM_CLASSES + 1, (batch_size, T), generator=generator)
                X = torch.where(starts, classes, X)
                X[breaks] = BREAK_SOL
                return X, label_of_solution(X)


            X_demo, y_demo = make_break_batch_solution(3, torch.Generator().manual_seed(0), length=24)
            for row, label in zip(X_demo.tolist(), y_demo.tolist(), strict=True):
                print(" ".join("|" if v == BREAK_SOL else str(v) for v in row), "  ->  label", label)
            ex.check_exercise_5(make_break_batch_solution, label_of_solution, BREAK_SOL)
            """
        ),
        code(
            """
            sol5 = {"gru": [], "update_only": []}
            first_below = {"gru": [], "update_only": []}  # the step at which the training loss first fell below 0.1
            for seed in TASK5["seeds"]:
                for name, make in (("gru", lambda: nn.GRU(16, 32)), ("update_only", lambda: ex.UpdateOnlyGRU(16, 32))):
                    d2lutil.set_seed(seed)
                    run = ex.accuracy_run(make().to(device), make_break_batch_solution, num_classes=NUM_CLASSES,
                                          vocab_size=NUM_SYMBOLS + 1, num_steps=TASK5["steps"], seed=seed, log_every=10)
                    sol5[name].append(run["accuracy"])
                    below = [s for s, loss in zip(run["steps"], run["losses"], strict=True) if loss < 0.1]
                    first_below[name].append(below[0] if below else None)
            mean = {name: sum(a) / len(a) for name, a in sol5.items()}
            print(f"break task: length {TASK5['length']}, {TASK5['steps']} steps of Adam 1e-2, hidden 32, seeds {TASK5['seeds']}")
            print(ex.format_table([{"cell": n, "accuracy per seed": [round(a, 3) for a in sol5[n]], "mean": mean[n],
                                    "loss < 0.1 at step": first_below[n]} for n in sol5],
                                  ["cell", "accuracy per seed", "mean", "loss < 0.1 at step"]))
            gap = mean["gru"] - mean["update_only"]
            helped = gap > 0.05
            print(f"Measured: the GRU's mean accuracy is {gap:+.3f} from the update-only cell's, so the reset gate "
                  + ("helped clearly on this task." if helped else "did not help clearly on this task."))
            ex.check_exercise_5(make_break_batch_solution, label_of_solution, BREAK_SOL, sol5, helped)
            """
        ),
        md(
            r"""
            Why the answer can be "not much". Without a reset gate, the candidate at the break still sees the old
            state through $\mathbf{H}_{t-1}\mathbf{W}_{hh}$, but a cell can make that term irrelevant: a large input
            weight on the break token saturates the $\tanh$, and a saturated candidate is (almost) the same vector
            whatever came before. So an update-only cell can learn an approximate reset from its input weights
            alone. The reset gate makes the reset exact and cheap to learn, and it does something the update gate
            cannot: it lets the candidate ignore *part* of the state while the rest is kept. Where your
            measurement shows no gap, the task is one that saturation solves; the learning speed column
            (training steps to a loss of 0.1) is the finer measure. The paper that introduced the GRU (Cho et al.,
            2014) motivates the reset gate by exactly this: letting the unit drop what has become irrelevant.
            """
        ),
    ),
    # ------------------------------------------------------------------------------------------ 6
    md(
        r"""
        ## Exercise 6: flip the update convention

        Some texts write the update as $\mathbf{H}_t = \mathbf{Z}_t \odot \tilde{\mathbf{H}}_t + (1 - \mathbf{Z}_t)
        \odot \mathbf{H}_{t-1}$ (the gate weights the candidate). Does anything change besides the sign of the
        bias?

        Write `flip_update_gate(W_x, W_h, b_x, b_h)` that takes a GRU's weights (the layout of
        `d2lutil.GRUScratch`: $(d, 3h)$, $(h, 3h)$, $(3h)$, $(3h)$, blocks stacked $r, z, n$) and returns weights
        for which `ex.FlippedGRU` (the flipped convention) computes exactly the same outputs. Then say whether the
        two conventions describe the same family of models (`same_family = True` or `False`).
        """
    ),
    code(
        """
        def flip_update_gate(W_x, W_h, b_x, b_h):
            return None  # your code: (W_x, W_h, b_x, b_h) for the flipped convention


        ex6_flip = None  # set to flip_update_gate once written
        same_family = None  # True or False
        """
    ),
    code("ex.check_exercise_6(ex6_flip, same_family)"),
    *solution(
        md(
            r"""
            **Argument.** Write the update gate's pre-activation as $\mathbf{A}_t = \mathbf{X}_t\mathbf{W}_{xz} +
            \mathbf{H}_{t-1}\mathbf{W}_{hz} + \mathbf{b}_z$. Since $\sigma(-a) = 1 - \sigma(a)$, negating
            $\mathbf{W}_{xz}$, $\mathbf{W}_{hz}$ and $\mathbf{b}_z$ (all of them, not only the bias) turns
            $\mathbf{Z}_t$ into $1 - \mathbf{Z}_t$, and the flipped update with the negated weights is the original
            update, step for step. The map is its own inverse, so every model of one convention is a model of
            the other: the same family. Training does not tell them apart either: `nn.GRU`'s initialisation is
            symmetric about 0, so the negated weights are as likely a start as the originals, and gradient
            descent, Adam and norm clipping all commute with flipping the sign of some coordinates. Only
            hand-set values change: a bias that makes a flipped gate "remember" has the opposite sign.
            """
        ),
        code(
            """
            def flip_solution(W_x, W_h, b_x, b_h):
                k = W_h.shape[0]
                sign = torch.ones(3 * k, dtype=W_x.dtype, device=W_x.device)
                sign[k : 2 * k] = -1  # the z block
                return W_x * sign, W_h * sign, b_x * sign, b_h * sign


            ex.check_exercise_6(flip_solution, True)
            """
        ),
        code(
            """
            # The experiment: train a GRU and its flipped twin side by side, from corresponding weights, on the same batches.
            d2lutil.set_seed(0)
            gru6 = d2lutil.GRUScratch(16, 32)
            weights = [p.detach() for p in (gru6.W_x, gru6.W_h, gru6.b_x, gru6.b_h)]
            twin = ex.load_weights(ex.FlippedGRU(16, 32), *flip_solution(*weights))
            runs6 = {}
            for name, layer in (("GRU", gru6), ("flipped twin", twin)):
                d2lutil.set_seed(1)  # the same embedding and head for both
                runs6[name] = ex.accuracy_run(layer.double(), lambda b, g: first_token_recall(b, 12, generator=g), num_classes=4,
                                              vocab_size=8, num_steps=100, lr=1e-2, dtype=torch.float64)
            diff = max(abs(a - b) for a, b in zip(runs6["GRU"]["losses"], runs6["flipped twin"]["losses"], strict=True))
            print({name: f"accuracy {r['accuracy']:.3f}, final loss {r['losses'][-1]:.4f}" for name, r in runs6.items()})
            print(f"largest difference between the two loss curves: {diff:.2e}")
            assert diff < 1e-8, "the flipped twin should train exactly like the GRU"
            fig, ax = plt.subplots(figsize=(5.5, 3.3))
            for (name, r), style in zip(runs6.items(), ("-", "--"), strict=True):
                ax.plot(r["steps"], r["losses"], style, lw=2, label=name)
            ax.set_xlabel("training step")
            ax.set_ylabel("training loss")
            ax.legend()
            ax.set_title(f"The flipped twin trains identically (curves differ by {diff:.0e})", fontsize=10)
            fig.tight_layout()
            plt.show()
            """
        ),
    ),
    md(
        r"""
        ## Summary

        * A plain RNN is cheaper per step; the GRU's gates pay off as training and dependencies get longer
          (exercise 1), and hyper-parameters trade time for perplexity in ways a one-factor sweep makes
          visible (exercise 3).
        * For "only $x_{t'}$ matters" the gates are $\mathbf{Z}=0, \mathbf{R}=0$ at $t'$ and $\mathbf{Z}=1$ after
          it: the update gate carries memory, the reset gate cleans the candidate (exercise 2).
        * A cell without the update gate cannot copy its state, so long memory is what it stands to lose (the
          recall task of exercise 4, in the `"cpu"` and `"full"` budgets); without the reset gate a cell can still
          reset, by saturating its candidate (exercise 5). On short-context text all four cells come out close:
          read your own table rather than this sentence.
        * Which way the update gate points is a convention: negate its weights and biases and the two forms
          are the same model (exercise 6).
        """
    ),
]


if __name__ == "__main__":
    write("06_exercises.ipynb", TITLE, CELLS)
