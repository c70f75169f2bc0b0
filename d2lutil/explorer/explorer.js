// The gate explorer's front end: an anywidget ES module, plain DOM and canvas, no dependencies.
//
// It draws one traced passage from the widget's model (traits set by d2lutil/explorer/widget.py):
// meta (JSON), gates ((L, 2, T, h) bytes, value = byte / 255) and conn ((T, k) bytes, each row
// relative to its largest entry, meta.conn_scale). Every move that needs no new tracing (unit,
// gate, layer, window, hover, ranking) is drawn here at once, in the event handler; the choice is
// then written back to the model so that the kernel (when there is one) sees it. A new passage is
// asked of the kernel. staticModel() stands in for the widget's model in a saved page.

const NAMES = { z: "update gate Z", r: "reset gate R" };
const MEANING = {
  z: "blue = 0 (the new state takes the candidate), red = 1 (the unit keeps its old state)",
  r: "blue = 0 (the candidate ignores the old state), red = 1 (the candidate uses it fully)",
};
const SYMBOL = (c) => (c === " " ? "\u00b7" : c);
const CSS = `
.gx { font: 13px/1.45 system-ui, sans-serif; color: #222; max-width: 900px; }
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

/** A canvas of CSS size w x h drawn at the screen's pixel density. */
function canvas(w, h) {
  const c = make("canvas");
  const dpr = window.devicePixelRatio || 1;
  c.width = Math.round(w * dpr);
  c.height = Math.round(h * dpr);
  c.style.width = `${w}px`;
  c.style.height = `${h}px`;
  c.getContext("2d").scale(dpr, dpr);
  return c;
}

class Explorer {
  constructor(model, root) {
    this.model = model;
    this.root = root;
    this.serial = -1;
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
    if (JSON.stringify(value) === JSON.stringify(this[name])) return;
    this[name] = Array.isArray(value) ? [...value] : value;
    if (this.meta) redraw();
  }

  /** A control moved: redraw now, then tell the model (and through it the kernel). */
  choose(name, value, redraw) {
    this[name] = value;
    redraw();
    this.model.set(name, value);
    this.model.save_changes();
  }

  build() {
    const c = (this.controls = {});
    c.passage = make("select");
    c.passage.addEventListener("change", () => {
      this.showMessage("tracing the passage ...");
      this.model.set("passage", c.passage.value);
      this.model.save_changes();
    });
    c.gates = Object.keys(NAMES).map((g) => {
      const b = make("button", { textContent: NAMES[g], type: "button" });
      b.dataset.gate = g;
      b.addEventListener("click", () => this.choose("gate", g, () => this.drawGate()));
      return b;
    });
    c.layer = make("select");
    c.layer.addEventListener("change", () => this.choose("layer", +c.layer.value, () => this.drawGate()));
    c.text = make("textarea", { placeholder: "type or paste any text, then click 'trace this text'" });
    c.trace = make("button", { type: "button", textContent: "trace this text" });
    c.trace.addEventListener("click", () => {
      this.showMessage("tracing your text ...");
      this.model.send({ type: "trace", text: c.text.value });
    });
    c.unit = make("input", { type: "range", min: 0, step: 1 });
    c.unitValue = make("output");
    c.unit.addEventListener("input", () => this.choose("unit", +c.unit.value, () => this.drawUnit()));
    c.first = make("input", { type: "range", min: 0, step: 1 });
    c.width = make("input", { type: "range", min: 2, step: 1 });
    c.windowValue = make("output");
    const moveWindow = () => {
      const T = this.meta.steps;
      const width = Math.min(+c.width.value, T);
      const first = Math.min(+c.first.value, T - width);
      this.choose("window", [first, first + width - 1], () => this.drawWindow());
    };
    c.first.addEventListener("input", moveWindow);
    c.width.addEventListener("input", moveWindow);
    c.feature = make("select");
    c.feature.addEventListener("change", () => this.choose("feature", c.feature.value, () => this.drawRanking()));
    c.ranked = make("select");
    c.ranked.addEventListener("change", () => {
      if (+c.ranked.value >= 0) this.choose("unit", +c.ranked.value, () => this.drawUnit());
    });
    this.message = make("div", { className: "gx-msg" });
    this.status = make("div");
    this.note = make("div", { className: "gx-dim" });
    this.text = make("div", { className: "gx-text" });
    this.text.addEventListener("mouseover", (e) => {
      const t = e.target.dataset ? e.target.dataset.t : undefined;
      if (t !== undefined) this.setHover(+t);
    });
    this.text.addEventListener("mouseleave", () => this.setHover(-1));
    this.hoverInfo = make("div", { className: "gx-hover gx-dim" });
    this.heat = canvas(560, 340);
    this.heat.addEventListener("mousemove", (e) => this.heatHover(e, false));
    this.heat.addEventListener("click", (e) => this.heatHover(e, true));
    this.scatter = canvas(330, 340);
    const row = (...nodes) => make("div", { className: "gx-row" }, ...nodes);
    const label = (text, ...nodes) => make("label", {}, text, ...nodes);
    this.root.replaceChildren(
      make("style", { textContent: CSS }),
      make(
        "div",
        { className: "gx" },
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
      ),
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
    if (meta.serial !== this.serial) {
      this.serial = meta.serial;
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
      s.background = pal[q];
      s.color = this.fg[q];
      s.boxShadow = this.shadow(t, first, last);
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
          this.spans[s].style.boxShadow = this.shadow(s, first, last);
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
        (top ? `; one of the top units for ${this.feature}s (r = ${top[1].toFixed(2)}).` : "."),
      make("br"),
      make("span", { className: "gx-dim", textContent: `Colours: ${MEANING[this.gate]}.` }),
    );
  }

  /** Units whose gate correlates most strongly (either sign) with the chosen text feature (Pearson r). */
  drawRanking() {
    const key = `${this.layer}/${this.gate}/${this.feature}`;
    if (!this.rankCache.has(key)) {
      const m = this.meta;
      const f = this.features[this.feature];
      const T = m.steps;
      const H = m.units;
      let fMean = 0;
      for (let t = 0; t < T; t++) fMean += f[t] / T;
      const mean = new Float64Array(H);
      for (let t = 0; t < T; t++) for (let u = 0; u < H; u++) mean[u] += this.value(t, u) / T;
      const sgf = new Float64Array(H);
      const sgg = new Float64Array(H);
      let sff = 0;
      for (let t = 0; t < T; t++) {
        const df = f[t] - fMean;
        sff += df * df;
        for (let u = 0; u < H; u++) {
          const dg = this.value(t, u) - mean[u];
          sgf[u] += dg * df;
          sgg[u] += dg * dg;
        }
      }
      const r = Array.from({ length: H }, (_, u) => [u, sgg[u] > 0 && sff > 0 ? sgf[u] / Math.sqrt(sgg[u] * sff) : 0]);
      r.sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]) || a[0] - b[0]);
      this.rankCache.set(key, r.slice(0, 12));
    }
    this.ranking = this.rankCache.get(key);
    const c = this.controls;
    c.feature.value = this.feature;
    c.ranked.replaceChildren(
      make("option", { value: -1, textContent: "choose a unit" }),
      ...this.ranking.map(([u, r]) =>
        make("option", { value: u, textContent: `unit ${u}: r = ${r >= 0 ? "+" : ""}${r.toFixed(2)} with ${this.feature}s` }),
      ),
    );
    c.ranked.value = -1;
    this.drawStatus();
  }

  heatGeometry() {
    const m = this.meta;
    const rows = Math.min(m.units_shown, m.units);
    const block = Math.min(Math.floor(this.unit / rows) * rows, m.units - rows);
    return { x: 52, y: 30, w: 430, h: 230, rows, block };
  }

  drawHeat() {
    const m = this.meta;
    const { x, y, w, h, rows, block } = this.heatGeometry();
    const [first, last] = this.window;
    const cols = last - first + 1;
    const img = new ImageData(cols, rows);
    const rgb = m.palette.map((hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)));
    for (let r = 0; r < rows; r++)
      for (let col = 0; col < cols; col++) {
        const [R, G, B] = rgb[this.value(first + col, block + r)];
        const i = 4 * (r * cols + col);
        img.data[i] = R;
        img.data[i + 1] = G;
        img.data[i + 2] = B;
        img.data[i + 3] = 255;
      }
    if (!this.heatPixels || this.heatPixels.width !== cols || this.heatPixels.height !== rows) {
      this.heatPixels = make("canvas", { width: cols, height: rows });
    }
    this.heatPixels.getContext("2d").putImageData(img, 0, 0);
    const ctx = this.heat.getContext("2d");
    ctx.clearRect(0, 0, 560, 340);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.heatPixels, x, y, w, h);
    ctx.fillStyle = "#222";
    ctx.font = "12px system-ui, sans-serif";
    ctx.textAlign = "center";
    const name = NAMES[this.gate].split(" gate")[0];
    ctx.fillText(`The ${name} gate of units ${block}-${block + rows - 1} (of ${m.units}), layer ${this.layer + 1}`, x + w / 2, 16);
    ctx.font = "10px system-ui, sans-serif";
    ctx.textAlign = "right";
    const rowH = h / rows;
    for (let r = 0; r < rows; r += Math.max(1, Math.ceil(rows / 8))) ctx.fillText(block + r, x - 4, y + (r + 0.5) * rowH + 3);
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 1.5;
    ctx.strokeRect(x - 1, y + (this.unit - block) * rowH, w + 2, rowH);
    const colW = w / cols;
    const size = Math.min(14, colW * 1.6);
    ctx.textAlign = "center";
    if (size >= 7) {
      ctx.font = `${size.toFixed(1)}px monospace`;
      for (let col = 0; col < cols; col++) ctx.fillText(SYMBOL(m.text[first + col]), x + (col + 0.5) * colW, y + h + size + 2);
    }
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillText(
      `steps ${first}-${last}: ` +
        (size >= 7 ? "the characters read (\u00b7 = space)" : "narrow the window to see the characters") +
        "; box: the chosen unit",
      x + w / 2,
      y + h + 40,
    );
    ctx.save();
    ctx.translate(14, y + h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText("hidden unit", 0, 0);
    ctx.restore();
    const barX = x + w + 14;
    for (let i = 0; i < h; i++) {
      ctx.fillStyle = m.palette[Math.round((255 * (h - 1 - i)) / (h - 1))];
      ctx.fillRect(barX, y + i, 14, 1);
    }
    ctx.fillStyle = "#222";
    ctx.textAlign = "left";
    for (const v of [0, 0.5, 1]) ctx.fillText(v.toFixed(1), barX + 18, y + (1 - v) * h + 4);
    ctx.fillText("gate", barX + 18, y + h / 2 - 30);
  }

  heatHover(event, click) {
    const { x, y, w, h, rows, block } = this.heatGeometry();
    const box = this.heat.getBoundingClientRect();
    const px = event.clientX - box.left - x;
    const py = event.clientY - box.top - y;
    if (px < 0 || py < 0 || px >= w || py >= h) return;
    const [first, last] = this.window;
    const t = first + Math.floor((px / w) * (last - first + 1));
    const u = block + Math.floor((py / h) * rows);
    if (click) this.choose("unit", u, () => this.drawUnit());
    else
      this.hoverInfo.textContent = `unit ${u}, step ${t} '${SYMBOL(this.meta.text[t])}': ${NAMES[this.gate]} = ${(this.value(t, u) / 255).toFixed(2)} (click: choose this unit)`;
  }

  /** Each unit's two gates at (fraction above 0.9, fraction below 0.1) (Karpathy et al. 2015). */
  drawScatter() {
    const m = this.meta;
    const [x, y, w, h] = [52, 58, 260, 230];
    const at = (right, left) => [x + right * w, y + (1 - left) * h];
    const sat = m.saturation[this.layer]; // (gate, [below 0.1, above 0.9], unit)
    if (!this.pointCache.has(this.layer)) {
      const layer = canvas(330, 340);
      const ctx = layer.getContext("2d");
      ctx.strokeStyle = "#bbb";
      ctx.strokeRect(x, y, w, h);
      ctx.beginPath();
      ctx.moveTo(...at(0, 1));
      ctx.lineTo(...at(1, 0));
      ctx.stroke();
      const colours = { z: "rgba(214,39,40,0.5)", r: "rgba(31,119,180,0.5)" };
      for (const g of ["z", "r"]) {
        ctx.fillStyle = colours[g];
        const [low, high] = sat[m.gates.indexOf(g)];
        for (let u = 0; u < m.units; u++) {
          const [px, py] = at(high[u], low[u]);
          ctx.fillRect(px - 2, py - 2, 4, 4);
        }
      }
      ctx.fillStyle = "#222";
      ctx.font = "11px system-ui, sans-serif";
      ctx.textAlign = "center";
      const share = (g) => {
        const [low, high] = sat[m.gates.indexOf(g)];
        return Math.round((100 * low.filter((v, u) => v + high[u] > 0.5).length) / m.units);
      };
      ctx.fillText(`Saturation over ${m.steps} steps, layer ${this.layer + 1}:`, x + w / 2, 14);
      ctx.fillText(`${share("z")}% of update and ${share("r")}% of reset gates`, x + w / 2, 28);
      ctx.fillText("are saturated more than half the time", x + w / 2, 42);
      ctx.fillText("fraction of steps right-saturated (> 0.9)", x + w / 2, y + h + 30);
      for (const v of [0, 0.5, 1]) {
        ctx.fillText(v.toFixed(1), ...at(v, 0).map((c, i) => c + (i ? 14 : 0)));
        ctx.fillText(v.toFixed(1), at(0, v)[0] - 16, at(0, v)[1] + 4);
      }
      ctx.save();
      ctx.translate(14, y + h / 2);
      ctx.rotate(-Math.PI / 2);
      ctx.fillText("fraction left-saturated (< 0.1)", 0, 0);
      ctx.restore();
      ctx.textAlign = "left";
      ctx.fillStyle = colours.z;
      ctx.fillRect(x + w - 92, y + 8, 8, 8);
      ctx.fillStyle = colours.r;
      ctx.fillRect(x + w - 92, y + 22, 8, 8);
      ctx.fillStyle = "#222";
      ctx.fillText("update gate Z", x + w - 80, y + 16);
      ctx.fillText("reset gate R", x + w - 80, y + 30);
      ctx.fillText("\u25cb the chosen unit", x + w - 92, y + 44);
      this.pointCache.set(this.layer, layer);
    }
    const ctx = this.scatter.getContext("2d");
    ctx.clearRect(0, 0, 330, 340);
    ctx.drawImage(this.pointCache.get(this.layer), 0, 0, 330, 340);
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 1.5;
    for (let g = 0; g < 2; g++) {
      const [px, py] = at(sat[g][1][this.unit], sat[g][0][this.unit]);
      ctx.beginPath();
      ctx.arc(px, py, 6, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }
}

function render({ model, el }) {
  const view = new Explorer(model, el);
  return () => view.dispose();
}

function decode(base64) {
  const raw = atob(base64);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/**
 * A stand-in for the widget's model in a saved page (no kernel): the same get/set/on/off/
 * save_changes/send, over the traces the page carries. data: {passages, state, traces: {label:
 * {meta, gates, conn}}} with gates and conn base64-encoded.
 */
export function staticModel(data) {
  const values = { passages: data.passages, passage: data.passages[0], message: "", ...data.state };
  const handlers = new Map();
  const decoded = new Map();
  const use = (label) => {
    if (!decoded.has(label)) {
      const tr = data.traces[label];
      decoded.set(label, { meta: tr.meta, gates: decode(tr.gates), conn: decode(tr.conn) });
    }
    Object.assign(values, decoded.get(label));
    values.window = [0, Math.min(values.meta.window, values.meta.steps) - 1];
  };
  const fire = (name) => (handlers.get(`change:${name}`) || []).forEach((f) => f());
  use(values.passage);
  return {
    get: (name) => values[name],
    set(name, value) {
      values[name] = value;
      if (name === "passage") {
        use(value);
        fire("meta");
      }
      fire(name);
    },
    save_changes() {},
    on(event, f) {
      handlers.set(event, [...(handlers.get(event) || []), f]);
    },
    off(event, f) {
      handlers.set(event, (handlers.get(event) || []).filter((g) => g !== f));
    },
    send() {
      values.message = "This page has no Python kernel, so it cannot trace new text.";
      fire("message");
    },
  };
}

export default { render };
