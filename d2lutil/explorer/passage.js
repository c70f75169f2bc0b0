// The passage coloured by the chosen unit's gate, drawn on one canvas per move.
//
// A <span> per character, restyled on every move, cost JupyterLab most of a frame (style for
// hundreds of elements, then their repaint). Here the text is one text node, transparent, on top:
// it is what a reader selects and copies and what a screen reader reads. Under it, one canvas shows
// the colours. Each character's box is measured from that text node (once per passage, and again
// when the width changes), so the colours sit exactly under the letters whatever the font. The
// glyphs are drawn once into two ink layers (dark and light). A move that changes the colours
// writes them as one strip of pixels, one per character, stretches the strip over each line of
// the base layer (off screen) and takes from each ink layer the glyphs of the characters that use
// it (a mask stretched the same way): a few copies per line, whatever the colours. A hover copies
// the base and draws its marks over it.

import { lightBackground, make, rgbOf } from "./common.js";

export class Passage {
  /** onHover(t): the pointer moved onto character t, or off the text (t = -1). */
  constructor(onHover) {
    this.paint = make("canvas", { className: "gx-paint" });
    this.paint.setAttribute("aria-hidden", "true");
    this.chars = make("div", { className: "gx-chars" });
    this.box = make("div", { className: "gx-text" }, make("div", { className: "gx-page" }, this.paint, this.chars));
    this.box.setAttribute("aria-label", "the passage, coloured by the chosen unit's gate");
    this.boxes = null; // (T, 4) Float64Array: x, y, width, height of each character in CSS px
    this.lines = []; // [first, end) character of each line
    this.hover = -1;
    this.green = null;
    this.asked = null; // the last draw's arguments, drawn again after a new layout
    this.drawn = null; // the colours the base layer shows
    this.window = [0, -1];
    this.chars.addEventListener("mousemove", (e) => {
      const t = this.at(e.offsetX, e.offsetY);
      if (t !== this.hover) onHover(t);
    });
    this.chars.addEventListener("mouseleave", () => onHover(-1));
    this.resized = new ResizeObserver(() => this.layout());
    this.resized.observe(this.chars);
  }

  dispose() {
    this.resized.disconnect();
  }

  /** A new passage: its text, and the palette ("#rrggbb") its colours index. */
  setText(text, palette) {
    this.rgb = palette.map(rgbOf);
    this.ink = palette.map((hex) => (lightBackground(hex) ? 0 : 1)); // 0: dark ink, 1: light
    this.chars.textContent = text;
    this.boxes = null;
    this.hover = -1;
    this.asked = null;
    this.layout();
  }

  /** Measure every character's box from the text's own layout; size the canvas and draw the inks. */
  layout() {
    const node = this.chars.firstChild;
    const width = this.chars.clientWidth;
    if (!node || !width || !this.chars.isConnected) return; // not on screen yet: the observer calls again
    const origin = this.chars.getBoundingClientRect();
    const range = document.createRange();
    const T = node.length;
    const boxes = new Float64Array(4 * T);
    this.lines = [];
    for (let t = 0; t < T; t++) {
      range.setStart(node, t);
      range.setEnd(node, t + 1);
      const r = range.getBoundingClientRect();
      boxes.set([r.left - origin.left, r.top - origin.top, r.width, r.height], 4 * t);
      if (!t || boxes[4 * t + 1] !== boxes[4 * t - 3]) this.lines.push([t, T]);
      else this.lines[this.lines.length - 1][1] = t + 1;
    }
    this.boxes = boxes;
    // Where a line's characters stand on one grid (a monospace font: always), the strip is
    // stretched over the whole line; otherwise over each character's own box.
    this.cells = []; // [first, end, x, y, width of one character, height]
    for (const [first, end] of this.lines) {
      const [x0, y, , h] = boxes.subarray(4 * first, 4 * first + 4);
      const step = (boxes[4 * end - 4] + boxes[4 * end - 2] - x0) / (end - first);
      let grid = true;
      for (let t = first; t < end; t++) grid = grid && Math.abs(boxes[4 * t] - (x0 + (t - first) * step)) < 0.25;
      if (grid) this.cells.push([first, end, x0, y, step, h]);
      else for (let t = first; t < end; t++) this.cells.push([t, t + 1, boxes[4 * t], y, boxes[4 * t + 2], h]);
    }
    this.strip = make("canvas", { width: T, height: 3 }); // colours; where the light ink goes; the dark
    this.stripPixels = new ImageData(T, 3);
    const height = this.chars.clientHeight;
    const dpr = window.devicePixelRatio || 1;
    const size = (c) => {
      c.width = Math.round(width * dpr);
      c.height = Math.round(height * dpr);
      const ctx = c.getContext("2d");
      ctx.scale(dpr, dpr);
      return ctx;
    };
    this.paint.style.width = `${width}px`;
    this.paint.style.height = `${height}px`;
    this.ctx = size(this.paint);
    this.base = make("canvas"); // the coloured text without the hover, redrawn only when it changes
    this.baseCtx = size(this.base);
    this.drawn = null; // the colours the base shows
    this.mask = make("canvas"); // one ink's glyphs where that ink goes
    this.maskCtx = size(this.mask);
    this.baseCtx.imageSmoothingEnabled = this.maskCtx.imageSmoothingEnabled = false; // sharp cell edges
    this.dpr = dpr;
    const style = getComputedStyle(this.chars);
    this.inks = ["#000", "#fff"].map((colour) => {
      const layer = make("canvas");
      const ctx = size(layer);
      ctx.font = `${style.fontSize} ${style.fontFamily}`;
      ctx.fillStyle = colour;
      const m = ctx.measureText("x");
      const ascent = m.fontBoundingBoxAscent ?? 0.8 * parseFloat(style.fontSize);
      const descent = m.fontBoundingBoxDescent ?? 0.2 * parseFloat(style.fontSize);
      for (let t = 0; t < T; t++) {
        const [x, y, , h] = boxes.subarray(4 * t, 4 * t + 4);
        ctx.fillText(node.data[t], x, y + (h - ascent - descent) / 2 + ascent);
      }
      return layer;
    });
    if (this.asked) this.draw(...this.asked);
  }

