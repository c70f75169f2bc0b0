// The explorer's two figures on canvas, drawn from the view's state (an Explorer, explorer.js):
// the heatmap of a block of units over the window, and the saturation scatter.

import { NAMES, SIZE, SYMBOL, canvas, make, rgbOf } from "./common.js";

function heatGeometry(view) {
  const m = view.meta;
  const rows = Math.min(m.units_shown, m.units);
  const block = Math.min(Math.floor(view.unit / rows) * rows, m.units - rows);
  return { x: 52, y: 30, w: 410, h: 230, rows, block };
}

/**
 * The heatmap, kept off screen in two layers (where setting a font does not make the browser
 * restyle the page) so that a move redraws only what it changes: the labels (the block's unit
 * numbers, the window's characters: type is the slowest part to draw) once per block and window;
 * over them the cells and the title once per gate and layer too. A move copies the result and
 * boxes the chosen unit's row.
 */
export function paintHeatmap(view) {
  const g = heatGeometry(view);
  const labels = `${g.block}/${view.window}`;
  if (view.heatLabelsKey !== labels) {
    view.heatLabels = view.heatLabels || canvas(...SIZE.heat);
    paintHeatLabels(view, view.heatLabels.getContext("2d"), g);
    view.heatLabelsKey = labels;
  }
  const cells = `${view.layer}/${view.gate}/${labels}`;
  if (view.heatKey !== cells) {
    view.heatBody = view.heatBody || canvas(...SIZE.heat);
    const ctx = view.heatBody.getContext("2d");
    ctx.clearRect(0, 0, ...SIZE.heat);
    ctx.drawImage(view.heatLabels, 0, 0, ...SIZE.heat);
    paintHeatCells(view, ctx, g);
    view.heatKey = cells;
  }
  const ctx = view.heat.getContext("2d");
  ctx.clearRect(0, 0, ...SIZE.heat);
  ctx.drawImage(view.heatBody, 0, 0, ...SIZE.heat);
  ctx.strokeStyle = "#000";
  ctx.lineWidth = 1.5;
  ctx.strokeRect(g.x - 1, g.y + ((view.unit - g.block) * g.h) / g.rows, g.w + 2, g.h / g.rows);
}

/** The cells (one pixel per unit and step, stretched) and the title. */
function paintHeatCells(view, ctx, { x, y, w, h, rows, block }) {
  const m = view.meta;
  const [first, last] = view.window;
  const cols = last - first + 1;
  const img = new ImageData(cols, rows);
  for (let r = 0; r < rows; r++)
    for (let col = 0; col < cols; col++) {
      const [R, G, B] = view.rgb[view.value(first + col, block + r)];
      const i = 4 * (r * cols + col);
      img.data[i] = R;
      img.data[i + 1] = G;
      img.data[i + 2] = B;
      img.data[i + 3] = 255;
    }
  if (!view.heatPixels || view.heatPixels.width !== cols || view.heatPixels.height !== rows) {
    view.heatPixels = make("canvas", { width: cols, height: rows });
  }
  view.heatPixels.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(view.heatPixels, x, y, w, h);
  ctx.fillStyle = "#222";
  ctx.font = "12px system-ui, sans-serif";
  ctx.textAlign = "center";
  const name = NAMES[view.gate].split(" gate")[0];
  ctx.fillText(`The ${name} gate of units ${block}-${block + rows - 1} (of ${m.units}), layer ${view.layer + 1}`, x + w / 2, 16);
}

/** Everything but the cells and the title: unit numbers, characters, caption, colour bar. */
function paintHeatLabels(view, ctx, { x, y, w, h, rows, block }) {
  const m = view.meta;
  const [first, last] = view.window;
  const cols = last - first + 1;
  ctx.clearRect(0, 0, ...SIZE.heat);
  ctx.imageSmoothingEnabled = false;
  ctx.fillStyle = "#222";
  ctx.font = "10px system-ui, sans-serif";
  ctx.textAlign = "right";
  const rowH = h / rows;
  for (let r = 0; r < rows; r += Math.max(1, Math.ceil(rows / 8))) ctx.fillText(block + r, x - 4, y + (r + 0.5) * rowH + 3);
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
  ctx.drawImage(paletteBar(view), barX, y, 14, h); // without smoothing: one band per colour
  ctx.textAlign = "left";
  for (const v of [0, 0.5, 1]) ctx.fillText(v.toFixed(1), barX + 18, y + (1 - v) * h + 4);
  ctx.fillText("gate", barX - 2, y - 6);
}

