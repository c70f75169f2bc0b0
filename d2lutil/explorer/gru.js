// A GRU language model's forward pass in the page: embedding, nn.GRU layers (reset after, as
// PyTorch computes them), head and log-softmax, with the interventions of d2lutil.gates
// (Intervention: "update" and "reset" clamp a gate, "silence" holds a unit's state at 0, "cut"
// zeroes every layer's state after a character). The weights come from
// d2lutil/explorer/weights.py as float16 bytes and a spec.
//
// Speed (tests/test_explorer_page.py measures it): the matrix-vector products run in a small
// WebAssembly SIMD kernel (assembled below), with plain loops where the engine lacks SIMD; the
// lowest layer's input side is a table (one row per token, the embedding times W_x0 plus b_x0,
// folded in Python); a re-run after an intervention starts at the first character it changes
// and skips the layers below the lowest one it touches; the work goes in chunks of steps, so a
// caller can paint between them.

/** float16 bytes (little-endian) as a Float32Array. */
export function fromHalf(bytes) {
  if (bytes.byteOffset % 2) bytes = bytes.slice(); // a Uint16Array view needs an even offset
  const half = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1);
  const out = new Float32Array(half.length);
  for (let i = 0; i < half.length; i++) {
    const v = half[i];
    const sign = v & 0x8000 ? -1 : 1;
    const exp = (v >> 10) & 0x1f;
    const frac = v & 0x3ff;
    out[i] = exp === 0 ? sign * frac * 2 ** -24 : exp === 31 ? sign * Infinity : sign * (1024 + frac) * 2 ** (exp - 25);
  }
  return out;
}

const sigmoid = (x) => 1 / (1 + Math.exp(-x));
const STEPS_PER_BLOCK = 4; // the input side of the upper layers: steps per read of the weights

/** out[o + j] = b[j] + sum_i W[j, i] * x[xo + i] for j < rows (W row-major, rows x cols). */
function matvec(W, b, x, xo, out, o, rows, cols) {
  for (let j = 0; j < rows; j++) {
    const w = j * cols;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let i = 0; i < cols; i += 4) {
      s0 += W[w + i] * x[xo + i];
      s1 += W[w + i + 1] * x[xo + i + 1];
      s2 += W[w + i + 2] * x[xo + i + 2];
      s3 += W[w + i + 3] * x[xo + i + 3];
    }
    out[o + j] = b[j] + s0 + s1 + s2 + s3;
  }
}

/** Four steps at once: out[(t + k) * rows + j] for k < 4, x's rows t..t+3 (each cols long). */
function matvec4(W, b, x, t, out, rows, cols) {
  const [x0, x1, x2, x3] = [0, 1, 2, 3].map((k) => (t + k) * cols);
  for (let j = 0; j < rows; j++) {
    const w = j * cols;
    let a = 0, c = 0, d = 0, e = 0;
    for (let i = 0; i < cols; i++) {
      const v = W[w + i];
      a += v * x[x0 + i];
      c += v * x[x1 + i];
      d += v * x[x2 + i];
      e += v * x[x3 + i];
    }
    out[t * rows + j] = b[j] + a;
    out[(t + 1) * rows + j] = b[j] + c;
    out[(t + 2) * rows + j] = b[j] + d;
    out[(t + 3) * rows + j] = b[j] + e;
  }
}

