"""One configurable CIFAR ResNet that every seed paper's network is an instance of.

Why one class: the five papers differ in a handful of switches (stem convs, widths, depths, strides,
activation, Squeeze-and-Excitation, shortcut kernel, conv biases, pre- or post-activation). Keeping them as
fields of a frozen ``ResNetSpec`` lets ``scripts/search_seed_architectures.py`` explore exactly the choices a
paper leaves open and rebuild any candidate with the same code the registry uses.

Every branch is decided in ``__init__``; ``forward`` only calls submodules, so the graph has no Python-side
shape logic (``torch.fx``/``torch.compile`` trace it whole) and ``channels_last`` inputs stay channels-last.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from kaggle_kit.config import check_model_argument

ACTIVATIONS = {"relu": nn.ReLU, "mish": nn.Mish}


def make_act(name: str) -> nn.Module:
    return ACTIVATIONS[name](inplace=True)


def dropout_rate(value: object) -> float:
    """A dropout probability as config reads one (``config.MODEL_ARGUMENTS``): ``true`` is refused, not 1.0."""
    return check_model_argument("dropout", value)


@dataclass(frozen=True)
class ResNetSpec:
    stem: tuple[int, ...]               # output channels of the stem's 3x3 stride-1 convs, in order
    widths: tuple[int, ...]             # output channels of each stage
    depths: tuple[int, ...]             # residual blocks per stage
    strides: tuple[int, ...]            # stride of each stage's first block
    preact: bool = False                # True: BN-act-conv blocks (WRN); False: conv-BN-act blocks (He et al.)
    act: str = "relu"                   # relu | mish
    conv_bias: bool = False             # bias on every conv (Keras' default is True, PyTorch papers' False)
    shortcut_kernel: int = 1            # projection shortcut kernel (1 or 3), used when stride or width changes
    shortcut_bn: bool = True            # BatchNorm after the projection conv
    se_ratio: int | None = None         # Squeeze-and-Excitation channel reduction; None: no SE
    se_bias: bool = True                # biases of the two SE 1x1 convs
    se_act: str = "relu"                # activation between the SE convs
    dropout: float = 0.0                # before the classifier
    num_classes: int = 10

    def __post_init__(self):
        if not (len(self.widths) == len(self.depths) == len(self.strides)):
            raise ValueError("widths, depths and strides need one entry per stage")
        if self.act not in ACTIVATIONS or self.se_act not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}")


def conv3x3(cin: int, cout: int, stride: int = 1, bias: bool = False) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=bias)


class SqueezeExcite(nn.Module):
    """Hu et al. 2018: global pool -> 1x1 reduce -> act -> 1x1 expand -> sigmoid gate.

    1x1 convs instead of Linear layers: same parameters as Keras' Dense layers, but no flatten/reshape, so
    the gate keeps the input's memory format.
    """

    def __init__(self, channels: int, ratio: int, bias: bool = True, act: str = "relu"):
        super().__init__()
        hidden = max(1, channels // ratio)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, hidden, 1, bias=bias)
        self.act = make_act(act)
        self.expand = nn.Conv2d(hidden, channels, 1, bias=bias)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(self.expand(self.act(self.reduce(self.pool(x)))))


def projection(cin: int, cout: int, stride: int, spec: ResNetSpec) -> nn.Module:
    k = spec.shortcut_kernel
    conv = nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=spec.conv_bias)
    return nn.Sequential(conv, nn.BatchNorm2d(cout)) if spec.shortcut_bn else conv


class BasicBlock(nn.Module):
    """conv-BN-act-conv-BN[-SE] plus shortcut, then act (He et al. 2016, post-activation)."""

    def __init__(self, cin: int, cout: int, stride: int, spec: ResNetSpec):
        super().__init__()
        self.conv1 = conv3x3(cin, cout, stride, spec.conv_bias)
        self.bn1 = nn.BatchNorm2d(cout)
        self.act1 = make_act(spec.act)
        self.conv2 = conv3x3(cout, cout, 1, spec.conv_bias)
        self.bn2 = nn.BatchNorm2d(cout)
        self.se = (SqueezeExcite(cout, spec.se_ratio, spec.se_bias, spec.se_act)
                   if spec.se_ratio else nn.Identity())
        self.shortcut = projection(cin, cout, stride, spec) if stride != 1 or cin != cout else nn.Identity()
        self.act2 = make_act(spec.act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.se(self.bn2(self.conv2(out)))
        return self.act2(out + self.shortcut(x))


class PreActBlock(nn.Module):
    """BN-act-conv-BN-act-conv[-SE] plus shortcut (He et al. 2016b; Zagoruyko & Komodakis' WRN block).

    A projection shortcut reads the pre-activated input, as the WRN reference code does, so the first BN of a
    stage's first block normalises both paths.
    """

    def __init__(self, cin: int, cout: int, stride: int, spec: ResNetSpec):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.act1 = make_act(spec.act)
        self.conv1 = conv3x3(cin, cout, stride, spec.conv_bias)
        self.bn2 = nn.BatchNorm2d(cout)
        self.act2 = make_act(spec.act)
        self.conv2 = conv3x3(cout, cout, 1, spec.conv_bias)
        self.se = (SqueezeExcite(cout, spec.se_ratio, spec.se_bias, spec.se_act)
                   if spec.se_ratio else nn.Identity())
        self.projects = stride != 1 or cin != cout
        self.shortcut = projection(cin, cout, stride, spec) if self.projects else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = self.act1(self.bn1(x))
        out = self.se(self.conv2(self.act2(self.bn2(self.conv1(pre)))))
        # `projects` is fixed at construction: a constant to tracers, not data-dependent control flow.
        return out + self.shortcut(pre if self.projects else x)


class CifarResNet(nn.Module):
    """Stem of 3x3 stride-1 convs, residual stages, global average pool, dropout, linear classifier."""

    def __init__(self, spec: ResNetSpec):
        super().__init__()
        self.spec = spec
        stem: list[nn.Module] = []
        cin = 3
        for cout in spec.stem:
            stem.append(conv3x3(cin, cout, 1, spec.conv_bias))
            if not spec.preact:  # a pre-activation network normalises at the start of each block instead
                stem += [nn.BatchNorm2d(cout), make_act(spec.act)]
            cin = cout
        self.stem = nn.Sequential(*stem)
        block = PreActBlock if spec.preact else BasicBlock
        stages = []
        for width, depth, stride in zip(spec.widths, spec.depths, spec.strides):
            blocks = []
            for i in range(depth):
                blocks.append(block(cin, width, stride if i == 0 else 1, spec))
                cin = width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.final = nn.Sequential(nn.BatchNorm2d(cin), make_act(spec.act)) if spec.preact else nn.Identity()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.dropout = nn.Dropout(spec.dropout)
        self.fc = nn.Linear(cin, spec.num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.final(self.stages(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.flatten(self.pool(self.forward_features(x)))))
