// Names, sizes and small helpers that every part of the explorer's front end imports (the modules
// are listed in loader.js).

export const NAMES = { z: "update gate Z", r: "reset gate R" };
export const MEANING = {
  z: "blue = 0 (the new state takes the candidate), red = 1 (the unit keeps its old state)",
  r: "blue = 0 (the candidate ignores the old state), red = 1 (the candidate uses it fully)",
};
// Every canvas's size in CSS px, [width, height]: the heatmap, the scatter, the intervention strip.
export const SIZE = { heat: [540, 312], scatter: [330, 312], strip: [860, 84] };
export const SYMBOL = (c) => (c === " " ? "\u00b7" : c);

export function make(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/** The bytes of a Bytes trait, whatever the widget manager hands over. */
export function bytesOf(value) {
  if (!value) return new Uint8Array(0);
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return new Uint8Array(0);
}

/** "#rrggbb" as [r, g, b], each 0..255. */
export function rgbOf(hex) {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

/** WCAG 2 relative luminance of "#rrggbb". */
function luminance(hex) {
  const linear = rgbOf(hex).map((c) => (c / 255 <= 0.04045 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4));
  return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2];
}

/** WCAG 2 contrast ratio of two colours "#rrggbb" (1 to 21). */
export function contrast(a, b) {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

/** Whether black text on this background has more contrast than white (then the ink is dark). */
export function lightBackground(hex) {
  return contrast(hex, "#000000") >= contrast(hex, "#ffffff");
}

/** A canvas of CSS size w x h drawn at the screen's pixel density. */
export function canvas(w, h) {
  const c = make("canvas");
  const dpr = window.devicePixelRatio || 1;
  c.width = Math.round(w * dpr);
  c.height = Math.round(h * dpr);
  c.style.width = `${w}px`;
  c.style.height = `${h}px`;
  c.getContext("2d").scale(dpr, dpr);
  return c;
}