// The same matrix-vector product as matvec, in WebAssembly with 128-bit SIMD (four float32 lanes,
// two accumulators: eight columns per pass, so cols must be a multiple of 8), assembled here from
// its instructions: matvec(W, b, x, out, rows, cols), all but rows and cols byte offsets into the
// module's memory. About ten times the plain loop's speed in V8 (tests/test_explorer_page.py).
const leb = (n) => {
  const out = [];
  do {
    out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n);
  return out;
};
const WASM_MATVEC = (() => {
  const [W, B, X, OUT, ROWS, COLS, J, WP, XP, XEND, A0, A1] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const get = (i) => [0x20, i];
  const set = (i) => [0x21, i];
  const i32 = (n) => [0x41, n]; // small non-negative constants only (< 64)
  const [ADD, MUL, SHL, GE_U, LT_U, BR_IF, F32_ADD] = [0x6a, 0x6c, 0x74, 0x4f, 0x49, 0x0d, 0x92];
  const simd = (op) => [0xfd, ...leb(op)];
  const load = (offset) => [...simd(0), 2, offset]; // v128.load, align 4 bytes
  const [MUL4, ADD4, ZERO] = [simd(230), simd(228), [...simd(12), ...new Array(16).fill(0)]];
  const lane = (k) => [...get(A0), ...simd(31), k, F32_ADD]; // + f32x4.extract_lane k
  const times4 = (i) => [...get(i), ...i32(2), SHL]; // i * 4 bytes
  const body = [
    2, 4, 0x7f, 2, 0x7b, // locals j, wp, xp, xend (i32) and acc0, acc1 (v128)
    0x02, 0x40, 0x03, 0x40, // block { loop over rows j
    ...get(J), ...get(ROWS), GE_U, BR_IF, 1,
    ...ZERO, ...set(A0), ...ZERO, ...set(A1),
    ...get(W), ...get(J), ...get(COLS), MUL, ...i32(2), SHL, ADD, ...set(WP),
    ...get(X), ...set(XP), ...get(X), ...times4(COLS), ADD, ...set(XEND),
    0x03, 0x40, // loop over the columns, eight at a time
    ...get(A0), ...get(WP), ...load(0), ...get(XP), ...load(0), ...MUL4, ...ADD4, ...set(A0),
    ...get(A1), ...get(WP), ...load(16), ...get(XP), ...load(16), ...MUL4, ...ADD4, ...set(A1),
    ...get(WP), ...i32(32), ADD, ...set(WP), ...get(XP), ...i32(32), ADD, ...set(XP),
    ...get(XP), ...get(XEND), LT_U, BR_IF, 0,
    0x0b,
    ...get(A0), ...get(A1), ...ADD4, ...set(A0),
    ...get(OUT), ...times4(J), ADD, // out[j] = b[j] + the four lanes
    ...get(B), ...times4(J), ADD, 0x2a, 2, 0,
    ...lane(0), ...lane(1), ...lane(2), ...lane(3),
    0x38, 2, 0,
    ...get(J), ...i32(1), ADD, ...set(J), 0x0c, 0, // next row
    0x0b, 0x0b, 0x0b,
  ];
  const name = (s) => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  const section = (id, bytes) => [id, ...leb(bytes.length), ...bytes];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, 0x60, 6, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0]), // (i32 x 6) -> ()
    ...section(3, [1, 0]),
    ...section(5, [1, 0, 1]), // one memory, one page to start
    ...section(7, [2, ...name("memory"), 2, 0, ...name("matvec"), 0, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ]);
})();

/** The SIMD kernel with `arrays` (Float32Arrays) copied into its memory, or null where the engine lacks SIMD. */
function simdKernel(arrays, rows, cols) {
  if (typeof WebAssembly !== "object" || !WebAssembly.validate(WASM_MATVEC)) return null;
  const { memory, matvec: run } = new WebAssembly.Instance(new WebAssembly.Module(WASM_MATVEC)).exports;
  const total = arrays.reduce((n, a) => n + a.length, 0) + rows + cols;
  memory.grow(Math.ceil((4 * total) / 65536));
  const f32 = new Float32Array(memory.buffer);
  const at = new Map();
  let offset = 0;
  for (const a of arrays) {
    f32.set(a, offset);
    at.set(a, 4 * offset);
    offset += a.length;
  }
  return { run, f32, at, x: 4 * offset, out: 4 * (offset + cols) };
}

