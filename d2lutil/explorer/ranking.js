// Ranking units by a text feature: which units' gates go up (or down) at spaces, word starts or
// vowels, as LSTMVis lets a reader find units that match a pattern. Computed over the raw gate
// bytes, ahead of time in idle moments, so that no move waits for a ranking.

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

export class Ranking {
  /** meta: the trace's meta (text, steps, units, layers, gates, features); gates: (L, 2, T, h) bytes. */
  constructor(meta, gates) {
    this.meta = meta;
    this.gates = gates;
    this.features = textFeatures(meta.text);
    this.cache = new Map();
    this.stopped = false;
  }

  /** The 12 units whose gate correlates most strongly (either sign) with a feature: [[unit, r], ...]. */
  top(layer, gate, feature) {
    const key = `${layer}/${gate}/${feature}`;
    if (!this.cache.has(key)) {
      const m = this.meta;
      const f = this.features[feature];
      const [T, H] = [m.steps, m.units];
      const base = (layer * 2 + m.gates.indexOf(gate)) * T * H; // the (T, h) block of this gate
      const g = this.gates;
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
      this.cache.set(key, r.slice(0, 12));
    }
    return this.cache.get(key);
  }

  /** Rank every layer, gate and feature, one at a time between the reader's moves, until stop(). */
  ahead() {
    const todo = [];
    for (let layer = 0; layer < this.meta.layers; layer++)
      for (const gate of this.meta.gates) for (const feature of this.meta.features) todo.push([layer, gate, feature]);
    const next = () => {
      if (this.stopped || !todo.length) return;
      this.top(...todo.shift());
      setTimeout(next, 0);
    };
    setTimeout(next, 0);
  }

  stop() {
    this.stopped = true;
  }
}
