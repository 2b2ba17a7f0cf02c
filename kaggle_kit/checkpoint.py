"""``model.pt``: weights plus everything needed to rebuild the model, loaded without unpickling code.

Saved as a plain dict of tensors, strings, numbers, lists and dicts, so ``torch.load(weights_only=True)``
reads it: a checkpoint someone hands you cannot run code on your machine.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch

from kaggle_kit.errors import RunError
from kaggle_kit.fsio import atomic_path


def save_model(path: str | Path, model: torch.nn.Module, *, model_name: str, model_kwargs: Mapping[str, Any],
               class_names: list[str], config: Mapping[str, Any], metrics: Mapping[str, Any] = ()) -> Path:
    """Write the weights (unwrapped from DDP / torch.compile / EMA wrappers) atomically."""
    module = getattr(model, "module", model)
    module = getattr(module, "_orig_mod", module)
    payload = {
        "format": "kaggle-kit/model/1",
        "model_name": model_name,
        "model_kwargs": dict(model_kwargs),
        "class_names": list(class_names),
        "config": dict(config),
        "metrics": dict(metrics),
        "state_dict": {k: v.detach().cpu() for k, v in module.state_dict().items()},
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def load_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise RunError(f"{path}: no model checkpoint; train the run first (`kaggle-kit train`)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for corrupt or unsafe files
        raise RunError(f"{path}: not a loadable kaggle-kit checkpoint ({err.__class__.__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != "kaggle-kit/model/1":
        raise RunError(f"{path}: not a kaggle-kit model checkpoint (missing format tag)")
    return payload


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict]:
    """Rebuild the registered model and load its weights; returns (model in eval mode, checkpoint dict)."""
    from kaggle_kit.models import create_model

    payload = load_checkpoint(path)
    model = create_model(payload["model_name"], num_classes=len(payload["class_names"]),
                         **payload["model_kwargs"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise RunError(f"{path}: weights do not fit model {payload['model_name']}: {first}") from None
    return model.to(device).eval(), payload
