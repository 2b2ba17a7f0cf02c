"""``kaggle-kit run PIPELINE`` (the main job) and ``kaggle-kit demo`` (the same flow against a fake Kaggle)."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a pipeline: train, predict, ensemble, CSV, upload, sync, report",
                       description="Run every stage the pipeline lists, skipping those whose inputs and outputs "
                                   "are unchanged (runs/pipelines/<name>.json holds their keys). Outputs go under "
                                   "runs/, ensembles/, submissions/ and reports/ of the current folder; "
                                   "uploads need Kaggle credentials, else the upload is a recorded dry run.")
    p.add_argument("pipeline", help="pipeline YAML, e.g. pipelines/default.yaml")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.epochs=5 (repeatable)")
    p.add_argument("--data-dir", help="data folder (default: $KAGGLE_KIT_DATA when set (only there), "
                                      "else ./data, then Kaggle input)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar or per-epoch lines (stage lines stay)")
    add_parallel_members(p)
    p.set_defaults(func=run)

    d = sub.add_parser("demo", help="the whole flow on CIFAR-10 with a small model and a local fake Kaggle")
    d.add_argument("--pipeline", help="the pipeline to run (default: pipelines/demo.yaml of the current folder, "
                                      "else the toolkit's own)")
    d.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.epochs=2 (repeatable)")
    d.add_argument("--data-dir", help="data folder (default: $KAGGLE_KIT_DATA when set (only there), else ./data, "
                                      "then the shared folder, else CIFAR-10 downloaded with torchvision)")
    d.add_argument("--workdir", default="demo", help="where runs/, submissions/ and reports/ go "
                   "(default demo/, so demo uploads never mix with the real ledger)")
    d.add_argument("--no-progress", action="store_true", help="no progress bar or per-epoch lines (stage lines stay)")
    add_parallel_members(d)
    d.set_defaults(func=demo)


def add_parallel_members(parser: argparse.ArgumentParser) -> None:
    """``--parallel-members``, one definition for `run` and `demo`: the same help, the same default."""
    parser.add_argument("--parallel-members", metavar="N", help="train up to N ensemble members at once, each in its "
                        "own process on its own GPU (default: $KAGGLE_KIT_PARALLEL_MEMBERS, else auto: one per "
                        "visible CUDA GPU, so CPUs and a single GPU train one after another; 1: one after another)")


def run(args: argparse.Namespace) -> int:
    from kaggle_kit import pipeline
    from kaggle_kit.config import load_pipeline, overrides_hidden_by_members
    from kaggle_kit.upload import again_command

    cfg = load_pipeline(args.pipeline, args.overrides)
    for note in overrides_hidden_by_members(cfg, args.overrides):
        print(note)
    # a dry run names this command again: with credentials it uploads, and the ledger keeps the runs
    again = again_command(args.command_line, ["--set", "submit.upload=auto"] if cfg.submit.upload == "never" else [])
    out = pipeline.run_pipeline(cfg, data_dir=args.data_dir, progress=not args.no_progress, again=again,
                                parallel_members=args.parallel_members)
    _summary(out)
    return 0


def demo(args: argparse.Namespace) -> int:
    from kaggle_kit import demo as demo_module

    out = demo_module.run_demo(args.pipeline or demo_module.demo_pipeline(), args.overrides, data_dir=args.data_dir,
                               workdir=args.workdir, progress=not args.no_progress,
                               parallel_members=args.parallel_members)
    _summary(out)
    print("next:         open the gap report in a browser; for the competition itself, `kaggle-kit data download` "
          f"(Kaggle credentials, rules accepted) then `{demo_module.competition_command()}`")
    return 0


def _summary(out) -> None:
    from kaggle_kit.ledger import NOT_SUBMITTED, as_fraction
    from kaggle_kit.text import percent

    print(f"final logits: {out.final_dir}")
    if out.csv:
        print(f"submission:   {out.csv}")
    if out.ledger is not None:
        row = out.ledger_row or {}
        score = row.get("public_score")
        if not row:
            status = ""
        elif row.get("status") in NOT_SUBMITTED:
            status = f" (this submission: {row.get('status')}, not uploaded)"
        else:
            status = (f" (this submission: {row.get('status')}, public score "
                      f"{percent(as_fraction(float(score)), 2) if score not in (None, '') else 'pending'})")
        print(f"ledger:       {out.ledger}{status}")
    if out.report:
        print(f"gap report:   {out.report} (and {out.report.with_suffix('.md').name} beside it)")
