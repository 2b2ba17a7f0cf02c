"""Model registry: ``@register_model`` builders looked up by name, as timm does.

Why a registry: pipelines, checkpoints and the CLI refer to models by a string, so a checkpoint can be rebuilt
from ``model_name`` + ``model_kwargs`` alone and a typo fails at once with the closest names, not deep in
training. ``timm/<arch>`` names are delegated to ``timm_adapter``. A builder argument named ``width`` or ``dropout``
means what ``config.MODEL_ARGUMENTS`` says (channels of the first 3x3 convolution; a dropout probability), and
config checks it at load with that rule.
"""
from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass
from typing import Any, Callable

import torch.nn as nn

from kaggle_kit.errors import ConfigError, PretrainedWeightsError, UnknownModelError

TIMM_PREFIX = "timm/"
# keyword arguments that would load weights from outside the run: the competition forbids pretrained weights
WEIGHT_LOADING_KWARGS = ("pretrained", "checkpoint_path", "pretrained_cfg", "pretrained_cfg_overlay")


@dataclass(frozen=True)
class ModelEntry:
    name: str
    builder: Callable[..., nn.Module]
    description: str              # first line of the builder's docstring
    kwargs: tuple[str, ...]       # keyword arguments the builder accepts besides num_classes


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(fn: Callable[..., nn.Module] | None = None, *, name: str | None = None):
    """Register ``fn(num_classes=10, **kw) -> nn.Module`` under ``name`` (default: the function's name).

    Usable bare (``@register_model``) or with a name (``@register_model(name="x")``).
    """
    def decorate(f: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        key = name or f.__name__
        if key.startswith(TIMM_PREFIX):
            raise ValueError(f"model names starting with {TIMM_PREFIX!r} are reserved for timm architectures")
        if key in _REGISTRY:
            raise ValueError(f"model {key!r} is registered twice")
        params = inspect.signature(f).parameters
        if "num_classes" not in params:
            raise ValueError(f"model builder {key!r} must take num_classes")
        accepted = tuple(p for p in params if p != "num_classes")
        doc = inspect.getdoc(f) or ""
        _REGISTRY[key] = ModelEntry(key, f, doc.splitlines()[0] if doc else "", accepted)
        return f

    return decorate(fn) if fn is not None else decorate


def list_models() -> list[str]:
    """Registered model names, sorted (timm architectures are reachable as ``timm/<arch>`` too)."""
    return sorted(_REGISTRY)


def model_entry(name: str) -> ModelEntry:
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list_models(), n=3, cutoff=0.5)
        from kaggle_kit.models.timm_adapter import close_timm_names, is_timm_model

        if is_timm_model(name):  # `resnet18`, `efficientnet_b0`: timm has it under the timm/ prefix
            close = [TIMM_PREFIX + name, *close]
        else:  # `resnt18` is nearer timm's resnet18 than resnet8: offer timm's names nearer than every registered one
            best = max((difflib.SequenceMatcher(None, name, c).ratio() for c in close), default=0.0)
            close += close_timm_names(name, n=2, cutoff=max(0.8, best + 1e-9))
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise UnknownModelError(f"unknown model '{name}'; {hint}`kaggle-kit models` lists the registered ones, "
                                f"and any timm architecture works as timm/<arch>") from None


def refuse_weight_loading(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Drop harmless ``pretrained=False``; refuse any request for outside weights."""
    kwargs = dict(kwargs)
    for key in WEIGHT_LOADING_KWARGS:
        if key not in kwargs:
            continue
        value = kwargs.pop(key)
        if value:
            raise PretrainedWeightsError(
                f"model {name}: {key}={value!r} would load outside weights, which the competition forbids; "
                f"remove it (models always start from random initialisation)")
    return kwargs


def create_model(name: str, num_classes: int = 10, **kwargs: Any) -> nn.Module:
    """Build a registered model or ``timm/<arch>`` with random weights.

    Unknown names raise UnknownModelError with the closest matches; keyword arguments the builder does not
    take raise ConfigError listing the ones it does; ``dropout=None`` means the paper's default.
    """
    if not isinstance(name, str) or not name:
        raise UnknownModelError(f"model name must be a non-empty string, got {name!r}")
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 2:
        raise ConfigError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    kwargs = refuse_weight_loading(name, kwargs)
    if name.startswith(TIMM_PREFIX):
        from kaggle_kit.models.timm_adapter import create_timm_model

        return create_timm_model(name[len(TIMM_PREFIX):], num_classes=num_classes, **kwargs)
    entry = model_entry(name)
    unknown = sorted(set(kwargs) - set(entry.kwargs))
    if unknown:
        accepted = ", ".join(entry.kwargs) or "none"
        raise ConfigError(f"model {name} does not accept {', '.join(unknown)}; it accepts: {accepted}")
    return entry.builder(num_classes=num_classes, **kwargs)
