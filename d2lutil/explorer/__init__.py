"""The gate explorer: watch a trained GRU's update and reset gates read a passage, unit by unit.

* :mod:`~d2lutil.explorer.trace`: tracing a passage once (gates of every unit and layer,
  saturation, predictions, connectivity) and the byte encoding sent to the browser;
* :mod:`~d2lutil.explorer.weights`: the model's float16 weights for the page's own forward pass;
* :mod:`~d2lutil.explorer.widget`: :class:`GateExplorer`, the anywidget the notebook displays;
* the front end, which draws everything and handles every move in the browser, one ES module
  joined from ``common.js`` (names, sizes, helpers), ``passage.js`` (the coloured text on canvas),
  ``figures.js`` (the heatmap and the scatter), ``ranking.js`` (units ranked by a text feature),
  ``gru.js`` (the model's forward pass with interventions, WebAssembly SIMD where it runs),
  ``interventions.js`` (their controls, the perplexity and the strip of changes) and
  ``explorer.js`` (the controls, the state and what each move redraws); styles in ``explorer.css``;
* :mod:`~d2lutil.explorer.page`: :meth:`GateExplorer.save_html`'s self-contained page.

``python -m d2lutil.explorer --save PATH`` writes the page for the shipped model ``gru_lm``.
"""

from d2lutil.explorer.trace import PassageTrace, held_out_passages, trace_passage
from d2lutil.explorer.widget import GateExplorer

__all__ = ["GateExplorer", "PassageTrace", "held_out_passages", "trace_passage"]
