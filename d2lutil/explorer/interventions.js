// Interventions on the model, computed in the page by gru.js (in JupyterLab, Colab and the saved
// page alike): clamp a gate, silence a unit, cut the state; the passage re-runs from the first
// character the change touches, in chunks between frames, and the panel shows the perplexity
// before -> after, a strip of the change in each character's log-probability of the true next
// character, and (at the hovered character) the next-character distribution before and after.

import { SIZE, SYMBOL, bytesOf, canvas, make } from "./common.js";
import { pageModelOf, perplexity } from "./gru.js";

const STRIP = { w: SIZE.strip[0], h: SIZE.strip[1], top: 16, bottom: 16 }; // margins for the labels, CSS px
const FRAME_MS = 12; // work per frame before painting what is done
const KIND_LABELS = {
  update: "clamp the update gate Z to",
  reset: "clamp the reset gate R to",
  silence: "silence (state held at 0)",
  cut: "cut the whole state after character",
};
// Not gate quantities, so none of the gate colours (diagrams.COLORS); the bars' direction carries
// the meaning too (up: better), and each contrasts >= 5:1 with the white ground.
const BETTER = "#222222";
const WORSE = "#c2185b";

export class Interventions {
  /** view: the Explorer (its model, meta, unit, layer and hover). */
  constructor(view) {
    this.view = view;
    this.list = []; // the interventions applied, as d2lutil.gates.Intervention's fields
    this.before = null; // the run without interventions (gru.js)
    this.after = null; // the run with this.list
    // {what: "rerun", kind, steps, first_paint_ms, total_ms} per apply or reset, read by the tests
    this.timings = globalThis.gxPageTimings = globalThis.gxPageTimings || [];
    const c = (this.controls = {});
    c.kind = make("select", { className: "gx-kind" });
    c.kind.append(...Object.entries(KIND_LABELS).map(([k, text]) => make("option", { value: k, textContent: text })));
    c.value = make("input", { type: "number", min: 0, max: 1, step: 0.05, value: 0.9, className: "gx-value" });
    c.at = make("input", { type: "number", min: 0, step: 1, value: 0, className: "gx-at" });
    c.scope = make("select", { className: "gx-scope" });
    c.scope.append(
      ...[
        ["unit", "the chosen unit"],
        ["layer", "every unit of the shown layer"],
        ["all", "every unit of every layer"],
      ].map(([value, textContent]) => make("option", { value, textContent })),
    );
    c.apply = make("button", { type: "button", textContent: "apply", className: "gx-apply" });
    c.reset = make("button", { type: "button", textContent: "reset the model", className: "gx-reset" });
    c.apply.addEventListener("click", () => this.apply());
    c.reset.addEventListener("click", () => this.reset());
    c.kind.addEventListener("change", () => this.showFields());
    const label = (text, node) => make("label", {}, text, node);
    this.valueLabel = label("value", c.value);
    this.atLabel = label("character", c.at);
    this.scopeLabel = label("for", c.scope);
    this.effect = make("div", { className: "gx-effect", role: "status" });
    this.strip = canvas(STRIP.w, STRIP.h);
    this.strip.className = "gx-strip";
    this.strip.setAttribute("role", "img");
    this.strip.setAttribute("aria-label", "change in each character's log-probability of the next character");
    this.box = make(
      "div",
      { className: "gx-interventions" },
      make("div", { className: "gx-row" }, make("b", { textContent: "Intervene:" }), c.kind, this.valueLabel, this.atLabel, this.scopeLabel, c.apply, c.reset),
      this.effect,
      this.strip,
    );
    this.showFields();
  }

  showFields() {
    const kind = this.controls.kind.value;
    this.valueLabel.style.display = kind === "update" || kind === "reset" ? "" : "none";
    this.atLabel.style.display = kind === "cut" ? "" : "none";
    this.scopeLabel.style.display = kind === "cut" ? "none" : "";
  }

  /** The page's model, or null where the explorer carries no weights. */
  pageModel() {
    const spec = this.view.model.get("page_model");
    const weights = bytesOf(this.view.model.get("weights"));
    return spec && spec.layers && weights.length ? pageModelOf(spec, weights) : null;
  }

  /** A new passage: no interventions on it yet (the model's are kept and re-applied). */
  setPassage(meta) {
    this.meta = meta;
    this.before = this.after = null;
    this.controls.at.max = meta.steps - 2;
    const ok = Boolean(this.pageModel());
    for (const b of [this.controls.apply, this.controls.reset]) b.disabled = !ok;
    if (!ok) this.effect.textContent = "Interventions need the model's weights in the page (this explorer has none).";
    else if (this.list.length) this.rerun("passage");
    else this.showEffect();
  }

  /** The run without interventions of the shown text, computed (and kept) once. */
  baseline(pm) {
    const text = this.meta.text;
    if (!pm.runs.has(text)) pm.runs.set(text, pm.trace(pm.tokens(text)));
    this.before = pm.runs.get(text);
    return this.before;
  }

  /** The intervention the controls describe, with the view's unit and layer. */
  chosen() {
    const c = this.controls;
    const kind = c.kind.value;
    if (kind === "cut") {
      const at = Math.round(+c.at.value);
      if (!(at >= 0 && at < this.meta.steps - 1)) throw new Error(`character must lie in 0..${this.meta.steps - 2}`);
      return { kind, layer: null, unit: null, value: null, at };
    }
    const scope = c.scope.value;
    const value = kind === "silence" ? null : +c.value.value;
    if (value !== null && !(value >= 0 && value <= 1)) throw new Error(`value must lie in [0, 1], got ${c.value.value}`);
    return {
      kind,
      layer: scope === "all" ? null : this.view.layer,
      unit: scope === "unit" ? this.view.unit : null,
      value,
      at: null,
    };
  }