/** The palette as a canvas one pixel wide, 1 at the top and 0 at the bottom (the colour bar). */
function paletteBar(view) {
  if (!view.paletteBar) {
    const n = view.rgb.length;
    const img = new ImageData(1, n);
    view.rgb.forEach(([R, G, B], i) => img.data.set([R, G, B, 255], 4 * (n - 1 - i)));
    view.paletteBar = make("canvas", { width: 1, height: n });
    view.paletteBar.getContext("2d").putImageData(img, 0, 0);
  }
  return view.paletteBar;
}

export function heatmapHover(view, event, click) {
  const { x, y, w, h, rows, block } = heatGeometry(view);
  const box = view.heat.getBoundingClientRect();
  const px = event.clientX - box.left - x;
  const py = event.clientY - box.top - y;
  if (px < 0 || py < 0 || px >= w || py >= h) return;
  const [first, last] = view.window;
  const t = first + Math.floor((px / w) * (last - first + 1));
  const u = block + Math.floor((py / h) * rows);
  if (click) view.choose("unit", u, () => view.drawUnit());
  else
    view.hoverInfo.textContent = `unit ${u}, step ${t} '${SYMBOL(view.meta.text[t])}': ${NAMES[view.gate]} = ${(view.value(t, u) / 255).toFixed(2)} (click: choose this unit)`;
}

/** The saturation scatter: each unit's two gates at (fraction above 0.9, fraction below 0.1) (Karpathy et al. 2015). */
export function paintScatter(view) {
  const m = view.meta;
  const [x, y, w, h] = [52, 58, 260, 210];
  const at = (right, left) => [x + right * w, y + (1 - left) * h];
  const sat = m.saturation[view.layer]; // (gate, [below 0.1, above 0.9], unit)
  if (!view.pointCache.has(view.layer)) {
    const layer = canvas(...SIZE.scatter);
    const ctx = layer.getContext("2d");
    ctx.strokeStyle = "#bbb";
    ctx.strokeRect(x, y, w, h);
    ctx.beginPath();
    ctx.moveTo(...at(0, 1));
    ctx.lineTo(...at(1, 0));
    ctx.stroke();
    // the chapter's gate colours (diagrams.COLORS, sent in meta), and a shape each, so that colour
    // is not the only thing that tells them apart: update gates squares, reset gates crosses
    const colours = Object.fromEntries(["z", "r"].map((g) => [g, `rgba(${rgbOf(m.colors[g]).join(",")},0.6)`]));
    const mark = (g, px, py) => {
      if (g === "z") ctx.fillRect(px - 2, py - 2, 4, 4);
      else {
        ctx.fillRect(px - 3, py - 0.75, 6, 1.5);
        ctx.fillRect(px - 0.75, py - 3, 1.5, 6);
      }
    };
    for (const g of ["z", "r"]) {
      ctx.fillStyle = colours[g];
      const [low, high] = sat[m.gates.indexOf(g)];
      for (let u = 0; u < m.units; u++) mark(g, ...at(high[u], low[u]));
    }
    ctx.fillStyle = "#222";
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "center";
    const share = (g) => {
      const [low, high] = sat[m.gates.indexOf(g)];
      return Math.round((100 * low.filter((v, u) => v + high[u] > 0.5).length) / m.units);
    };
    ctx.fillText(`Saturation over ${m.steps} steps, layer ${view.layer + 1}:`, x + w / 2, 14);
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
    ctx.fillStyle = m.colors.z;
    mark("z", x + w - 88, y + 12);
    ctx.fillStyle = m.colors.r;
    mark("r", x + w - 88, y + 26);
    ctx.fillStyle = "#222";
    ctx.fillText("update gate Z", x + w - 80, y + 16);
    ctx.fillText("reset gate R", x + w - 80, y + 30);
    ctx.fillText("\u25cb the chosen unit", x + w - 92, y + 44);
    view.pointCache.set(view.layer, layer);
  }
  const ctx = view.scatter.getContext("2d");
  ctx.clearRect(0, 0, ...SIZE.scatter);
  ctx.drawImage(view.pointCache.get(view.layer), 0, 0, ...SIZE.scatter);
  ctx.strokeStyle = "#000";
  ctx.lineWidth = 1.5;
  for (let g = 0; g < 2; g++) {
    const [px, py] = at(sat[g][1][view.unit], sat[g][0][view.unit]);
    ctx.beginPath();
    ctx.arc(px, py, 6, 0, 2 * Math.PI);
    ctx.stroke();
  }
}
