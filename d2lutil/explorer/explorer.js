// The gate explorer's front end: an anywidget ES module, plain DOM and canvas, no dependencies.
//
// It draws one traced passage from the widget's model (traits set by d2lutil/explorer/widget.py):
// meta (JSON), gates ((L, 2, T, h) bytes, value = byte / 255) and conn ((T, k) bytes, each row
// relative to its largest entry, meta.conn_scale). Every move that needs no new tracing (unit,
// gate, layer, window, hover, ranking) is drawn here at once, in the event handler; the choice is
// then written back to the model so that the kernel (when there is one) sees it. A new passage is
// asked of the kernel. The figures (paintHeatmap, paintScatter, canvas) come from figures.js, joined
// before this file into one module; a saved page joins static.js after it, a model without a kernel.

const NAMES = { z: "update gate Z", r: "reset gate R" };
const MEANING = {
  z: "blue = 0 (the new state takes the candidate), red = 1 (the unit keeps its old state)",
  r: "blue = 0 (the candidate ignores the old state), red = 1 (the candidate uses it fully)",
};
const SYMBOL = (c) => (c === " " ? "\u00b7" : c);
const CSS = `
.gx { font: 13px/1.45 system-ui, sans-serif; color: #222; max-width: 920px; }
.gx-row { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: center; margin: 4px 0; }
.gx label { display: inline-flex; gap: 6px; align-items: center; }
.gx button.gx-on { background: #444; color: #fff; }
.gx button { border: 1px solid #888; background: #f4f4f4; padding: 2px 10px; border-radius: 3px; cursor: pointer; }
.gx textarea { width: 98%; height: 44px; font: 12px monospace; }
.gx-msg { color: #b00; font-weight: bold; }
.gx-dim { color: #555; }
.gx-text { font: 14px/1.7 monospace; white-space: pre-wrap; word-break: break-all; max-height: 190px;
  overflow-y: auto; border: 1px solid #ccc; padding: 6px; }
.gx-text span { cursor: default; }
.gx select.gx-ranked { width: 300px; }
.gx select.gx-passage { width: 300px; }
.gx-text, .gx-hover, .gx-status { contain: content; }
.gx-hover { font: 13px monospace; min-height: 2.9em; margin: 4px 0; }
.gx-hover span { padding: 1px 0; }
.gx-figs { display: flex; flex-wrap: wrap; gap: 8px; }
.gx canvas { border: 1px solid #eee; }
`;

