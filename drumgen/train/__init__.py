"""Training: `train(TrainOptions(...))` runs (or resumes) one run of any model kind.

    options.py  TrainOptions and the rules checked once (budget, a fine-tune's kind), the run's model Config
    loop.py     the loop: batches on the device, steps, measures, previews, best checkpoint, resume, torchrun
    steps.py    each kind's training step as a plain function returning named losses (WGAN-GP, the latent fit,
                the autoencoder's), its optimizers, and the gradient all-reduce across processes
    tagger.py   the tagger's training (synthetic hits, its own loop)
"""

from drumgen.train.loop import Run, init_distributed, train, trained_seconds
from drumgen.train.options import TrainingError, TrainOptions, build_config, check_budget, choose_kind

__all__ = ["Run", "TrainOptions", "TrainingError", "build_config", "check_budget", "choose_kind",
           "init_distributed", "train", "trained_seconds"]
