// A saved page's stand-in for the widget's model (no kernel): joined after the front end's files
// (common.js lists them) into the page's module by d2lutil/explorer/page.py.

import { pageModelOf, pageTrace, readable } from "./gru.js";

function decode(base64) {
  const raw = atob(base64);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}


/**
 * A stand-in for the widget's model in a saved page (no kernel): the same get/set/on/off/
 * save_changes/send, over the traces the page carries. data: {passages, state, traces: {label:
 * {meta, conn, gates?}}, model?: {spec, weights}}, bytes base64-encoded. With a model the page
 * computes each passage's gates itself, and traces the reader's own text (send) too.
 */
export function staticModel(data) {
  const weights = data.model ? decode(data.model.weights) : new Uint8Array(0);
  const spec = data.model ? data.model.spec : {};
  const values = { passages: data.passages, passage: data.passages[0], message: "", ...data.state };
  Object.assign(values, { weights, page_model: spec, interventions: [] });
  const pm = data.model ? pageModelOf(spec, weights) : null;
  const handlers = new Map();
  const decoded = new Map();
  const first = data.traces[data.passages[0]].meta;
  let serial = 0;
  const compute = (text) => {
    const start = performance.now();
    const run = pm.trace(pm.tokens(text));
    pm.runs.set(text, run);
    const traced = pageTrace(pm, run, text);
    globalThis.gxPageTimings = globalThis.gxPageTimings || []; // read by tests/test_explorer_page.py
    globalThis.gxPageTimings.push({ what: "trace", steps: text.length, ms: performance.now() - start });
    return traced;
  };
  const use = (label) => {
    if (!decoded.has(label)) {
      const tr = data.traces[label];
      const own = tr.gates ? { meta: {}, gates: decode(tr.gates) } : compute(tr.meta.text);
      decoded.set(label, { meta: { ...tr.meta, ...own.meta }, gates: own.gates, conn: decode(tr.conn) });
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
    send(message) {
      if (!pm || message.type !== "trace") {
        values.message = "This page has no Python kernel, so it cannot trace new text.";
        fire("message");
        return;
      }
      try {
        const [text, note] = readable(message.text, pm.vocab, first.max_chars || 1000);
        const own = compute(text);
        serial += 1;
        Object.assign(values, {
          passage: "your text",
          meta: { ...first, ...own.meta, note, conn_scale: [], serial: `page ${serial}` },
          gates: own.gates,
          conn: new Uint8Array(0),
          message: "",
        });
        values.window = [0, Math.min(values.meta.window, values.meta.steps) - 1];
        fire("meta");
      } catch (err) {
        values.message = `Not traced: ${err.message}`;
        fire("message");
      }
    },
  };
}
