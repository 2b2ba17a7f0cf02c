"""``benchmarks/bench_predict.py --adapt-bn``: the table of seconds per forward pass, on made-up timings, and one
real timing of a tiny model."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_predict as bp  # noqa: E402

from kaggle_kit.tta import make_plan  # noqa: E402


def test_each_form_is_judged_per_forward_pass_against_the_plain_prediction():
    # flip: the prediction is 2 passes, unweighted 1 + 2, balanced (3 + 1) x (1 + 2) = 12, the plain reference
    # (3 + 1) x (1 + 1) = 8
    seconds = {"trained": 2.0, "unweighted": 3.3, "balanced": 13.2, "reference": 8.0}
    lines, worst = bp.adapt_bn_table(seconds, 2)
    assert lines[1].split()[:6] == ["trained", "2", "2.000", "1.0000", "1.00", "1.00"]
    assert lines[2].split()[:6] == ["unweighted", "3", "3.300", "1.1000", "1.10", "1.65"] and lines[2].endswith("ok")
    assert lines[3].split()[:6] == ["balanced", "12", "13.200", "1.1000", "1.10", "6.60"]
    assert lines[4].split()[:6] == ["reference", "8", "8.000", "1.0000", "1.00", "4.00"]
    assert worst == pytest.approx(1.1)
    slow, worst = bp.adapt_bn_table({**seconds, "unweighted": 3.0, "balanced": 14.4}, 2)
    assert slow[3].endswith("ABOVE TARGET") and worst == pytest.approx(1.2)


def test_the_four_forms_are_timed_on_a_real_model():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.AdaptiveAvgPool2d(1),
                                torch.nn.Flatten(), torch.nn.Linear(4, 10)).eval()
    images = np.random.default_rng(0).integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    kw = dict(num_classes=10, batch_size=20, device=torch.device("cpu"), channels_last=False, amp=False)
    seconds = bp.adapt_bn_seconds(model, images, make_plan("flip"), repeats=1, **kw)
    assert list(seconds) == ["trained", "unweighted", "balanced", "reference"]
    assert all(0 < t < 60 for t in seconds.values())
