// The explorer's view: its controls, its state and what each move redraws (the parts are listed
// in common.js).
//
// It draws one traced passage from the widget's model (traits set by d2lutil/explorer/widget.py):
// meta (JSON), gates ((L, 2, T, h) bytes, value = byte / 255) and conn ((T, k) bytes, each row
// relative to its largest entry, meta.conn_scale). Every move that needs no new tracing (unit,
// gate, layer, window, hover, ranking) is drawn here at once, in the event handler; the choice is
// written back to the model once the reader pauses, so that the kernel (when there is one) sees
// it. A new passage is asked of the kernel.

import { MEANING, NAMES, SIZE, SYMBOL, bytesOf, canvas, make, rgbOf } from "./common.js";
import { heatmapHover, paintHeatmap, paintScatter } from "./figures.js";
import { Interventions } from "./interventions.js";
import { Passage } from "./passage.js";
import { Ranking } from "./ranking.js";

const SYNC_AFTER_MS = 250; // the view state goes to the model this long after the last move

class Explorer {
  constructor(model, root) {
    this.model = model;
    this.root = root;
    this.serial = ""; // which trace the text, the ranking and the figures' caches belong to
    this.unsent = null; // view state chosen here and not yet written to the model
    this.hover = -1;
    this.ranks = null; // a Ranking of the trace's units (ranking.js)
    this.pointCache = new Map(); // layer -> the scatter's points, drawn once (figures.js)
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
    this.sync();
    for (const [event, f] of this.listeners) this.model.off(event, f);
    this.passage.dispose();
    if (this.ranks) this.ranks.stop();
  }

  readState() {
    for (const k of ["unit", "gate", "layer", "feature"]) this[k] = this.model.get(k);
    this.window = [...this.model.get("window")];
    Object.assign(this, this.unsent); // chosen here, not yet written to the model
  }

  /** The model changed `name` (a cell set it): take it and redraw, unless it is what we hold. */
  fromModel(name, redraw) {
    const value = this.model.get(name);
    if ((this.unsent && name in this.unsent) || JSON.stringify(value) === JSON.stringify(this[name])) return;
    this[name] = Array.isArray(value) ? [...value] : value;
    if (this.meta) redraw();
  }

  /**
   * A control moved: redraw now; tell the model (and through it the kernel) once the reader pauses.
   * A drag moves a slider every frame: one message when it stops keeps the kernel's replies (and
   * the notebook's busy/idle indicator, redrawn for each) out of the frames the reader waits for.
   */
  choose(name, value, redraw) {
    this[name] = value;
    redraw();
    this.unsent = { ...this.unsent, [name]: value };
    clearTimeout(this.syncTimer);
    this.syncTimer = setTimeout(() => this.sync(), SYNC_AFTER_MS);
  }

  /** Write the view state chosen here to the model now. */
  sync() {
    clearTimeout(this.syncTimer);
    if (!this.unsent) return;
    for (const [key, v] of Object.entries(this.unsent)) this.model.set(key, v);
    this.unsent = null;
    this.model.save_changes();
  }

