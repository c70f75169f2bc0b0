// The module anywidget (and the saved page) loads: it carries the front end's modules' sources
// (SOURCES, written in by d2lutil/explorer/widget.py) and imports each as an ES module of its own,
// from a data: URL, its "./name.js" imports pointed at the other modules' URLs (each module is
// evaluated once, so gru.js's model is shared by the modules that import it).
//   common.js         names, sizes and small helpers used by every part;
//   gru.js            the model's forward pass in the page, with interventions;
//   passage.js        the passage coloured by the chosen unit's gate, on canvas, with hover;
//   figures.js        the heatmap of a block of units over the window, and the saturation scatter;
//   ranking.js        the text features and the ranking of units by correlation with one;
//   interventions.js  the intervention controls, the perplexity and the strip of changes;
//   explorer.js       the view: its controls, its state (synced with the model), what each move redraws;
//   static.js         a saved page's stand-in for the widget's model (no kernel).

const SOURCES = __SOURCES__;
const urls = {};

function url(name) {
  if (!(name in urls)) {
    const code = SOURCES[name].replace(/from "\.\/([\w]+\.js)";/g, (_, dep) => `from "${url(dep)}";`);
    urls[name] = `data:text/javascript;base64,${btoa(String.fromCharCode(...new TextEncoder().encode(code)))}`;
  }
  return urls[name];
}

/** The module `name` (e.g. "static.js"), imported once. */
export function load(name) {
  return import(url(name));
}

export default {
  async render({ model, el }) {
    const { default: explorer } = await load("explorer.js");
    return explorer.render({ model, el });
  },
};
