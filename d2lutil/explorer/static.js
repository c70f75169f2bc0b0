// A saved page's stand-in for the widget's model (no kernel): joined after the front end's files
// (common.js lists them) into the page's module by d2lutil/explorer/page.py.

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
