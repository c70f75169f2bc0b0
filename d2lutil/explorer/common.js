// The gate explorer's front end is one anywidget ES module, plain DOM and canvas, no dependencies,
// joined from these files in this order (d2lutil/explorer/widget.py, FRONT_END), so they share
// one scope:
//   common.js   names, styles and small helpers used by every part;
//   passage.js  the passage coloured by the chosen unit's gate, on canvas, with hover;
//   figures.js  the heatmap of a block of units over the window, and the saturation scatter;
//   ranking.js  the text features and the ranking of units by correlation with one;
//   gru.js      the model's forward pass in the page, with interventions (also a module of its own);
//   interventions.js  the intervention controls, the perplexity and the strip of changes;
//   explorer.js the view: its controls, its state (synced with the model) and what each move redraws.
// A saved page joins static.js last: a stand-in for the model where no kernel runs.

const NAMES = { z: "update gate Z", r: "reset gate R" };
const MEANING = {
  z: "blue = 0 (the new state takes the candidate), red = 1 (the unit keeps its old state)",
  r: "blue = 0 (the candidate ignores the old state), red = 1 (the candidate uses it fully)",
};
// Every canvas's size in CSS px, [width, height]: the heatmap, the scatter, the intervention strip.
const SIZE = { heat: [540, 312], scatter: [330, 312], strip: [860, 84] };
const SYMBOL = (c) => (c === " " ? "\u00b7" : c);

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

/** "#rrggbb" as [r, g, b], each 0..255. */
function rgbOf(hex) {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

/** WCAG 2 relative luminance of "#rrggbb". */
function luminance(hex) {
  const linear = rgbOf(hex).map((c) => (c / 255 <= 0.04045 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4));
  return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2];
}

/** WCAG 2 contrast ratio of two colours "#rrggbb" (1 to 21). */
function contrast(a, b) {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

/** Whether black text on this background has more contrast than white (then the ink is dark). */
function lightBackground(hex) {
  return contrast(hex, "#000000") >= contrast(hex, "#ffffff");
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
