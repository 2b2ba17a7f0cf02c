"""``kaggle-kit predict RUN``: logits for holdout, test and competition images, with and without TTA."""
from __future__ import annotations

import argparse
import dataclasses
import os
import shlex

from kaggle_kit.config import TTA_AVERAGES, TTA_LEVELS, TTA_PADS
from kaggle_kit.text import percent


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="write a run's logits (holdout, test, competition) with test-time augmentation")
    p.add_argument("run", help="run folder or run id (under runs/)")
    p.add_argument("--tta", choices=TTA_LEVELS,
                   help="TTA level (default: the run's predict.tta)")
    p.add_argument("--views", nargs="+", metavar="VIEW",
                   help="views for --tta custom, e.g. identity hflip shift:1,0 shift:1,1+hflip")
    p.add_argument("--average", choices=TTA_AVERAGES,
                   help="average views' logits or probabilities (default: the run's predict.average)")
    p.add_argument("--pad", choices=TTA_PADS, help="border fill of shifted views (default: the run's predict.pad)")
    p.add_argument("--batch-size", type=int, help="images per forward pass, all views included (default: the run's "
                                                          "predict.batch_size)")
    p.add_argument("--adapt-bn", action=argparse.BooleanOptionalAction, default=None,
                   help="re-estimate BatchNorm statistics on the competition images before predicting them "
                        "(default: the run's predict.adapt_bn)")
    p.add_argument("--bn-reference", action=argparse.BooleanOptionalAction, default=None,
                   help="also write a class-balanced BatchNorm copy's competition logits, the reference of the "
                        "report's Ref-EM, Ref-Avg, Ref-Avg-Shrunk, Ref-Prior, Ref-Mix, Ref-Split, Ref-Sep, "
                        "Ref-Hedge, Ref-Parts and Ref-Doubt estimates "
                        "(default: the run's predict.bn_reference)")
    p.add_argument("--data-dir", help="data folder (default: $KAGGLE_KIT_DATA when set (only there), "
                                      "else ./data, then Kaggle input)")
    p.add_argument("--no-comp", action="store_true", help="skip the competition pickle (no logits_comp.npz)")
    p.add_argument("--all-comp", action="store_true", help="predict every competition image even if the run's "
                                                          "data.comp_subset is set (a submission needs them all)")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (default: auto = cuda when available, "
                                    "else cpu)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kaggle_kit.bn_adapt import batchnorm_layers
    from kaggle_kit.data import load_cifar10, load_competition
    from kaggle_kit.datapaths import reading_data
    from kaggle_kit.errors import ConfigError, RunError, UsageError
    from kaggle_kit.predict import predict_run, resolve_device, run_config, run_model
    from kaggle_kit.runs import REFERENCE_FILE, read_manifest, run_dir
    from kaggle_kit.tta import plan_from_config

    device = resolve_device(args.device)  # a bad or absent device fails here, before the data is loaded
    folder = run_dir(args.run)
    if not os.access(folder, os.W_OK | os.X_OK):  # a run attached read-only (a Kaggle notebook's input)
        raise RunError(f"{folder}: run folder is not writable, and predict writes its logits into it; copy it "
                       f"somewhere writable (cp -r {shlex.quote(str(folder))} runs/) and predict the copy")
    pipeline = run_config(folder)
    cfg = pipeline.predict
    model, _ = run_model(folder, pipeline)  # a malformed or mismatched model.pt fails here, before the data is loaded
    changes = {k: v for k, v in dict(tta=args.tta, average=args.average, pad=args.pad, batch_size=args.batch_size,
                                      adapt_bn=args.adapt_bn, bn_reference=args.bn_reference).items()
               if v is not None}
    if args.views:
        changes["views"] = tuple(args.views)
        changes.setdefault("tta", "custom")
    elif changes.get("tta", cfg.tta) != "custom":
        changes["views"] = ()
    if changes.get("batch_size", cfg.batch_size) < 1:
        raise ConfigError("--batch-size must be at least 1")
    cfg = dataclasses.replace(cfg, **changes)
    plan_from_config(cfg)  # a bad TTA setting fails here, before the data is loaded
    if cfg.adapt_bn and not batchnorm_layers(model):
        raise ConfigError(f"--adapt-bn: the run's model ({pipeline.model.name}) has no BatchNorm layer to adapt")

    if args.all_comp and args.no_comp:
        raise UsageError("--all-comp and --no-comp contradict each other; give one")
    with reading_data(args.data_dir, require_comp=not args.no_comp) as paths:  # one download's files
        data = load_cifar10(paths.cifar_dir)
        comp = None if args.no_comp else load_competition(paths.comp_pickle)
    subset = {"comp_subset": None} if args.all_comp else {}
    logits = predict_run(folder, data, comp, cfg, device=device, **subset)

    manifest = read_manifest(folder, "predict") or {}
    metrics = manifest.get("metrics", {})
    print(f"{'split':<8} {'images':>7} {'plain':>8} {'TTA':>8}")
    for split, lg in logits.items():
        print(f"{split:<8} {len(lg.ids):>7,} {percent(metrics.get(f'{split}_acc_plain'), 2):>8} "
              f"{percent(metrics.get(f'{split}_acc_tta'), 2):>8}")
    t = metrics.get("temperature")
    if t is not None and "holdout_nll_raw" in metrics:
        print(f"temperature {t:.3f}: holdout NLL {metrics['holdout_nll_raw']:.4f} -> "
              f"{metrics['holdout_nll_calibrated']:.4f}")
    print(f"TTA: {next(iter(logits.values())).tta}")
    if "comp_changed_by_adapt_bn" in metrics:
        print(f"BatchNorm adapted to the competition images: {percent(metrics['comp_changed_by_adapt_bn'], 1)} of "
              f"their predictions changed")
    print(f"wrote {', '.join(str(folder / f'logits_{s}.npz') for s in logits)}")
    if "comp_reference" in manifest.get("outputs", {}):
        from kaggle_kit.gap.estimators import PREFERRED  # the report's recommendation where a run has a reference

        print(f"and {folder / REFERENCE_FILE}, the BatchNorm reference of the report's {PREFERRED[0]} estimate "
              f"({manifest.get('timings_s', {}).get('comp_reference_s', 0):.1f} s; --no-bn-reference skips it)")
    return 0
