"""``timm/<arch>``: any convolutional timm architecture, randomly initialised, adapted to 32x32 inputs.

ImageNet stems shrink the input 4x (ResNet: 7x7 stride-2 conv + stride-2 max-pool; ConvNeXt: 4x4 stride-4
patchify) or 2x (EfficientNet, MobileNet, RegNet). On 32x32 images that leaves a 1x1 map after the last stage.
The adapter removes the stem's downsampling generically: the stem is every module timm registers before
its first feature stage of reduction >= 4 (``model.feature_info``); in it, stride-s convs become stride 1
(kernels above 3x3 become 3x3, padding 1) and strided max/avg pools become Identity. A meta-device forward
then checks the features are still a 2-D map of at least 2x2.

Supported (checked by tests or by hand): ResNet/ResNet-D/ResNeXt/SE-ResNet/Res2Net, RegNet, EfficientNet,
MobileNetV3, MixNet, FBNet, LCNet, GhostNet, ConvNeXt, DenseNet, DLA, CSPNet, RepVGG. Not supported:
transformers with patch and position embeddings (ViT, DeiT, Swin, LeViT...) and models without
``feature_info``; they raise UnsupportedModelError. Pretrained weights are never loaded.
"""
from __future__ import annotations

import difflib
from typing import Any

import torch
import torch.nn as nn

from kaggle_kit.config import check_model_argument
from kaggle_kit.errors import ConfigError, UnknownModelError, UnsupportedModelError

MIN_FEATURE_SIZE = 2  # the last feature map must stay at least this many pixels wide on a 32x32 input
INPUT_SIZE = 32


def is_timm_model(arch: str) -> bool:
    """Whether timm has the architecture ``arch`` (without the ``timm/`` prefix; offline, no download)."""
    import timm

    return timm.is_model(arch)


def close_timm_names(arch: str, n: int = 3, cutoff: float = 0.6) -> list[str]:
    """The timm architectures nearest ``arch``, as ``timm/<arch>`` names (for an unknown name's hint)."""
    import timm

    return ["timm/" + c for c in difflib.get_close_matches(arch, timm.list_models(), n=n, cutoff=cutoff)]


def check_timm_name(arch: str) -> None:
    """UnknownModelError with the closest timm names unless timm has ``arch``."""
    if not is_timm_model(arch):
        close = close_timm_names(arch)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise UnknownModelError(f"unknown timm architecture '{arch}'; {hint}`timm.list_models()` lists them")


def create_timm_model(arch: str, num_classes: int = 10, dropout: float | None = None, **kwargs: Any) -> nn.Module:
    """``timm.create_model(arch, pretrained=False, num_classes=...)`` + ``adapt_stem``; dropout -> drop_rate."""
    import timm

    check_timm_name(arch)
    user_kwargs = dict(kwargs)
    if dropout is not None:
        kwargs.setdefault("drop_rate", check_model_argument("dropout", dropout))
    try:
        model = timm.create_model(arch, pretrained=False, num_classes=num_classes, **kwargs)
    except TypeError as err:
        raise ConfigError(f"timm/{arch} rejected its arguments {sorted(kwargs)} ({err})") from None
    except Exception as err:  # noqa: BLE001 - timm checks kwargs with assert and dict lookups (global_pool: xyz,
        # act_layer: nope): a traceback for a typo in model.kwargs
        first = (str(err).strip().splitlines() or [""])[0]
        raise ConfigError(f"timm/{arch} rejected its arguments {sorted(kwargs)} "
                          f"({type(err).__name__}{': ' + first if first else ''})") from None
    try:
        adapt_stem(model, f"timm/{arch}")
    except UnsupportedModelError:
        if user_kwargs and _adapts_without_kwargs(arch, num_classes):
            raise ConfigError(f"timm/{arch} runs on 32x32 RGB images, but not with model.kwargs {user_kwargs}; "
                              f"remove or fix them") from None
        raise
    return model