  build() {
    const c = (this.controls = {});
    c.passage = make("select", { className: "gx-passage" });
    c.passage.addEventListener("change", () => {
      this.sync();
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
      this.sync();
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
    for (const type of ["focus", "mousedown"]) c.ranked.addEventListener(type, () => this.listRanking());
    c.ranked.addEventListener("change", () => {
      if (+c.ranked.value >= 0) this.choose("unit", +c.ranked.value, () => this.drawUnit());
    });
    this.message = make("div", { className: "gx-msg" });
    // The status is rewritten in place (text nodes), not rebuilt: less for the browser to restyle.
    this.statusParts = [make("b"), document.createTextNode(""), make("span", { className: "gx-dim" })];
    this.status = make("div", { className: "gx-status" }, this.statusParts[0], this.statusParts[1], make("br"));
    this.status.append(this.statusParts[2]);
    this.note = make("div", { className: "gx-dim" });
    this.passage = new Passage((t) => this.setHover(t));
    this.hoverInfo = make("div", { className: "gx-hover gx-dim" });
    this.interventions = new Interventions(this);
    this.heat = canvas(...SIZE.heat);
    this.heat.className = "gx-heat";
    this.heat.addEventListener("mousemove", (e) => heatmapHover(this, e, false));
    this.heat.addEventListener("click", (e) => heatmapHover(this, e, true));
    this.scatter = canvas(...SIZE.scatter);
    this.scatter.className = "gx-scatter";
    const row = (...nodes) => make("div", { className: "gx-row" }, ...nodes);
    const label = (text, ...nodes) => make("label", {}, text, ...nodes);
    const box = make("div", { className: "gx" });
    // Keys pressed in the explorer are for its controls: JupyterLab's notebook shortcuts (on the
    // document) would otherwise take the arrow keys from the sliders, and letters from the text box.
    box.addEventListener("keydown", (e) => e.stopPropagation());
    this.root.replaceChildren(box); // styled by explorer.css (anywidget's _css, or the page's <style>)
    box.append(
      row(label("passage", c.passage), ...c.gates, label("layer", c.layer)),
      row(c.text),
      row(c.trace, this.note),
      row(label("unit", c.unit, c.unitValue), label("from step", c.first), label("steps", c.width, c.windowValue)),
      row(label("rank units by", c.feature), label("top units", c.ranked)),
      this.message,
      this.status,
      this.passage.box,
      this.hoverInfo,
      this.interventions.box,
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
      if (this.ranks) this.ranks.stop();
      this.ranks = new Ranking(meta, this.gatesData);
      this.ranks.ahead();
      this.pointCache.clear();
      this.heatKey = this.heatLabelsKey = null; // what the heatmap's layers off screen show (figures.js)
      this.rgb = meta.palette.map(rgbOf);
      this.paletteBar = null; // the heatmap's colour bar (figures.js)
      this.colour = new Uint8Array(meta.steps);
      this.hover = -1;
      this.passage.setText(meta.text, meta.palette);
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
      this.inPage = !meta.kernel && Boolean(this.interventions.pageModel());
      c.text.readOnly = !meta.kernel && !this.inPage;
      c.trace.disabled = !meta.kernel && !this.inPage;
      this.interventions.setPassage(meta);
    }
    this.note.textContent =
      (meta.note ? `Note: ${meta.note}. ` : "") +
      (meta.kernel
        ? ""
        : this.inPage
          ? "This page runs the model itself: type or paste your own text (up to 1,000 characters) and trace it here."
          : "This page has no Python kernel: choose one of the traced passages (run notebook 5 to trace your own text).");
    this.drawAll();
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
    this.setHover(this.hover); // the connectivity may have just arrived
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
    if (this.hover >= 0) this.drawHover();
  }

  drawGate() {
    const c = this.controls;
    if (+c.layer.value !== this.layer) c.layer.value = this.layer; // the list that moved shows it already
    for (const b of c.gates) b.classList.toggle("gx-on", b.dataset.gate === this.gate);
    this.drawRanking();
    this.drawUnit();
  }

  drawWindow() {
    const c = this.controls;
    const [first, last] = this.window;
    if (+c.first.value !== first) c.first.value = first;
    if (+c.width.value !== last - first + 1) c.width.value = last - first + 1;
    c.windowValue.textContent = `${first}-${last}`;
    this.drawUnit();
  }

  /** The passage coloured by the chosen unit's gate, the window underlined, the hover's context in green. */
  drawText() {
    const m = this.meta;
    const u = this.unit;
    if (+this.controls.unit.value !== u) this.controls.unit.value = u; // the slider that moved shows it already
    this.controls.unitValue.textContent = u;
    const base = (this.layer * 2 + m.gates.indexOf(this.gate)) * m.steps * m.units + u;
    for (let t = 0; t < m.steps; t++) this.colour[t] = this.gatesData[base + t * m.units];
    this.passage.draw(this.colour, this.window);
  }

  /** How strongly character t - j moves the prediction after character t, in [0, 1] of the row's largest. */
  strength(t, j) {
    const k = this.meta.context;
    return this.conn.length ? this.conn[t * k + j] / 255 : 0;
  }

  setHover(t) {
    this.hover = t;
    const k = this.conn.length ? this.meta.context : 0;
    this.passage.mark(t, (j) => (j < k ? this.strength(t, j) : null));
    this.drawHover();
    if (this.interventions.list.length) this.interventions.drawStrip();
  }

  drawHover() {
    const t = this.hover;
    const m = this.meta;
    if (t < 0) {
      this.hoverInfo.replaceChildren(
        "Hover over a character: its gate value, the model's next-character prediction there, and (green) " +
          `how strongly each of the last ${m.context} characters up to it (itself included) moves that prediction.`,
      );
      return;
    }
    const next = m.predicted[t];
    const head = `step ${t} '${SYMBOL(m.text[t])}': ${NAMES[this.gate]} of unit ${this.unit} = ${(this.value(t, this.unit) / 255).toFixed(2)}; predicts '${SYMBOL(next)}' next (p = ${m.probability[t].toFixed(2)}).`;
    const effect = this.interventions.hoverLines(t).flatMap((line) => [make("br"), line]);
    if (!this.conn.length) {
      const why = !m.context
        ? "off (context=0)"
        : m.kernel
          ? "computing in the kernel ..."
          : "not computed in the page (it needs a backward pass); the traced passages carry it";
      this.hoverInfo.replaceChildren(head, make("br"), `connectivity: ${why}`, ...effect);
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
      ...effect,
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
    const [unit, numbers, colours] = this.statusParts;
    unit.textContent = `unit ${u}`;
    numbers.data =
      `, ${NAMES[this.gate]}, layer ${this.layer + 1}: mean ${(sum / m.steps / 255).toFixed(2)}, below 0.1 on ${pct(low)} ` +
      `and above 0.9 on ${pct(high)} of the ${m.steps} steps` +
      (top ? `; one of the top units for ${this.feature}s (correlation ${top[1].toFixed(2)}).` : ".");
    colours.textContent = `Colours: ${MEANING[this.gate]}.`;
  }

  drawRanking() {
    this.ranking = this.ranks.top(this.layer, this.gate, this.feature);
    if (this.controls.feature.value !== this.feature) this.controls.feature.value = this.feature;
    this.drawStatus();
    // The closed list shows "choose a unit" whatever the ranking: its options are rewritten after
    // the frame is painted (or at once when the reader opens it), not in the frame of the move.
    if (!this.unlisted) requestAnimationFrame(() => setTimeout(() => this.listRanking()));
    this.unlisted = true;
  }

  /** The ranked units into the list's options, if they are not there yet. */
  listRanking() {
    if (!this.unlisted) return;
    this.unlisted = false;
    const c = this.controls;
    const options = [[-1, "choose a unit"]].concat(
      this.ranking.map(([u, r]) => [u, `unit ${u}: correlation ${r >= 0 ? "+" : ""}${r.toFixed(2)} with ${this.feature}s`]),
    );
    while (c.ranked.options.length < options.length) c.ranked.append(make("option"));
    options.forEach(([value, text], i) => {
      const option = c.ranked.options[i]; // rewritten in place: fewer nodes for the browser to lay out
      if (option.textContent !== text) Object.assign(option, { value, textContent: text });
    });
    c.ranked.value = -1;
  }
}

function render({ model, el }) {
  const view = new Explorer(model, el);
  return () => view.dispose();
}

export default { render };