  apply() {
    try {
      this.list = [...this.list, this.chosen()];
    } catch (err) {
      this.effect.textContent = `Not applied: ${err.message}`;
      return;
    }
    this.rerun(this.list[this.list.length - 1].kind);
  }

  reset() {
    this.list = [];
    this.rerun("reset the model");
  }

  /** Re-run the passage with this.list, from the first character the change touches, painting between chunks. */
  rerun(kind) {
    const pm = this.pageModel();
    if (!pm) return;
    this.view.model.set("interventions", this.list);
    this.view.model.save_changes();
    const start = performance.now();
    const before = this.before || this.baseline(pm);
    // from the run shown (undoing nothing changes nothing: the model as trained needs no re-run)
    const run = pm.start(before.tokens, this.list, this.list.length ? this.after || before : before);
    this.after = run;
    const record = { what: "rerun", kind, steps: run.T - run.first, first_paint_ms: null, total_ms: null };
    this.timings.push(record);
    const chunk = () => {
      if (this.after !== run) return; // a newer change took over
      const t0 = performance.now();
      while (run.done < run.T && performance.now() - t0 < FRAME_MS) pm.advance(run, 4);
      this.drawStrip();
      requestAnimationFrame(() => {
        if (record.first_paint_ms === null) record.first_paint_ms = performance.now() - start;
        if (run.done < run.T) setTimeout(chunk);
        else {
          record.total_ms = performance.now() - start;
          this.showEffect();
          if (this.view.hover >= 0) this.view.drawHover();
        }
      });
    };
    chunk();
  }

  /** Perplexity before -> after and the interventions in words. */
  showEffect() {
    const pm = this.pageModel();
    if (!pm || !this.meta) return;
    const V = pm.vocab.length;
    const before = perplexity(this.before || this.baseline(pm), V);
    if (!this.list.length || !this.after || this.after.done < this.after.T) {
      this.effect.textContent = `Perplexity of this passage (model as trained): ${before.toFixed(3)}. ` +
        "Choose an intervention and apply it.";
      if (!this.list.length) this.drawStrip();
      return;
    }
    const after = perplexity(this.after, V);
    const change = after / before - 1;
    this.effect.textContent =
      `Perplexity of this passage: ${before.toFixed(3)} \u2192 ${after.toFixed(3)} ` +
      `(${change >= 0 ? "+" : ""}${(100 * change).toFixed(1)}%) with ${this.list.map(describe).join("; ")}.`;
  }

  /** The change in log p of each true next character, after - before, as bars: up is better, down worse. */
  drawStrip() {
    const ctx = this.strip.getContext("2d");
    const { w, h, top, bottom } = STRIP;
    ctx.clearRect(0, 0, w, h);
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#222";
    ctx.fillText("\u2191 better (log p of the next character rises)", 4, 11);
    ctx.fillText("\u2193 worse (it falls)", 4, h - 3);
    const mid = top + (h - top - bottom) / 2;
    ctx.fillStyle = "#767676";
    ctx.fillRect(0, mid, w, 1);
    const run = this.after;
    const base = this.before;
    if (!run || !base || !this.list.length) return;
    const V = this.pageModel().vocab.length;
    const T = run.T;
    const cell = w / Math.max(1, T - 1);
    const half = (h - top - bottom) / 2;
    const scale = 2; // nats at full height
    for (let t = 0; t + 1 < Math.min(run.done, T); t++) {
      const next = run.tokens[t + 1];
      const d = run.logp[t * V + next] - base.logp[t * V + next];
      if (Math.abs(d) < 1e-6) continue;
      const bar = Math.max(1, Math.min(half, (Math.abs(d) / scale) * half));
      ctx.fillStyle = d > 0 ? BETTER : WORSE;
      ctx.fillRect(t * cell, d > 0 ? mid - bar : mid + 1, Math.max(1, cell - 0.5), bar);
    }
    const t = this.view.hover;
    if (t >= 0 && t < T) {
      ctx.strokeStyle = "#000";
      ctx.strokeRect(t * cell - 0.5, top, Math.max(2, cell) + 1, h - top - bottom);
    }
  }

  /** At character t: the next-character distribution before and after (top 5), as two lines, or []. */
  hoverLines(t) {
    const pm = this.pageModel();
    if (!pm || !this.before || !this.after || this.after.done < this.after.T || !this.list.length) return [];
    const V = pm.vocab.length;
    const top = (run) => {
      const p = Array.from({ length: V }, (_, v) => [v, Math.exp(run.logp[t * V + v])]).sort((a, b) => b[1] - a[1]);
      return p.slice(0, 5).map(([v, q]) => `'${SYMBOL(pm.vocab[v])}' ${q.toFixed(2)}`).join(", ");
    };
    return [`next character before: ${top(this.before)}`, `after: ${top(this.after)}`];
  }
}

function describe(c) {
  const where = c.layer === null ? "every layer" : `layer ${c.layer + 1}`;
  const who = c.unit === null ? `every unit of ${where}` : `unit ${c.unit} of ${where}`;
  if (c.kind === "cut") return `the state cut after character ${c.at}`;
  if (c.kind === "silence") return `${who} silenced`;
  return `${c.kind === "update" ? "Z" : "R"} = ${c.value} for ${who}`;
}
