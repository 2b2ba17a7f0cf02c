"""Training engine: ``train_run(cfg, data, run_dir)`` writes a run folder; see ``loop`` for the files.

Submodules are pure builders (``optim``, ``schedule``), seeding (``rng``), batch sources (``batches``),
DDP plumbing (``distributed``) and the loop itself (``loop``).
"""
from kaggle_kit.train.loop import METRIC_COLUMNS, TrainResult, evaluate, train_run, use_batched_path

__all__ = ["METRIC_COLUMNS", "TrainResult", "evaluate", "train_run", "use_batched_path"]
