"""``kaggle-kit models``: every registered model with its trainable parameters and forward GFLOPs at 32x32."""
from __future__ import annotations

import argparse
import json

from kaggle_kit.config import COMPETITION_MAX_PARAMS, budget_relation  # not kaggle_kit.models: it imports torch


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the registered models with parameters and GFLOPs")
    p.add_argument("--timm", action="append", default=[], metavar="ARCH",
                   help="also list timm/ARCH, adapted to 32x32 (repeatable)")
    p.add_argument("--max-params", type=int, default=COMPETITION_MAX_PARAMS,
                   help=f"mark models with this many trainable parameters or more (default {COMPETITION_MAX_PARAMS:,}: "
                        f"the competition allows models under it)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def model_rows(names: list[str], max_params: int) -> list[dict]:
    """Build each model on the meta device (no memory, no init time) and measure it."""
    import torch

    from kaggle_kit.models import count_parameters, create_model, model_entry, model_flops
    from kaggle_kit.models.registry import TIMM_PREFIX

    rows = []
    for name in names:
        with torch.device("meta"):
            model = create_model(name, num_classes=10)
        params = count_parameters(model)
        description = (f"timm {name[len(TIMM_PREFIX):]}, stem adapted to 32x32" if name.startswith(TIMM_PREFIX)
                       else model_entry(name).description)
        rows.append({"name": name, "params": params, "gflops": model_flops(model) / 1e9,
                     "within_budget": budget_relation(params, max_params) is None, "description": description})
    return rows


def run(args: argparse.Namespace) -> int:
    from kaggle_kit.errors import UsageError
    from kaggle_kit.models import list_models

    if args.max_params < 1:
        raise UsageError(f"--max-params must be 1 or more, found {args.max_params}")
    # each model once: a --timm given twice (or as timm/ARCH and ARCH) would build and print it twice
    names = list(dict.fromkeys(list_models() + [f"timm/{a.removeprefix('timm/')}" for a in args.timm]))
    rows = model_rows(names, args.max_params)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["name"]) for r in rows)
    print(f"{'model':<{width}}  {'params':>11}  {'GFLOPs':>7}  description")
    for r in rows:
        mark = " " if r["within_budget"] else "*"
        print(f"{r['name']:<{width}}  {r['params']:>10,}{mark}  {r['gflops']:>7.3f}  {r['description']}")
    print("params: trainable; GFLOPs: forward, one 32x32 image, 1 multiply-add = 2 FLOPs "
          "(torch.utils.flop_counter, convs and matmuls)")
    if not all(r["within_budget"] for r in rows):
        print(f"* over the {args.max_params:,}-parameter budget (a model must have fewer parameters)")
    return 0