/** Check one intervention as d2lutil.gates.Intervention does; returns it. */
export function checkIntervention(c, layers, units, steps) {
  const kinds = ["update", "reset", "silence", "cut"];
  if (!kinds.includes(c.kind)) throw new Error(`kind must be one of ${kinds.join(", ")}, got ${c.kind}`);
  if (c.layer !== null && !(Number.isInteger(c.layer) && c.layer >= 0 && c.layer < layers))
    throw new Error(`layer must be null or 0..${layers - 1}, got ${c.layer}`);
  if (c.unit !== null && !(c.kind !== "cut" && Number.isInteger(c.unit) && c.unit >= 0 && c.unit < units))
    throw new Error(`unit must be null${c.kind === "cut" ? " for a cut" : ` or 0..${units - 1}`}, got ${c.unit}`);
  const gate = c.kind === "update" || c.kind === "reset";
  if (gate !== (c.value !== null) || (gate && !(c.value >= 0 && c.value <= 1)))
    throw new Error(gate ? `value must lie in [0, 1], got ${c.value}` : `value is not taken for ${c.kind}`);
  if ((c.kind === "cut") !== (c.at !== null) || (c.at !== null && !(Number.isInteger(c.at) && c.at >= 0 && c.at < steps)))
    throw new Error(c.kind === "cut" ? `at must lie in 0..${steps - 1}, got ${c.at}` : `at is not taken for ${c.kind}`);
  return c;
}

const interventionKey = (c) => JSON.stringify([c.kind, c.layer, c.unit, c.value, c.at]);

export class GRULanguageModel {
  /**
   * spec: {layers, hidden, vocab, tensors: {name: [offset, length]}} (weights.py); data: float16
   * bytes; simd: use the WebAssembly kernel where the engine has it (false: the plain loops).
   */
  constructor(spec, data, { simd = true } = {}) {
    const all = fromHalf(data);
    const get = (name) => all.subarray(spec.tensors[name][0], spec.tensors[name][0] + spec.tensors[name][1]);
    this.layers = spec.layers;
    this.hidden = spec.hidden;
    this.vocab = spec.vocab; // token strings, index 0 <unk>
    this.table = get("table"); // (V, 3h): embedding W_x0 + b_x0, per token
    this.W_x = [null]; // (3h, h) per upper layer, row-major (nn.GRU's weight_ih)
    this.b_x = [null];
    this.W_h = []; // (3h, h) per layer (nn.GRU's weight_hh)
    this.b_h = [];
    for (let l = 0; l < this.layers; l++) {
      if (l > 0) {
        this.W_x.push(get(`weight_ih_l${l}`));
        this.b_x.push(get(`bias_ih_l${l}`));
      }
      this.W_h.push(get(`weight_hh_l${l}`));
      this.b_h.push(get(`bias_hh_l${l}`));
    }
    this.W_head = get("head_weight"); // (V, h)
    this.b_head = get("head_bias");
    const h = this.hidden;
    const matrices = [...this.W_x, ...this.b_x, ...this.W_h, ...this.b_h, this.W_head, this.b_head].filter(Boolean);
    this.simd = simd && h % 8 === 0 ? simdKernel(matrices, Math.max(3 * h, this.vocab.length), h) : null;
  }

  /** out[o..o+rows) = W x[xo..xo+cols) + b, in WebAssembly where it runs, else in JavaScript. */
  product(W, b, x, xo, out, o, rows, cols) {
    const k = this.simd;
    if (!k) return matvec(W, b, x, xo, out, o, rows, cols);
    k.f32.set(x.subarray(xo, xo + cols), k.x >> 2);
    k.run(k.at.get(W), k.at.get(b), k.x, k.out, rows, cols);
    out.set(k.f32.subarray(k.out >> 2, (k.out >> 2) + rows), o);
  }

  /** Token indices of text (every character must be in the vocabulary). */
  tokens(text) {
    return Int32Array.from(text, (ch) => this.vocab.indexOf(ch));
  }

