"""The gate explorer: watch a trained GRU's update and reset gates read a passage, unit by unit.

* :mod:`~d2lutil.explorer.trace`: tracing a passage once (gates of every unit and layer,
  saturation, predictions, connectivity) and the byte encoding sent to the browser;
* :mod:`~d2lutil.explorer.weights`: the model's float16 weights for the page's own forward pass;
* :mod:`~d2lutil.explorer.widget`: :class:`GateExplorer`, the anywidget the notebook displays;
* the front end, which draws everything and handles every move in the browser: ES modules, one per
  concern, that import what they use (``loader.js``, the one anywidget loads, lists them): the
  coloured passage, the heatmap and scatter, the ranking of units, ``gru.js`` (the model's forward
  pass with interventions, WebAssembly SIMD where it runs), the intervention panel and the view;
  styles in ``explorer.css``;
* :mod:`~d2lutil.explorer.page`: :meth:`GateExplorer.save_html`'s self-contained page.

``python -m d2lutil.explorer --save PATH`` writes the page for the shipped model ``gru_lm``.
"""

from d2lutil.explorer.trace import PassageTrace, held_out_passages, trace_passage
from d2lutil.explorer.widget import GateExplorer

__all__ = ["GateExplorer", "PassageTrace", "held_out_passages", "trace_passage"]
