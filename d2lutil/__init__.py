"""d2lutil: the small helper package of the GRU chapter (data, models, training, plots, widgets).

The names d2l readers know keep their d2l meaning: ``Vocab``, ``load_data_time_machine``,
``try_gpu``, ``predict``. Everything else lives in one module per concern::

    settings     the switches D2LUTIL_QUICK and D2LUTIL_DATA_DIR, try_gpu, set_seed
    data         The Time Machine: download, tokens, Vocab, split, minibatches
    tasks        synthetic long-range tasks (first-token recall, adding problem)
    models       GRUScratch, GRUD2LStyle, RNNScratch, RNNLM, weight copying
    gates        the gate tracer and saturation statistics
    training     the training loop (callbacks, a Recipe), evaluate_perplexity, predict
    checkpoints  safetensors weights with a manifest
    plot         training curves, live in a notebook; train (the loop with a live plot)
    widgets      interactive figures from core ipywidgets
    diagrams     the GRU cell drawn in three stages (python -m d2lutil.diagrams writes figures/)
    explorer     the gate explorer over a trained model
    exercises    the self-checks and helpers of notebook 6
    pretrain     trains the shipped checkpoints (python -m d2lutil.pretrain)
    bench        the benchmark against the peer (python -m d2lutil.bench)
"""

from d2lutil.data import Vocab, load_corpus_time_machine, load_data_time_machine, load_time_machine
from d2lutil.models import RNNLM, GRUD2LStyle, GRUScratch, RNNScratch, build_lm
from d2lutil.plot import train
from d2lutil.settings import budget, describe_setting, is_quick, set_seed, try_gpu
from d2lutil.training import evaluate_perplexity, predict

__version__ = "0.1.0"

__all__ = [
    "RNNLM",
    "GRUD2LStyle",
    "GRUScratch",
    "RNNScratch",
    "Vocab",
    "budget",
    "build_lm",
    "describe_setting",
    "evaluate_perplexity",
    "is_quick",
    "load_corpus_time_machine",
    "load_data_time_machine",
    "load_time_machine",
    "predict",
    "set_seed",
    "train",
    "try_gpu",
]
