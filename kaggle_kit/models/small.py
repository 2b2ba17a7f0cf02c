"""Small, fast models for unit tests and the CPU demo (not competition baselines)."""
from __future__ import annotations

import torch
import torch.nn as nn

from kaggle_kit.config import check_model_argument
from kaggle_kit.models.registry import register_model
from kaggle_kit.models.resnet import CifarResNet, ResNetSpec, dropout_rate


def _conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class TinyCNN(nn.Module):
    """Three conv-BN-ReLU layers with two 2x max-pools, global average pool, linear classifier."""

    def __init__(self, num_classes: int = 10, width: int = 16, dropout: float = 0.0):
        super().__init__()
        w = width
        self.features = nn.Sequential(*_conv_bn_relu(3, w), nn.MaxPool2d(2), *_conv_bn_relu(w, 2 * w),
                                      nn.MaxPool2d(2), *_conv_bn_relu(2 * w, 4 * w))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Dropout(dropout),
                                  nn.Linear(4 * w, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@register_model
def tinycnn(num_classes: int = 10, width: int = 16, dropout: float | None = None) -> nn.Module:
    """Three-conv CNN (24k params at width 16): for unit tests, builds and runs in milliseconds."""
    return TinyCNN(num_classes, check_model_argument("width", width),
                   dropout_rate(0.0 if dropout is None else dropout))


@register_model
def resnet8(num_classes: int = 10, width: int = 16, dropout: float | None = None) -> nn.Module:
    """ResNet-8 (He et al. 2016, n=1) widths 16-32-64 (78k params): the CPU demo model."""
    w = check_model_argument("width", width)
    return CifarResNet(ResNetSpec(stem=(w,), widths=(w, 2 * w, 4 * w), depths=(1, 1, 1), strides=(1, 2, 2),
                                  dropout=dropout_rate(0.0 if dropout is None else dropout), num_classes=num_classes))
