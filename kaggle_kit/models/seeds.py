"""The five seed papers' networks (``../shared/seeds/00N_*.txt``), rebuilt from their text.

Each builder's docstring names the paper, the parameter count it reproduces and every detail the text left
open, with how it was settled. ``scripts/search_seed_architectures.py`` enumerates the design space each text
allows and shows which candidates hit the paper's count; ``SEED_SPECS`` and ``PAPER_COUNTS`` are what it and
the tests check against. Counts are trainable parameters unless said otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch.nn as nn

from kaggle_kit.models.registry import register_model
from kaggle_kit.models.resnet import CifarResNet, ResNetSpec, dropout_rate


@dataclass(frozen=True)
class PaperCount:
    params: int                 # the count the paper reports
    exact: bool                 # True: the paper prints the exact number; False: an approximation ("≈4.5M")
    keras_total: int | None = None   # Keras "Total params" (trainable + BatchNorm moving statistics)
    reached: bool = True        # False: no reading of the text reaches it (see the builder's docstring)


SEED_SPECS: dict[str, ResNetSpec] = {
    "seed000": ResNetSpec(stem=(36,), widths=(36, 72, 144, 256, 64), depths=(3, 3, 3, 3, 1),
                          strides=(1, 2, 2, 2, 2)),
    "seed001": ResNetSpec(stem=(64, 64), widths=(64, 64, 128, 256), depths=(3, 4, 6, 2), strides=(1, 1, 2, 2),
                          shortcut_kernel=3, dropout=0.5),
    "seed002": ResNetSpec(stem=(32,), widths=(32, 64, 256, 256), depths=(2, 2, 2, 2), strides=(1, 2, 2, 2),
                          act="mish", se_ratio=16, se_bias=True, se_act="mish", dropout=0.5),
    "seed003": ResNetSpec(stem=(16,), widths=(56, 112, 224), depths=(4, 4, 4), strides=(1, 2, 2), preact=True,
                          shortcut_bn=False),
    "seed004": ResNetSpec(stem=(64,), widths=(64, 128, 256, 512), depths=(1, 1, 1, 1), strides=(1, 1, 2, 2),
                          conv_bias=True, se_ratio=16, se_bias=True),
}

PAPER_COUNTS: dict[str, PaperCount] = {
    "seed000": PaperCount(4_893_566, exact=True),
    "seed001": PaperCount(4_693_962, exact=True),
    "seed002": PaperCount(4_500_000, exact=False, reached=False),
    "seed003": PaperCount(4_480_000, exact=False),
    "seed004": PaperCount(4_617_010, exact=True, keras_total=4_628_210, reached=False),
}
APPROX_TOLERANCE = 0.01  # relative: an approximate paper count is matched within 1%


def build_seed(name: str, num_classes: int = 10, dropout: float | None = None) -> CifarResNet:
    spec = replace(SEED_SPECS[name], num_classes=num_classes)
    if dropout is not None:
        spec = replace(spec, dropout=dropout_rate(dropout))
    return CifarResNet(spec)


@register_model
def seed000(num_classes: int = 10, dropout: float | None = None) -> nn.Module:
    """ResNet 36-72-144-256-64 x 3-3-3-3-1, 1x1 shortcuts (paper 000, 4,893,566 params).

    Paper: Bhise & Karale, "Classification of images in CIFAR-10 using ResNet architecture" (NYU).
    Reproduces its torchsummary count exactly: 4,893,566 trainable parameters.

    Text: stem Conv(3->36)-BN-ReLU; five stages of basic blocks (two 3x3 convs, padding 1, BN after each,
    ReLU after the first BN and after the addition) with 36, 72, 144, 256, 64 channels and 3, 3, 3, 3, 1
    blocks; 1x1-conv shortcut for dimension matching; AdaptiveAvgPool -> FC(64->10).
    Left open, and how it was settled:
    - conv biases: none. PyTorch ResNets omit them before BN, and only bias=False gives 4,893,566.
    - shortcut: 1x1 conv + BN (torchvision style) whenever stride or width changes; the count needs the BN.
    - strides: 1, 2, 2, 2, 2. Strides do not change the parameter count; they were fixed by the paper's
      torchsummary footer: "Forward/Backward pass size 8.91 MB" is matched by exactly one stride pattern of
      the 16 (with ReLU called functionally), and "stride=1 in initial layers" agrees. The paper's
      "1.03 GFLOPs" matches no pattern: this network measures 0.52 GFLOPs (0.26 G multiply-adds).
    - dropout: the text lists dropout among its regularisers but never places it; the layer list has none,
      so the default is 0 (``dropout=`` adds it before the classifier).
    - the paper also says "4.98 million trainable parameters" once; its own summary says 4,893,566.
    """
    return build_seed("seed000", num_classes, dropout)


@register_model
def seed001(num_classes: int = 10, dropout: float | None = None) -> nn.Module:
    """ResNet-32: 2-conv stem to 64, stages 64-64-128-256 x 3-4-6-2, dropout 0.5 (paper 001, 4,693,962).

    Paper: Sui, Li & Bi, "CIFAR-10 Image Classification Based on Modified ResNet Model" (NYU).
    Reproduces its count exactly: 4,693,962 parameters.

    Text: two bias-free 3x3 convs expand the input to 64 channels, with BN and ReLU; four residual layers of
    3, 4, 6, 2 basic blocks; "for the remaining three residual layers the channels expand to 64, 128 and 256"
    (wider was "ideal" but over budget); a downsampling Sequential "in case the stride is not 1 or the number
    of input channels does not match"; adaptive average pool, dropout 0.5, FC to 10.
    Left open, and how it was settled (scripts/search_seed_architectures.py: 8 of 576 candidates hit, all
    with the first three choices below):
    - widths: 64, 64, 128, 256 (the first layer keeps the stem's 64, the remaining three are 64, 128, 256).
    - shortcut: 3x3 conv + BN, not 1x1: the 1x1 variant is 327,680 parameters short. No conv biases.
    - stem: Conv(3->64)-BN-ReLU-Conv(64->64)-BN-ReLU, as the text says. The other hits use a single stem
      conv plus a stride-2 layer 2, whose 3x3 64->64 shortcut costs exactly what the second stem conv does;
      the text's "two 3x3 convolution layers" at the start rules them out.
    - strides: 1, 1, 2, 2. Layer 2 must keep stride 1 (with two stem convs a stride there would add a
      shortcut and break the count); layers 3 and 4 change width anyway, so the count cannot fix their
      stride: 2, as in ResNets and as "downsampling ... in case the stride is not 1" implies.
    - the text says "32 parameter layers": 2 stem convs + 30 block convs, the FC not counted.
    """
    return build_seed("seed001", num_classes, dropout)


@register_model
def seed002(num_classes: int = 10, dropout: float | None = None) -> nn.Module:
    """SE-ResNet-18 with Mish, widths 32-64-256-256 x 2, dropout 0.5 (paper 002, ~4.5M; 4,570,934 here).

    Paper: Shah, Gera & Mokshagundam, "Efficient CIFAR-10 Image Classification with a Parameter-Efficient
    Modified ResNet Architecture" (NYU). The paper gives "approximately 4.5 million" parameters.
    This model has 4,570,934: 1.58% above 4.5M, outside the 1% the issue asks for. Every candidate within 1%
    needs layer 4 at stride 1, which contradicts the text (see below); with layer 4 downsampling the closest
    is 4,569,642 (SE convs without biases), or 4,568,490 if the shortcut also drops the BN the text names.

    Text: Conv(3->32, 3x3)-BN-Mish stem; layers of [2, 2, 2, 2] basic blocks with 32 (stride 1), 64
    (stride 2), 256 (stride 2) and 256 channels ("with additional downsampling"); Mish after the first conv
    and after the addition; a 1x1 conv + BN shortcut "when necessary to match dimensions"; an SE block in
    every block: adaptive pool, two convs with reduction 16, Mish between them, sigmoid; adaptive average
    pool, dropout 0.5, FC(256->10).
    Left open, and how it was settled:
    - conv biases: none on the 3x3/shortcut convs (before BN); the SE's 1x1 convs keep PyTorch's default
      bias (+1,292 parameters). The team's published notebook (BMG2001nyu/DL-Kaggle-Project-1) defines
      exactly this network; it measures 4,570,934.
    - SE placement: after the second BN, before the addition (Hu et al.).
    - layer 4 downsamples, so its first block needs the 1x1 projection (66,048 parameters). Dropping it
      (stride 1) would give 4,504,886, within 1% of 4.5M, but contradicts "additional downsampling".
    """
    return build_seed("seed002", num_classes, dropout)


@register_model
def seed003(num_classes: int = 10, dropout: float | None = None) -> nn.Module:
    """Wide ResNet WRN-28-3.5: widths 56-112-224 x 4 pre-activation blocks (paper 003, ~4.48M; 4,480,474).

    Paper: Elahi, Allagh & Rashid, "Using ResNet Model for Image Classification using CIFAR10 dataset"
    (NYU): "WRN-28-x" with a fractional widening factor of "approximately 3.5" and "roughly 4.48 million"
    parameters. This model has 4,480,474 (+0.01%).

    Text: residual blocks y = F(x) + x of two 3x3 convs with BN and ReLU, widening factor ~3.5, global
    average pooling, a linear classifier (the text says there is no fully connected layer, but a classifier
    is needed for 10 classes; it is one Linear layer of 2,250 parameters).
    Left open, and how it was settled (Zagoruyko & Komodakis' reference WRN):
    - depth 28 -> (28 - 4) / 6 = 4 blocks per stage; widths 16k, 32k, 64k with k = 3.5 -> 56, 112, 224;
      stem Conv(3->16); strides 1, 2, 2.
    - pre-activation blocks (BN-ReLU-conv), a final BN-ReLU before pooling, no conv biases, 1x1 shortcut
      conv without BN where the width changes. Of k in {3, 3.25, 3.5, 3.75, 4}, only 3.5 lands within 1%.
      The text's "Each convolutional operation is followed by batch normalization and a ReLU activation" reads
      literally as post-activation (conv-BN-ReLU). The count cannot tell the two apart (post-activation:
      4,481,258 with a BN on the projection, 4,480,474 without; both within 0.03%), so the design the paper
      names, WRN-28-k, which is pre-activation, decides.
    - dropout between the convs (WRN's option): the paper mentions none, so there is none; ``dropout=``
      adds dropout before the classifier.
    """
    return build_seed("seed003", num_classes, dropout)


@register_model
def seed004(num_classes: int = 10, dropout: float | None = None) -> nn.Module:
    """SE-ResNet, stem 64, blocks 64-128-256-512, Keras layout (paper 004 says 4,617,010; 4,950,662 here).

    Paper: Penumaka, Sunkari & Gouravelli, "Image classification of CIFAR-10 dataset using ResNet
    architecture" (NYU), written in Keras. It reports 4,628,210 total = 4,617,010 trainable + 11,200
    non-trainable. Keras counts BatchNorm's moving mean and variance as non-trainable parameters; PyTorch
    keeps them as buffers, so the like-for-like comparison is: trainable (incl. BN gamma/beta) with
    trainable, and trainable + running_mean/var elements with Keras' total. Here: 4,950,662 trainable and
    4,950,662 + 5,760 = 4,956,422 "Keras total".

    The paper's count is NOT reachable from its text. Its table gives four SE-ResNet blocks with outputs
    32x32x64, 32x32x128, 16x16x256 and 8x8x512, each of two 3x3 convs. Their conv weights alone are
    4,718,592 (the 512-wide block's 256->512 and 512->512 convs are 3,538,944), already above 4,617,010
    before any BN, SE, shortcut or classifier; and 11,200 non-trainable = 5,600 BN channels is not a sum of
    these widths (5,600 is not a multiple of 64; every BN width in the text is). The search script tries the
    variants (1 or 2 blocks per stage, biases, SE ratio 4-32 and bias, shortcut BN): no hit; the closest
    (no biases, SE ratio 32 without bias, shortcut without BN) has 4,923,210 (+6.6%).

    Text: Conv(3x3, 64, stride 1)-BN-ReLU stem; blocks Conv-BN-ReLU-Conv-BN-SE, add the shortcut, ReLU;
    SE = global pool -> FC -> ReLU -> FC -> sigmoid -> rescale; GAP -> Dense(10).
    Left open, and how it was settled:
    - one block per table row (stage strides 1, 1, 2, 2, from the table's output sizes). The text twice calls
      the model "80-layer", but its table lists one block per width, and that already exceeds the paper's
      count; each further 512-wide block would add 4.75M parameters, so no 80-layer reading fits 5M.
    - biases: Keras' default (use_bias=True) on every conv and SE Dense layer.
    - SE reduction 16 (Hu et al.'s default; the paper gives none).
    - shortcut: "identity" where shapes agree; a 1x1 conv + BN where the width changes (blocks 2-4), since
      Keras cannot add tensors of different widths.
    - dropout: the paper tried p=0.5 during development but its final table has none: default 0.
    - Keras defaults are copied only where the parameter count or a number the paper states depends on them
      (conv biases; L2 1e-4 as coupled decay 2e-4 and Keras' ReduceLROnPlateau rule in pipelines/seed004.yaml).
      Defaults that change neither stay PyTorch's, as in the other four seeds: BatchNorm eps 1e-5 and
      momentum 0.1 (Keras: 1e-3 and 0.99, i.e. torch momentum 0.01), Kaiming-uniform initialisation (Keras:
      Glorot-uniform, zero biases) and Adam eps 1e-8 (Keras: 1e-7).
    """
    return build_seed("seed004", num_classes, dropout)
