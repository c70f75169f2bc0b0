"""d2lutil: the small helper package of the GRU chapter (data, models, training, plots, widgets).

The names d2l readers know keep their d2l meaning: ``try_gpu``, ``predict`` and
``load_time_machine`` here, ``Vocab`` in :mod:`d2lutil.data`. Everything lives in one module per concern,
listed from the lowest layer up (a module imports only from those below it; tests/test_layers.py
checks the contracts in pyproject.toml)::

    settings, _checks   the switches D2LUTIL_QUICK and D2LUTIL_DATA_DIR, try_gpu, set_seed; argument checks
    corpus              The Time Machine's text: shipped, located, downloaded, checked
    data                tokens, Vocab, the split, minibatches
    models              RecurrentLayer, GRUScratch, GRUD2LStyle, RNNScratch, RNNLM, weight copying
    training | generation
                        the training loop (Recipe, train with callbacks, optimize), perplexity;
                        text generation (predict)
    plot | widgets | gates | tasks | checkpoints | diagrams
                        training curves (LivePlot, a callback of train); interactive figures; the gate tracer;
                        first-token recall; safetensors weights; the GRU cell drawn in three stages
    exercises | explorer
                        the self-checks and helpers of notebook 6; the gate explorer
    pretrain            trains the shipped checkpoints (python -m d2lutil.pretrain)
    bench               the benchmark against the peer (python -m d2lutil.bench)
"""

from d2lutil.data import load_time_machine
from d2lutil.generation import predict
from d2lutil.models import GRUScratch, build_lm
from d2lutil.plot import LivePlot
from d2lutil.settings import budget, describe_setting, set_seed, try_gpu
from d2lutil.training import Recipe, evaluate_perplexity, train

__version__ = "0.1.0"

# What the notebooks call as d2lutil.<name>; everything else is imported from its module.
__all__ = [
    "GRUScratch",
    "LivePlot",
    "Recipe",
    "budget",
    "build_lm",
    "describe_setting",
    "evaluate_perplexity",
    "load_time_machine",
    "predict",
    "set_seed",
    "train",
    "try_gpu",
]