  /**
   * A run of `tokens` with `interventions`, nothing computed yet; `previous` (a finished run) is
   * reused up to the first step and below the lowest layer that the differences touch.
   * Fields: z, r, h per layer (T * h each), logp (T * V), first (the first step to compute),
   * done (steps computed so far).
   */
  start(tokens, interventions = [], previous = null) {
    const [T, h, L, V] = [tokens.length, this.hidden, this.layers, this.vocab.length];
    const changes = interventions.map((c) =>
      checkIntervention({ layer: null, unit: null, value: null, at: null, ...c }, L, h, T),
    );
    // first: the first step whose values can differ from previous's; lowest: the lowest layer that can
    let [first, lowest] = [0, 0];
    const old = previous && previous.done === previous.T ? previous : null;
    if (old) {
      while (first < Math.min(T, old.T) && old.tokens[first] === tokens[first]) first++;
      const [was, now] = [new Set(old.changes.map(interventionKey)), new Set(changes.map(interventionKey))];
      const differ = [...old.changes.filter((c) => !now.has(interventionKey(c))), ...changes.filter((c) => !was.has(interventionKey(c)))];
      if (T === old.T && first === T) {
        first = Math.min(T, ...differ.map((c) => (c.kind === "cut" ? c.at + 1 : 0)));
        lowest = Math.min(L, ...differ.map((c) => (c.layer === null ? 0 : c.layer)));
      } else first = Math.min(first, ...differ.map((c) => (c.kind === "cut" ? c.at + 1 : 0)));
    }
    const run = { tokens, changes, T, first, lowest, shared: Boolean(old) && lowest > 0, done: first };
    Object.assign(run, { z: [], r: [], n: [], h: [], gi: [] });
    const fresh = (name, l, size) => {
      const a = new Float32Array(T * size);
      if (old && first > 0) a.set((l === null ? old[name] : old[name][l]).subarray(0, first * size));
      return a;
    };
    for (let l = 0; l < L; l++) {
      for (const name of ["z", "r", "n", "h"]) run[name].push(l < lowest ? old[name][l] : fresh(name, l, h));
      run.gi.push(l === 0 ? null : l <= lowest && old ? old.gi[l] : fresh("gi", l, 3 * h));
    }
    run.logp = lowest >= L ? old.logp : fresh("logp", null, V);
    // per layer: the clamps as masks, and the steps read from a zero state
    run.masks = Array.from({ length: L }, () => ({
      update: new Int8Array(h),
      updateValue: new Float32Array(h),
      reset: new Int8Array(h),
      resetValue: new Float32Array(h),
      silence: new Int8Array(h),
      restart: new Set(),
    }));
    for (const c of changes)
      for (let l = 0; l < L; l++) {
        if (c.layer !== null && c.layer !== l) continue;
        const m = run.masks[l];
        if (c.kind === "cut") m.restart.add(c.at + 1);
        else
          for (let u = c.unit === null ? 0 : c.unit; u < (c.unit === null ? h : c.unit + 1); u++) {
            m[c.kind][u] = 1;
            if (c.value !== null) m[`${c.kind}Value`][u] = c.value;
          }
      }
    return run;
  }

  /** Compute the next `count` steps of `run` (every layer, then the head); returns run.done. */
  advance(run, count) {
    const [a, b] = [run.done, Math.min(run.T, run.done + count)];
    const [h, L, V] = [this.hidden, this.layers, this.vocab.length];
    const gh = new Float32Array(3 * h);
    for (let l = run.lowest; l < L; l++) {
      const gi = run.gi[l];
      if (l > 0 && !(l === run.lowest && run.shared)) {  // the lowest changed layer's inputs are old
        const x = run.h[l - 1];
        let t = a;
        if (!this.simd)
          for (; t + STEPS_PER_BLOCK <= b; t += STEPS_PER_BLOCK) matvec4(this.W_x[l], this.b_x[l], x, t, gi, 3 * h, h);
        for (; t < b; t++) this.product(this.W_x[l], this.b_x[l], x, t * h, gi, t * 3 * h, 3 * h, h);
      }
      const m = run.masks[l];
      const [Z, R, N, H] = [run.z[l], run.r[l], run.n[l], run.h[l]];
      const zero = new Float32Array(h);
      for (let t = a; t < b; t++) {
        const fresh = t === 0 || m.restart.has(t);
        const prev = fresh ? zero : H;
        const p = fresh ? 0 : (t - 1) * h;
        this.product(this.W_h[l], this.b_h[l], prev, p, gh, 0, 3 * h, h);
        const src = l === 0 ? this.table : gi;
        const g = l === 0 ? run.tokens[t] * 3 * h : t * 3 * h;
        for (let u = 0; u < h; u++) {
          const r = m.reset[u] ? m.resetValue[u] : sigmoid(src[g + u] + gh[u]);
          const z = m.update[u] ? m.updateValue[u] : sigmoid(src[g + h + u] + gh[h + u]);
          const n = Math.tanh(src[g + 2 * h + u] + r * gh[2 * h + u]);
          const o = t * h + u;
          R[o] = r;
          Z[o] = z;
          N[o] = n;
          H[o] = m.silence[u] ? 0 : n + z * (prev[p + u] - n);
        }
      }
    }
    const logits = new Float32Array(V);
    for (let t = run.lowest >= L ? b : a; t < b; t++) {
      this.product(this.W_head, this.b_head, run.h[L - 1], t * h, logits, 0, V, h);
      let top = -Infinity;
      for (let v = 0; v < V; v++) top = Math.max(top, logits[v]);
      let sum = 0;
      for (let v = 0; v < V; v++) sum += Math.exp(logits[v] - top);
      const lse = top + Math.log(sum);
      for (let v = 0; v < V; v++) run.logp[t * V + v] = logits[v] - lse;
    }
    run.done = b;
    return b;
  }

