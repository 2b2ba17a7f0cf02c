"""Search the design space each seed paper's text allows for the parameter count the paper reports.

For every seed, the options the text leaves open (biases, shortcut kernel and BN, SE ratio and bias, stem,
strides, widths where the wording is ambiguous) are crossed; each candidate's trainable parameters and
BatchNorm channels are counted analytically (``count_spec``, milliseconds for thousands of candidates). The
script prints how many candidates hit the paper's count (exactly, or within 1% for an approximate count),
the closest ones otherwise, and whether the registered model (``kaggle_kit.models.seeds.SEED_SPECS``) is
among them. Every printed candidate is rebuilt on the meta device and its count checked against
``count_spec``, so the analysis and the real modules cannot drift apart.

Strides rarely change a count. For seed000 they are settled by the paper's torchsummary footer
("Forward/backward pass size: 8.91 MB"), reproduced with forward hooks; FLOPs are measured for reference.

Usage: .venv/bin/python scripts/search_seed_architectures.py [seed000 ...] [--show N]
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kaggle_kit.models.counting import count_bn_statistics, count_parameters, model_flops  # noqa: E402
from kaggle_kit.models.resnet import BasicBlock, CifarResNet, ResNetSpec  # noqa: E402
from kaggle_kit.models.seeds import APPROX_TOLERANCE, PAPER_COUNTS, SEED_SPECS  # noqa: E402


# ----------------------------------------------------------------------------------------- counting
def count_spec(spec: ResNetSpec) -> tuple[int, int]:
    """(trainable parameters, BatchNorm channels) of ``CifarResNet(spec)``, without building it."""
    params = bn_channels = 0

    def conv(cin: int, cout: int, k: int) -> int:
        return cin * cout * k * k + (cout if spec.conv_bias else 0)

    def bn(c: int) -> int:
        nonlocal bn_channels
        bn_channels += c
        return 2 * c  # gamma + beta

    def se(c: int) -> int:
        if not spec.se_ratio:
            return 0
        h = max(1, c // spec.se_ratio)
        return 2 * c * h + ((h + c) if spec.se_bias else 0)

    cin = 3
    for cout in spec.stem:
        params += conv(cin, cout, 3) + (0 if spec.preact else bn(cout))
        cin = cout
    for width, depth, stride in zip(spec.widths, spec.depths, spec.strides):
        for i in range(depth):
            s = stride if i == 0 else 1
            params += conv(cin, width, 3) + conv(width, width, 3) + se(width)
            params += (bn(cin) + bn(width)) if spec.preact else (bn(width) + bn(width))
            if s != 1 or cin != width:
                params += conv(cin, width, spec.shortcut_kernel) + (bn(width) if spec.shortcut_bn else 0)
            cin = width
    if spec.preact:
        params += bn(cin)
    params += cin * spec.num_classes + spec.num_classes
    return params, bn_channels


def built_counts(spec: ResNetSpec) -> tuple[int, int]:
    with torch.device("meta"):
        model = CifarResNet(spec)
    return count_parameters(model), count_bn_statistics(model) // 2


# ----------------------------------------------------------------------------------------- spaces
def grid(base: ResNetSpec, **options: list) -> list[ResNetSpec]:
    names = list(options)
    return [replace(base, **dict(zip(names, combo))) for combo in itertools.product(*options.values())]


def strides_grid(first: int, n: int) -> list[tuple[int, ...]]:
    return [(first, *rest) for rest in itertools.product((1, 2), repeat=n - 1)]


def spaces() -> dict[str, tuple[str, list[ResNetSpec]]]:
    """Per seed: what the text fixes (in words) and every candidate the open choices allow."""
    s0 = SEED_SPECS["seed000"]
    s1 = SEED_SPECS["seed001"]
    s2 = SEED_SPECS["seed002"]
    s3 = SEED_SPECS["seed003"]
    s4 = SEED_SPECS["seed004"]
    wrn = [replace(s3, widths=(round(16 * k), round(32 * k), round(64 * k)))
           for k in (3.0, 3.25, 3.5, 3.75, 4.0)]
    return {
        "seed000": ("stem 36, stages 36-72-144-256-64 x 3-3-3-3-1, 1x1 shortcuts; open: biases, shortcut BN, "
                    "strides of stages 2-5",
                    grid(s0, conv_bias=[False, True], shortcut_bn=[True, False],
                         strides=strides_grid(1, 5))),
        "seed001": ("two stem convs to 64, 3-4-6-2 blocks, no biases; open: the widths' wording, stem, "
                    "shortcut kernel and BN, strides",
                    grid(s1, widths=[(64, 64, 128, 256), (64, 128, 256, 256), (64, 128, 256, 512)],
                         stem=[(64,), (64, 64), (32, 64)], shortcut_kernel=[1, 3], shortcut_bn=[True, False],
                         conv_bias=[False, True], strides=strides_grid(1, 4))),
        "seed002": ("stem 32, widths 32-64-256-256 x 2, Mish, SE ratio 16, 1x1 shortcut + BN; open: biases, "
                    "SE bias, shortcut BN, strides (text: 1, 2, 2, 2)",
                    grid(s2, conv_bias=[False, True], se_bias=[True, False], shortcut_bn=[True, False],
                         strides=strides_grid(1, 4))),
        "seed003": ("WRN-28-k (4 pre-activation blocks per stage, widths 16k-32k-64k); open: k near 3.5, "
                    "shortcut BN, biases",
                    [replace(c, shortcut_bn=sbn, conv_bias=cb)
                     for c in wrn for sbn in (False, True) for cb in (False, True)]),
        "seed004": ("stem 64, SE-ResNet blocks 64-128-256-512 at strides 1-1-2-2; open: blocks per stage, "
                    "biases, SE ratio and bias, shortcut BN",
                    grid(s4, depths=list(itertools.product((1, 2), repeat=4)), conv_bias=[True, False],
                         se_ratio=[4, 8, 16, 32], se_bias=[True, False], shortcut_bn=[True, False])),
    }


# ----------------------------------------------------------------------------------------- reporting
@dataclass
class Result:
    spec: ResNetSpec
    params: int
    bn_channels: int

    def keras_total(self) -> int:
        return self.params + 2 * self.bn_channels


def describe(spec: ResNetSpec, varying: list[str]) -> str:
    return ", ".join(f"{k}={getattr(spec, k)}" for k in varying)


def hits_target(r: Result, name: str) -> bool:
    paper = PAPER_COUNTS[name]
    if paper.exact:
        ok = r.params == paper.params
        if paper.keras_total is not None:
            ok = ok and r.keras_total() == paper.keras_total
        return ok
    return abs(r.params - paper.params) <= APPROX_TOLERANCE * paper.params


def report_seed(name: str, text: str, candidates: list[ResNetSpec], show: int) -> bool:
    paper = PAPER_COUNTS[name]
    registered = SEED_SPECS[name]
    varying = [f.name for f in fields(ResNetSpec)
               if len({getattr(c, f.name) for c in candidates}) > 1]
    results = [Result(c, *count_spec(c)) for c in candidates]
    hits = [r for r in results if hits_target(r, name)]
    target = f"{paper.params:,}" + ("" if paper.exact else f" +-{APPROX_TOLERANCE:.0%}")
    if paper.keras_total:
        target += f" trainable, {paper.keras_total:,} Keras total"
    print(f"\n== {name}: paper count {target}")
    print(f"   text fixes: {text}")
    print(f"   {len(candidates)} candidates, {len(hits)} hit")
    # the registered spec first among hits; otherwise the nearest counts
    shown = (sorted(hits, key=lambda r: r.spec != registered) if hits
             else sorted(results, key=lambda r: abs(r.params - paper.params)))
    label = "hit" if hits else "closest"
    for r in shown[:show]:
        check = built_counts(r.spec)
        assert check == (r.params, r.bn_channels), f"count_spec drifted from CifarResNet: {check}"
        extra = f", Keras total {r.keras_total():,}" if paper.keras_total else ""
        print(f"   {label}: {r.params:,} ({(r.params - paper.params) / paper.params:+.2%}{extra})  "
              f"{describe(r.spec, varying)}")
    if len(shown) > show:
        print(f"   ... {len(shown) - show} more")
    reg = Result(registered, *count_spec(registered))
    assert built_counts(registered) == (reg.params, reg.bn_channels)
    in_hits = any(r.spec == registered for r in hits)
    extra = f", Keras total {reg.keras_total():,}" if paper.keras_total else ""
    print(f"   registered {name}: {reg.params:,} ({(reg.params - paper.params) / paper.params:+.2%}{extra}) "
          f"-> {'a hit' if in_hits else 'NOT a hit'}  {describe(registered, varying)}")
    if name == "seed004":
        print(f"   BatchNorm channels: paper 11,200 / 2 = 5,600; registered {reg.bn_channels:,}; "
              f"5,600 is not a multiple of 64, every BN width in the text is")
    return in_hits == paper.reached


class _SummaryHooks:
    """torchsummary's "forward/backward pass size": 2 x 4 bytes x every hooked module's output per sample.

    Hooked: the module types the paper's code calls as modules (ReLU is applied functionally there).
    """

    TYPES = (nn.Conv2d, nn.BatchNorm2d, BasicBlock, nn.AdaptiveAvgPool2d, nn.Linear)

    def __init__(self, model: nn.Module):
        self.elements = 0
        for m in model.modules():
            if isinstance(m, self.TYPES):
                m.register_forward_hook(self._hook)

    def _hook(self, module, inputs, output):
        self.elements += output[0].numel()  # per sample: the batch is 1

    def megabytes(self) -> float:
        return 2 * 4 * self.elements / 1024 ** 2


def seed000_strides() -> None:
    print("\n== seed000 strides (do not change the count): torchsummary pass size, paper says 8.91 MB; "
          "paper says 1.03 GFLOPs")
    base = SEED_SPECS["seed000"]
    for strides in strides_grid(1, 5):
        with torch.device("meta"):
            model = CifarResNet(replace(base, strides=strides)).eval()
        hooks = _SummaryHooks(model)
        with torch.no_grad():
            model(torch.zeros(1, 3, 32, 32, device="meta"))
        mb = hooks.megabytes()
        flops = model_flops(model) / 1e9
        mark = "  <- matches 8.91 MB" if round(mb, 2) == 8.91 else ""
        print(f"   strides {strides}: pass size {mb:6.2f} MB, {flops:5.2f} GFLOPs ({flops / 2:5.2f} GMACs){mark}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("seeds", nargs="*", help="seed names (default: all five)")
    ap.add_argument("--show", type=int, default=5, help="candidates listed per seed (default 5)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    all_spaces = spaces()
    names = args.seeds or list(all_spaces)
    consistent = True
    for name in names:
        text, candidates = all_spaces[name]
        consistent &= report_seed(name, text, candidates, args.show)
        if name == "seed000":
            seed000_strides()
    print(f"\n{'all registered seeds are as documented' if consistent else 'MISMATCH with PAPER_COUNTS.reached'}"
          f" ({time.perf_counter() - t0:.1f} s)")
    return 0 if consistent else 1


if __name__ == "__main__":
    sys.exit(main())