function make(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/** The bytes of a Bytes trait, whatever the widget manager hands over. */
function bytesOf(value) {
  if (!value) return new Uint8Array(0);
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return new Uint8Array(0);
}

function luminance(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

/** Indicator features of every character of text, each a Float32Array of length T. */
function textFeatures(text) {
  const T = text.length;
  const f = { space: new Float32Array(T), "word start": new Float32Array(T), vowel: new Float32Array(T) };
  for (let t = 0; t < T; t++) {
    const c = text[t];
    f.space[t] = c === " " ? 1 : 0;
    f["word start"][t] = c !== " " && (t === 0 || text[t - 1] === " ") ? 1 : 0;
    f.vowel[t] = "aeiou".includes(c) ? 1 : 0;
  }
  return f;
}


class Explorer {
  constructor(model, root) {
    this.model = model;
    this.root = root;
    this.serial = ""; // which trace the spans and caches belong to
    this.unsent = null; // view state chosen here and not yet written to the model
    this.hover = -1;
    this.rankCache = new Map();
    this.pointCache = new Map();
    this.build();
    this.readState();
    this.load();
    this.listeners = [
      ["change:meta", () => this.load()],
      ["change:message", () => this.showMessage(this.model.get("message"))],
      ["change:unit", () => this.fromModel("unit", () => this.drawUnit())],
      ["change:gate", () => this.fromModel("gate", () => this.drawGate())],
      ["change:layer", () => this.fromModel("layer", () => this.drawGate())],
      ["change:window", () => this.fromModel("window", () => this.drawWindow())],
      ["change:feature", () => this.fromModel("feature", () => this.drawRanking())],
    ];
    for (const [event, f] of this.listeners) this.model.on(event, f);
  }

  dispose() {
    for (const [event, f] of this.listeners) this.model.off(event, f);
  }

  readState() {
    for (const k of ["unit", "gate", "layer", "feature"]) this[k] = this.model.get(k);
    this.window = [...this.model.get("window")];
  }

  /** The model changed `name` (a cell set it): take it and redraw, unless it is what we hold. */
  fromModel(name, redraw) {
    const value = this.model.get(name);
    if ((this.unsent && name in this.unsent) || JSON.stringify(value) === JSON.stringify(this[name])) return;
    this[name] = Array.isArray(value) ? [...value] : value;
    if (this.meta) redraw();
  }

  /** A control moved: redraw now; tell the model (and through it the kernel) after the frame is painted. */
  choose(name, value, redraw) {
    this[name] = value;
    redraw();
    if (!this.unsent) {
      this.unsent = {};
      requestAnimationFrame(() =>
        setTimeout(() => {
          for (const [key, v] of Object.entries(this.unsent)) this.model.set(key, v);
          this.unsent = null;
          this.model.save_changes();
        }),
      );
    }
    this.unsent[name] = value;
  }

  build() {
    const c = (this.controls = {});
    c.passage = make("select", { className: "gx-passage" });
    c.passage.addEventListener("change", () => {
      this.showMessage("tracing the passage ...");
      this.model.set("passage", c.passage.value);
      this.model.save_changes();
    });
    c.gates = Object.keys(NAMES).map((g) => {
      const b = make("button", { textContent: NAMES[g], type: "button", className: `gx-gate gx-gate-${g}` });
      b.dataset.gate = g;
      b.addEventListener("click", () => this.choose("gate", g, () => this.drawGate()));
      return b;
    });
    c.layer = make("select", { className: "gx-layer" });
    c.layer.addEventListener("change", () => this.choose("layer", +c.layer.value, () => this.drawGate()));
    c.text = make("textarea", {
      className: "gx-textbox", placeholder: "type or paste any text, then click 'trace this text'" });
    c.trace = make("button", { type: "button", textContent: "trace this text", className: "gx-trace" });
    c.trace.addEventListener("click", () => {
      this.showMessage("tracing your text ...");
      this.model.send({ type: "trace", text: c.text.value });
    });
    c.unit = make("input", { type: "range", min: 0, step: 1, className: "gx-unit" });
    c.unitValue = make("output");
    c.unit.addEventListener("input", () => this.choose("unit", +c.unit.value, () => this.drawUnit()));
    c.first = make("input", { type: "range", min: 0, step: 1, className: "gx-first" });
    c.width = make("input", { type: "range", min: 2, step: 1, className: "gx-width" });
    c.windowValue = make("output");
    const moveWindow = () => {
      const T = this.meta.steps;
      const width = Math.min(+c.width.value, T);
      const first = Math.min(+c.first.value, T - width);
      this.choose("window", [first, first + width - 1], () => this.drawWindow());
    };
    c.first.addEventListener("input", moveWindow);
    c.width.addEventListener("input", moveWindow);
    c.feature = make("select", { className: "gx-feature" });
    c.feature.addEventListener("change", () => this.choose("feature", c.feature.value, () => this.drawRanking()));
    c.ranked = make("select", { className: "gx-ranked" });
    c.ranked.addEventListener("change", () => {
      if (+c.ranked.value >= 0) this.choose("unit", +c.ranked.value, () => this.drawUnit());
    });
    this.message = make("div", { className: "gx-msg" });
    this.status = make("div", { className: "gx-status" });
    this.note = make("div", { className: "gx-dim" });
    this.text = make("div", { className: "gx-text" });
    this.text.addEventListener("mouseover", (e) => {
      const t = e.target.dataset ? e.target.dataset.t : undefined;
      if (t !== undefined) this.setHover(+t);
    });
    this.text.addEventListener("mouseleave", () => this.setHover(-1));
    this.hoverInfo = make("div", { className: "gx-hover gx-dim" });
    this.heat = canvas(540, 312);
    this.heat.className = "gx-heat";
    this.heat.addEventListener("mousemove", (e) => heatmapHover(this, e, false));
    this.heat.addEventListener("click", (e) => heatmapHover(this, e, true));
    this.scatter = canvas(330, 312);
    this.scatter.className = "gx-scatter";
    const row = (...nodes) => make("div", { className: "gx-row" }, ...nodes);
    const label = (text, ...nodes) => make("label", {}, text, ...nodes);
    const box = make("div", { className: "gx" });
    // Keys pressed in the explorer are for its controls: JupyterLab's notebook shortcuts (on the
    // document) would otherwise take the arrow keys from the sliders, and letters from the text box.
    box.addEventListener("keydown", (e) => e.stopPropagation());
    this.root.replaceChildren(make("style", { textContent: CSS }), box);
    box.append(
      row(label("passage", c.passage), ...c.gates, label("layer", c.layer)),
      row(c.text),
      row(c.trace, this.note),
      row(label("unit", c.unit, c.unitValue), label("from step", c.first), label("steps", c.width, c.windowValue)),
      row(label("rank units by", c.feature), label("top units", c.ranked)),
      this.message,
      this.status,
      this.text,
      this.hoverInfo,
      make("div", { className: "gx-figs" }, this.heat, this.scatter),
    );
  }

  showMessage(text) {
    this.message.textContent = text || "";
  }

  /** A new trace (or its connectivity) arrived: decode it and redraw everything. */
  load() {
    const meta = this.model.get("meta");
    if (!meta || !meta.steps) {
      this.showMessage("tracing the passage ...");
      return;
    }
    this.meta = meta;
    this.gatesData = bytesOf(this.model.get("gates"));
    this.conn = bytesOf(this.model.get("conn"));
    this.readState();
    this.showMessage(this.model.get("message"));
    const c = this.controls;
    if (`${meta.serial}:${meta.text}` !== this.serial) {
      this.serial = `${meta.serial}:${meta.text}`;
      this.rankCache.clear();
      this.pointCache.clear();
      this.features = textFeatures(meta.text);
      this.fg = meta.palette.map((hex) => (luminance(hex) > 0.55 ? "#000" : "#fff"));
      this.spans = [...meta.text].map((ch, t) => {
        const s = make("span", { textContent: ch });
        s.dataset.t = t;
        return s;
      });
      this.text.replaceChildren(...this.spans);
      this.shown = new Int16Array(this.spans.length).fill(-1); // the colour index each span shows
      this.marks = this.spans.map(() => "");
      this.rgb = meta.palette.map((hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)));
      this.hover = -1;
      c.passage.replaceChildren(
        ...this.model.get("passages").map((p) => make("option", { value: p, textContent: p })),
      );
      if (!this.model.get("passages").includes(this.model.get("passage")))
        c.passage.append(make("option", { value: this.model.get("passage"), textContent: this.model.get("passage") }));
      c.passage.value = this.model.get("passage");
      c.layer.replaceChildren(
        ...Array.from({ length: meta.layers }, (_, i) =>
          make("option", { value: i, textContent: `layer ${i + 1} of ${meta.layers}` }),
        ),
      );
      c.layer.parentElement.style.display = meta.layers > 1 ? "" : "none";
      c.feature.replaceChildren(...meta.features.map((f) => make("option", { value: f, textContent: f })));
      c.unit.max = meta.units - 1;
      c.first.max = meta.steps - 2;
      c.width.max = meta.steps;
      c.text.value = meta.text;
      c.text.readOnly = !meta.kernel;
      c.trace.disabled = !meta.kernel;
    }
    this.note.textContent =
      (meta.note ? `Note: ${meta.note}. ` : "") +
      (meta.kernel
        ? ""
        : "This page has no Python kernel: choose one of the traced passages (run notebook 5 to trace your own text).");
    this.drawAll();
    this.rankAhead();
  }

  value(t, u) {
    const m = this.meta;
    return this.gatesData[((this.layer * 2 + m.gates.indexOf(this.gate)) * m.steps + t) * m.units + u];
  }

  drawAll() {
    const c = this.controls;
    c.layer.value = this.layer;
    c.feature.value = this.feature;
    for (const b of c.gates) b.classList.toggle("gx-on", b.dataset.gate === this.gate);
    this.drawWindow();
    this.drawRanking();
    this.drawScatter();
    this.drawHover();
  }

  drawHeat() {
    paintHeatmap(this);
  }

  drawScatter() {
    paintScatter(this);
  }

  drawUnit() {
    this.drawText();
    this.drawHeat();
    this.drawScatter();
    this.drawStatus();
  }

  drawGate() {
    const c = this.controls;
    c.layer.value = this.layer;
    for (const b of c.gates) b.classList.toggle("gx-on", b.dataset.gate === this.gate);
    this.drawRanking();
    this.drawUnit();
  }

  drawWindow() {
    const c = this.controls;
    const [first, last] = this.window;
    c.first.value = first;
    c.width.value = last - first + 1;
    c.windowValue.textContent = `${first}-${last}`;
    this.drawUnit();
  }

  drawText() {
    const [first, last] = this.window;
    const pal = this.meta.palette;
    const u = this.unit;
    this.controls.unit.value = u;
    this.controls.unitValue.textContent = u;
    for (let t = 0; t < this.spans.length; t++) {
      const q = this.value(t, u);
      const s = this.spans[t].style;
      if (this.shown[t] !== q) {
        this.shown[t] = q; // touch the style only where it changes: less for the browser to restyle
        s.backgroundColor = pal[q];
        s.color = this.fg[q];
      }
      const mark = this.shadow(t, first, last);
      if (this.marks[t] !== mark) s.boxShadow = this.marks[t] = mark;
    }
    if (this.hover >= 0) this.drawHover();
  }

  /** The window underlines its characters; the hovered character's context gets a green bar on top. */
  shadow(t, first, last) {
    const marks = [];
    if (t >= first && t <= last) marks.push("inset 0 -3px 0 #222");
    const back = this.hover - t;
    if (this.hover >= 0 && back >= 0 && back < this.meta.context && this.conn.length) {
      const a = 0.15 + 0.85 * this.strength(this.hover, back);
      marks.push(`inset 0 4px 0 rgba(0,140,0,${a.toFixed(2)})`);
    }
    if (t === this.hover) marks.push("0 0 0 1px #000");
    return marks.join(",");
  }

  /** How strongly character t - j moves the prediction after character t, in [0, 1] of the row's largest. */
  strength(t, j) {
    const k = this.meta.context;
    return this.conn.length ? this.conn[t * k + j] / 255 : 0;
  }

  setHover(t) {
    const [first, last] = this.window;
    const old = this.hover;
    this.hover = t;
    const k = this.meta.context;
    for (const center of [old, t])
      if (center >= 0)
        for (let s = Math.max(0, center - k + 1); s <= center; s++)
          this.spans[s].style.boxShadow = this.marks[s] = this.shadow(s, first, last);
    this.drawHover();
  }

  drawHover() {
    const t = this.hover;
    const m = this.meta;
    if (t < 0) {
      this.hoverInfo.replaceChildren(
        "Hover over a character: its gate value, the model's next-character prediction there, and (green) " +
          `how strongly each of the ${m.context} characters before it moves that prediction.`,
      );
      return;
    }
    const next = m.predicted[t];
    const head = `step ${t} '${SYMBOL(m.text[t])}': ${NAMES[this.gate]} of unit ${this.unit} = ${(this.value(t, this.unit) / 255).toFixed(2)}; predicts '${SYMBOL(next)}' next (p = ${m.probability[t].toFixed(2)}).`;
    if (!this.conn.length) {
      const why = m.context ? "computing in the kernel ..." : "off (context=0)";
      this.hoverInfo.replaceChildren(head, make("br"), `connectivity: ${why}`);
      return;
    }
    const k = m.context;
    const strip = [];
    for (let s = Math.max(0, t - k + 1); s <= t; s++) {
      const a = this.strength(t, t - s);
      strip.push(
        make("span", {
          textContent: SYMBOL(m.text[s]),
          style: `background: rgba(0,140,0,${a.toFixed(2)}); color: ${a > 0.6 ? "#fff" : "#000"}`,
        }),
      );
    }
    this.hoverInfo.replaceChildren(
      head,
      make("br"),
      ...strip,
      ` \u2192 '${SYMBOL(next)}'   green: |d log p / d input|, largest = ${m.conn_scale[t].toPrecision(2)}`,
    );
  }

  drawStatus() {
    const m = this.meta;
    const u = this.unit;
    const g = m.gates.indexOf(this.gate);
    let sum = 0;
    for (let t = 0; t < m.steps; t++) sum += this.value(t, u);
    const [low, high] = m.saturation[this.layer][g].map((row) => row[u]);
    const top = (this.ranking || []).find(([v]) => v === u);
    const pct = (x) => `${Math.round(100 * x)}%`;
    this.status.replaceChildren(
      make("b", { textContent: `unit ${u}` }),
      `, ${NAMES[this.gate]}, layer ${this.layer + 1}: mean ${(sum / m.steps / 255).toFixed(2)}, below 0.1 on ${pct(low)} ` +
        `and above 0.9 on ${pct(high)} of the ${m.steps} steps` +
        (top ? `; one of the top units for ${this.feature}s (correlation ${top[1].toFixed(2)}).` : "."),
      make("br"),
      make("span", { className: "gx-dim", textContent: `Colours: ${MEANING[this.gate]}.` }),
    );
  }

  /** Units whose gate correlates most strongly (either sign) with a text feature (Pearson r), top 12. */
  rank(layer, gate, feature) {
    const key = `${layer}/${gate}/${feature}`;
    if (!this.rankCache.has(key)) {
      const m = this.meta;
      const f = this.features[feature];
      const [T, H] = [m.steps, m.units];
      const base = (layer * 2 + m.gates.indexOf(gate)) * T * H; // the (T, h) block of this gate
      const g = this.gatesData;
      let fMean = 0;
      for (let t = 0; t < T; t++) fMean += f[t] / T;
      const mean = new Float64Array(H);
      for (let t = 0, i = base; t < T; t++) for (let u = 0; u < H; u++, i++) mean[u] += g[i] / T;
      const sgf = new Float64Array(H);
      const sgg = new Float64Array(H);
      let sff = 0;
      for (let t = 0, i = base; t < T; t++) {
        const df = f[t] - fMean;
        sff += df * df;
        for (let u = 0; u < H; u++, i++) {
          const dg = g[i] - mean[u];
          sgf[u] += dg * df;
          sgg[u] += dg * dg;
        }
      }
      const r = Array.from({ length: H }, (_, u) => [u, sgg[u] > 0 && sff > 0 ? sgf[u] / Math.sqrt(sgg[u] * sff) : 0]);
      r.sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]) || a[0] - b[0]);
      this.rankCache.set(key, r.slice(0, 12));
    }
    return this.rankCache.get(key);
  }

  /** Rank every layer, gate and feature while the reader looks, so that no move waits for it. */
  rankAhead() {
    const serial = this.serial;
    const todo = [];
    for (let layer = 0; layer < this.meta.layers; layer++)
      for (const gate of this.meta.gates) for (const feature of this.meta.features) todo.push([layer, gate, feature]);
    const next = () => {
      if (serial !== this.serial || !todo.length) return;
      this.rank(...todo.shift());
      setTimeout(next, 0);
    };
    setTimeout(next, 0);
  }

  drawRanking() {
    this.ranking = this.rank(this.layer, this.gate, this.feature);
    const c = this.controls;
    c.feature.value = this.feature;
    const options = [[-1, "choose a unit"]].concat(
      this.ranking.map(([u, r]) => [u, `unit ${u}: correlation ${r >= 0 ? "+" : ""}${r.toFixed(2)} with ${this.feature}s`]),
    );
    while (c.ranked.options.length < options.length) c.ranked.append(make("option"));
    options.forEach(([value, text], i) => {
      const option = c.ranked.options[i]; // rewritten in place: fewer nodes for the browser to lay out
      if (option.textContent !== text) Object.assign(option, { value, textContent: text });
    });
    c.ranked.value = -1;
    this.drawStatus();
  }

}

function render({ model, el }) {
  const view = new Explorer(model, el);
  return () => view.dispose();
}

export default { render };
