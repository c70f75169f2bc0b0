() => {
  window.__gx = [];
  const kinds = [['.gx-unit', 'input', 'unit'], ['.gx-first', 'input', 'window'],
                 ['.gx-width', 'input', 'window'], ['.gx-gate', 'click', 'gate'],
                 ['.gx-layer', 'change', 'layer'], ['.gx-chars', 'mousemove', 'hover']];
  for (const [selector, type, name] of kinds) {
    let entry = null;
    document.addEventListener(type, (e) => {
      if (!(e.target instanceof Element) || !e.target.matches(selector)) return;
      const t0 = performance.now();
      entry = [name, null, null];  // kind, ms to the painted frame, ms in the explorer's own handlers
      window.__gx.push(entry);
      const mine = entry;
      requestAnimationFrame(() => {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => { mine[1] = performance.now() - t0; };
        channel.port2.postMessage(0);
      });
      mine.t0 = t0;
    }, true);
    document.addEventListener(type, (e) => {  // bubbling, after the explorer's handlers ran
      if (entry && e.target instanceof Element && e.target.matches(selector)) entry[2] = performance.now() - entry.t0;
    });
  }
}