  /** The character under the point (x, y) in the text's own CSS px, or -1. */
  at(x, y) {
    const b = this.boxes;
    if (!b) return -1;
    for (let i = 0; i < this.lines.length; i++) {
      const [first, end] = this.lines[i];
      const bottom = i + 1 < this.lines.length ? b[4 * end + 1] : b[4 * first + 1] + b[4 * first + 3];
      if (y < b[4 * first + 1] || y >= bottom) continue;
      let lo = first;
      let hi = end - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (b[4 * mid] <= x) lo = mid;
        else hi = mid - 1;
      }
      return x < b[4 * lo] + b[4 * lo + 2] ? lo : -1;
    }
    return -1;
  }

  /**
   * Colour the passage: colour (T,) Uint8Array, each character's palette index, drawn into the
   * base layer when it changed; the window [first, last] underlined over a copy of it.
   */
  draw(colour, window) {
    this.asked = [colour, window];
    this.window = window;
    const b = this.boxes;
    if (!b) return;
    const same = this.drawn && this.drawn.length === colour.length && this.drawn.every((q, t) => q === colour[t]);
    if (same) return this.show(); // a window move: only the underline moves
    this.drawn = Uint8Array.from(colour);
    const T = colour.length;
    const px = this.stripPixels.data;
    for (let t = 0; t < T; t++) {
      const [red, green, blue] = this.rgb[colour[t]];
      const light = this.ink[colour[t]] === 1;
      px[4 * t] = red;
      px[4 * t + 1] = green;
      px[4 * t + 2] = blue;
      px[4 * t + 3] = 255;
      px[4 * (T + t) + 3] = light ? 255 : 0;
      px[4 * (2 * T + t) + 3] = light ? 0 : 255;
    }
    this.strip.getContext("2d").putImageData(this.stripPixels, 0, 0);
    const [W, H] = [this.paint.width / this.dpr, this.paint.height / this.dpr];
    const stretch = (ctx, row) => {
      for (const [first, end, x, y, w, h] of this.cells)
        ctx.drawImage(this.strip, first, row, end - first, 1, x, y, (end - first) * w, h);
    };
    const ctx = this.baseCtx;
    ctx.clearRect(0, 0, W, H);
    stretch(ctx, 0);
    const mask = this.maskCtx;
    for (const ink of [1, 0]) {
      mask.globalCompositeOperation = "source-over";
      mask.clearRect(0, 0, W, H);
      stretch(mask, 2 - ink); // row 1: where the light ink goes, row 2: the dark
      mask.globalCompositeOperation = "source-in";
      mask.drawImage(this.inks[ink], 0, 0, W, H);
      ctx.drawImage(this.mask, 0, 0, W, H);
    }
    this.show();
  }

  /**
   * Outline the hovered character (-1: none) and give the k characters up to it a green bar
   * whose opacity is green(j), j = 0..k-1 steps back (green(j) null from j = k on).
   */
  mark(hover, green) {
    this.hover = hover;
    this.green = green;
    this.show();
  }

  /** The base layer, the window's underline and the hover over it, on screen. */
  show() {
    const b = this.boxes;
    if (!b) return;
    const ctx = this.ctx;
    const [hover, green] = [this.hover, this.green];
    ctx.clearRect(0, 0, this.paint.width, this.paint.height);
    ctx.drawImage(this.base, 0, 0, this.paint.width / this.dpr, this.paint.height / this.dpr);
    ctx.fillStyle = "#222";
    for (const [first, end] of this.lines) {
      const [from, to] = [Math.max(first, this.window[0]), Math.min(end - 1, this.window[1])];
      const [x, bottom] = [b[4 * from], b[4 * from + 1] + b[4 * from + 3]];
      if (from <= to) ctx.fillRect(x, bottom - 3, b[4 * to] + b[4 * to + 2] - x, 3);
    }
    if (hover < 0 || hover * 4 >= b.length) return;
    for (let j = 0; green && j <= hover; j++) {
      const a = green(j);
      if (a === null) break;
      const t = hover - j;
      ctx.fillStyle = `rgba(0,140,0,${(0.15 + 0.85 * a).toFixed(2)})`;
      ctx.fillRect(b[4 * t], b[4 * t + 1], b[4 * t + 2], 4);
    }
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 1;
    ctx.strokeRect(b[4 * hover] - 0.5, b[4 * hover + 1] - 0.5, b[4 * hover + 2] + 1, b[4 * hover + 3] + 1);
  }
}