  /** The whole run at once (tests and small texts). */
  trace(tokens, interventions = [], previous = null) {
    const run = this.start(tokens, interventions, previous);
    while (run.done < run.T) this.advance(run, run.T);
    return run;
  }
}

/** Perplexity of the text's own next characters under a run: exp(-mean log p(x_{t+1})). */
export function perplexity(run, V) {
  let sum = 0;
  for (let t = 0; t + 1 < run.T; t++) sum += run.logp[t * V + run.tokens[t + 1]];
  return Math.exp(-sum / Math.max(1, run.T - 1));
}

const built = new WeakMap(); // the weights' buffer -> its GRULanguageModel, built once

/** The page's model for these weights (bytes) and spec, built at the first call. */
export function pageModelOf(spec, weights) {
  if (!built.has(weights.buffer)) {
    const model = new GRULanguageModel(spec, weights);
    model.runs = new Map(); // text -> its finished run without interventions
    built.set(weights.buffer, model);
  }
  return built.get(weights.buffer);
}

/**
 * Text as the model reads it (lower-cased, every run of non-letters one space, as
 * d2lutil.data.preprocess does), cut to maxChars; throws an Error naming the characters the
 * vocabulary lacks. Returns [text, note].
 */
export function readable(text, vocab, maxChars) {
  const read = text.replace(/[^A-Za-z]+/g, " ").toLowerCase();
  if (read.trim().length < 2)
    throw new Error("the passage has fewer than two letters once lower-cased and with non-letters folded to spaces");
  const unknown = [...new Set(read)].filter((ch) => !vocab.includes(ch));
  if (unknown.length)
    throw new Error(`the passage holds characters the model's vocabulary lacks: '${unknown.join("")}'`);
  return read.length > maxChars
    ? [read.slice(0, maxChars), `only its first ${maxChars.toLocaleString("en")} characters were traced`]
    : [read, ""];
}

/**
 * What the explorer draws, from a finished run of text: the meta fields that describe the trace
 * (as widget.py's _meta sends them) and the gate bytes (L, 2, T, h), gate order (Z, R), each
 * round(255 v) as trace.quantise writes them.
 */
export function pageTrace(model, run, text) {
  const [L, h, T, V] = [model.layers, model.hidden, run.T, model.vocab.length];
  const gates = new Uint8Array(L * 2 * T * h);
  const saturation = [];
  for (let l = 0; l < L; l++) {
    const both = [];
    [run.z[l], run.r[l]].forEach((values, g) => {
      const [low, high] = [new Array(h).fill(0), new Array(h).fill(0)];
      const base = (l * 2 + g) * T * h;
      for (let i = 0; i < T * h; i++) {
        const v = values[i];
        gates[base + i] = Math.round(255 * v);
        if (v < 0.1) low[i % h]++;
        if (v > 0.9) high[i % h]++;
      }
      both.push([low.map((c) => +(c / T).toFixed(4)), high.map((c) => +(c / T).toFixed(4))]);
    });
    saturation.push(both);
  }
  let predicted = "";
  const probability = [];
  for (let t = 0; t < T; t++) {
    let best = 0;
    for (let v = 1; v < V; v++) if (run.logp[t * V + v] > run.logp[t * V + best]) best = v;
    predicted += model.vocab[best].length === 1 ? model.vocab[best] : "?";
    probability.push(+Math.exp(run.logp[t * V + best]).toFixed(3));
  }
  return { meta: { text, layers: L, steps: T, units: h, gates: ["z", "r"], predicted, probability, saturation }, gates };
}
