"""``kaggle-kit train PIPELINE [--set k=v]`` and ``kaggle-kit train --resume RUN``.

Works unchanged under ``torchrun --nproc_per_node=N``: every process trains its share, rank 0 picks the run
folder and writes it. The per-process batch is ``train.batch_size`` (effective batch = batch_size x N).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from kaggle_kit.text import percent


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train one pipeline's model into a run folder (resumable; torchrun-aware)")
    p.add_argument("pipeline", nargs="?", help="pipeline YAML, e.g. pipelines/seed000.yaml")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value with a dotted key, e.g. --set train.epochs=2 (repeatable)")
    p.add_argument("--resume", metavar="RUN", help="continue an interrupted run (folder or run id) from its last.pt; "
                   "--set may change only train.num_workers")
    p.add_argument("--run-dir", help="train into this folder (default: runs/<run_id>)")
    p.add_argument("--runs-root", default="runs", help="parent of new run folders (default: runs)")
    p.add_argument("--data-dir", help="data folder (default: $KAGGLE_KIT_DATA when set (only there), "
                                      "else ./data, then Kaggle input)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar or per-epoch lines")
    p.set_defaults(func=run)


def check_resume_overrides(overrides: list[str]) -> None:
    """A resumed run keeps its own config, but may change what changes no weights (``SPEED_ONLY``: more
    augmentation workers on a bigger machine); anything else would mix two recipes in one run."""
    from kaggle_kit.config import parse_override
    from kaggle_kit.errors import ConfigError
    from kaggle_kit.train.loop import SPEED_ONLY

    allowed = [f"train.{k}" for k in SPEED_ONLY]
    for text in overrides:
        key, _ = parse_override(text)
        if key not in allowed:
            raise ConfigError(f"--resume takes the run's own config.yaml: '{key}' would change what the run learns; "
                              f"only {', '.join(allowed)} may be --set (or train a new run)")


def run(args: argparse.Namespace) -> int:
    from kaggle_kit.config import PipelineConfig, apply_overrides, from_dict, load_pipeline, load_yaml
    from kaggle_kit.data import load_cifar10
    from kaggle_kit.datapaths import reading_data
    from kaggle_kit.errors import ConfigError, RunError
    from kaggle_kit.fsio import check_dir_target
    from kaggle_kit.pipeline import check_member_models
    from kaggle_kit.runs import new_run_id
    from kaggle_kit.runs import run_dir as find_run
    from kaggle_kit.train import distributed, train_run

    if args.resume:
        if args.pipeline or args.run_dir:
            raise ConfigError("--resume takes the run's own config.yaml; drop PIPELINE and --run-dir")
        check_resume_overrides(args.overrides)
        folder = find_run(args.resume)
        try:
            cfg = from_dict(PipelineConfig, apply_overrides(load_yaml(folder / "config.yaml"), args.overrides))
        except ConfigError as err:
            raise RunError(f"{folder}: {err}") from None
    else:
        if not args.pipeline:
            raise ConfigError("give a pipeline YAML (e.g. pipelines/seed000.yaml) or --resume RUN")
        # where the run goes is checked before the config is read or the data loaded
        if args.run_dir:
            check_dir_target(args.run_dir, "run folder (--run-dir)")
        else:
            check_dir_target(args.runs_root, "runs root (--runs-root)")
        cfg = load_pipeline(args.pipeline, args.overrides)
        check_member_models([(cfg.name, cfg)])  # a model that cannot be built or run stops here, before the data
        folder = None

    info = distributed.setup()
    if cfg.members and info.is_main and not args.resume:
        print(f"note: {args.pipeline} has members {', '.join(m.name for m in cfg.members)}; this trains its "
              f"config without their settings (`kaggle-kit run {args.pipeline}` trains every member)")
    if folder is None:
        name = Path(args.run_dir) if args.run_dir else Path(args.runs_root) / new_run_id(cfg.name, cfg)
        folder = Path(distributed.broadcast_object(str(name), info))
    with reading_data(args.data_dir) as paths:  # not while a download moves new batches in
        data = load_cifar10(paths.cifar_dir)
        inputs = {f.name: f for f in sorted(paths.cifar_dir.glob("*_batch*"))}
    try:
        result = train_run(cfg, data, folder, resume=bool(args.resume), progress=not args.no_progress,
                           inputs=inputs)
    finally:
        distributed.teardown()
    if info.is_main:
        epochs = f"{result.epochs_done} epoch{'' if result.epochs_done == 1 else 's'}"
        if result.stopped_epoch is not None:
            epochs += " (early stop)"
        print(f"run {result.run_dir}: {epochs} in {result.seconds:.0f}s, "
              f"holdout {percent(result.holdout_acc, 2)}, CIFAR-10 test {percent(result.test_acc, 2)}")
    return 0