def _adapts_without_kwargs(arch: str, num_classes: int) -> bool:
    """Whether the plain architecture adapts, so that a failure with kwargs (in_chans=1, features_only=True...)
    is blamed on the kwargs, not the architecture (built on the meta device: costs no memory)."""
    import timm

    try:
        with torch.device("meta"):
            adapt_stem(timm.create_model(arch, pretrained=False, num_classes=num_classes))
    except Exception:  # noqa: BLE001 - any failure means the architecture itself is the problem
        return False
    return True


def _stem_boundary(model: nn.Module, name: str) -> str:
    info = getattr(model, "feature_info", None)
    stages = [f["module"] for f in (info or []) if f.get("reduction", 0) >= 4]
    if not stages:
        raise UnsupportedModelError(f"{name}: timm gives no feature stages (feature_info) for it, so its stem "
                                    f"cannot be located; choose a convolutional family such as timm/resnet18")
    return stages[0]


def adapt_stem(model: nn.Module, name: str = "model") -> list[str]:
    """Remove the stem's downsampling in place; returns what was changed (for messages and tests)."""
    if hasattr(model, "patch_embed") or hasattr(model, "pos_embed"):
        raise UnsupportedModelError(f"{name}: a transformer with patch/position embeddings sized for its "
                                    f"training resolution is not adapted; choose a convolutional family")
    boundary = _stem_boundary(model, name)
    changes: list[str] = []
    for mod_name, module in list(model.named_modules()):
        if mod_name == boundary or mod_name.startswith(boundary + "."):
            break
        if isinstance(module, nn.Conv2d) and max(module.stride) > 1:
            if max(module.kernel_size) > 3:
                w = module.weight
                model.set_submodule(mod_name, nn.Conv2d(
                    module.in_channels, module.out_channels, 3, stride=1, padding=1, groups=module.groups,
                    bias=module.bias is not None, device=w.device, dtype=w.dtype))
                changes.append(f"{mod_name}: {module.kernel_size[0]}x{module.kernel_size[1]} stride "
                               f"{module.stride[0]} conv -> 3x3 stride 1")
            else:
                changes.append(f"{mod_name}: stride {module.stride[0]} conv -> stride 1")
                module.stride = (1, 1)
        elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)) and _stride(module) > 1:
            model.set_submodule(mod_name, nn.Identity())
            changes.append(f"{mod_name}: {type(module).__name__} -> Identity")
    if not changes:
        raise UnsupportedModelError(f"{name}: found no strided conv or pool before '{boundary}' to adapt")
    _check_feature_map(model, name)
    return changes


def _stride(pool: nn.Module) -> int:
    s = pool.stride
    return max(s) if isinstance(s, (tuple, list)) else int(s)


def _check_feature_map(model: nn.Module, name: str) -> None:
    param = next(iter(model.parameters()))
    x = torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE, device=param.device, dtype=param.dtype)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            feats = model.forward_features(x)
    except Exception as err:  # any failure here means the architecture cannot take a 32x32 input
        raise UnsupportedModelError(f"{name}: does not run on 32x32 inputs after adapting its stem "
                                    f"({type(err).__name__}); choose a convolutional family such as "
                                    f"timm/resnet18") from None
    finally:
        model.train(was_training)
    channels = getattr(model, "num_features", None)
    if feats.ndim != 4:
        raise UnsupportedModelError(f"{name}: its features are tokens {tuple(feats.shape)}, not a 2-D map; "
                                    f"transformers are not adapted, choose a convolutional family")
    size = feats.shape[1:3] if feats.shape[-1] == channels and feats.shape[1] != channels else feats.shape[2:]
    if min(size) < MIN_FEATURE_SIZE:
        raise UnsupportedModelError(f"{name}: its last feature map is {size[0]}x{size[1]} on 32x32 inputs "
                                    f"even after adapting the stem; choose a shallower architecture")
