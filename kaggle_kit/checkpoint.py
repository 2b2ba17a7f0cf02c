"""``model.pt``: weights plus everything needed to rebuild the model, loaded without unpickling code.

Saved as a plain dict of tensors, strings, numbers, lists and dicts, so ``torch.load(weights_only=True)``
reads it: a checkpoint someone hands you cannot run code on your machine.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Mapping

import torch

from kaggle_kit.errors import RunError
from kaggle_kit.fsio import atomic_write_bytes
from kaggle_kit.text import count_words


def atomic_torch_save(path: str | Path, obj: Any) -> Path:
    """``torch.save``, atomically. Serialized in memory first: torch reports a failed file write (a full disk, a
    file-size limit) as an opaque RuntimeError, while a plain write raises the OSError (ENOSPC, EFBIG) that the
    CLI turns into one line naming the file. Checkpoints of models under 5M parameters fit in memory twice."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    return atomic_write_bytes(path, buf.getbuffer())


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
    return atomic_torch_save(path, payload)


def _malformed(path: Path, what: str) -> RunError:
    return RunError(f"{path}: malformed kaggle-kit model checkpoint ({what}); retrain the run or restore model.pt")


def _type_name(value: Any) -> str:
    return type(value).__name__


def check_payload(payload: dict, path: str | Path) -> dict:
    """Every field ``load_model`` reads is present and of the right type; a one-line ``RunError`` naming
    ``path`` otherwise."""
    path = Path(path)
    name = payload.get("model_name")
    if not isinstance(name, str) or not name:
        raise _malformed(path, "missing 'model_name'" if "model_name" not in payload
                         else f"'model_name' is a {_type_name(name)}, not a non-empty string")
    kwargs = payload.get("model_kwargs")
    if "model_kwargs" not in payload:
        raise _malformed(path, "missing 'model_kwargs'")
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise _malformed(path, f"'model_kwargs' is a {_type_name(kwargs)}, not a dict of named arguments")
    classes = payload.get("class_names")
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) for c in classes):
        raise _malformed(path, "missing 'class_names'" if "class_names" not in payload
                         else "'class_names' is not a list of at least 2 class names")
    state = payload.get("state_dict")
    if not isinstance(state, dict) or not state:
        raise _malformed(path, "missing 'state_dict'" if "state_dict" not in payload
                         else f"'state_dict' is a {_type_name(state)}, not a non-empty dict of tensors")
    bad = [k for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise _malformed(path, f"'state_dict' entry {bad[0]!r} is not a named tensor")
    return payload


def load_checkpoint(path: str | Path) -> dict:
    """The checkpoint dict, read without unpickling code and checked field by field (``check_payload``)."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"{path}: no model checkpoint; train the run first (`kaggle-kit train`)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for corrupt or unsafe files
        raise RunError(f"{path}: not a loadable kaggle-kit checkpoint ({err.__class__.__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != "kaggle-kit/model/1":
        raise RunError(f"{path}: not a kaggle-kit model checkpoint (missing format tag)")
    return check_payload(payload, path)


def check_matches_config(payload: dict, path: str | Path, model_name: str, model_kwargs: Mapping[str, Any],
                         config_path: str | Path) -> None:
    """Refuse a checkpoint whose recorded architecture is not the one the run's config names: predicting with
    it would silently use another model than the run says it is."""
    def plain(value: Any) -> Any:  # config.yaml reads back as lists the tuples a checkpoint may keep
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        return [plain(v) for v in value] if isinstance(value, (list, tuple)) else value

    have_kwargs = plain(dict(payload.get("model_kwargs") or {}))
    want_kwargs = plain(dict(model_kwargs))
    if payload["model_name"] != model_name or have_kwargs != want_kwargs:
        def show(name: str, kwargs: dict) -> str:
            return name + (f" {kwargs}" if kwargs else "")
        raise RunError(f"{path}: saved for model {show(payload['model_name'], have_kwargs)}, but {config_path} "
                       f"says {show(model_name, want_kwargs)}; retrain the run or restore the matching files")


def _state_dict_problem(want: Mapping[str, torch.Tensor], have: Mapping[str, torch.Tensor]) -> str | None:
    """A short description of how ``have`` differs from the model's own state dict (None when it fits)."""
    missing = [k for k in want if k not in have]
    unexpected = [k for k in have if k not in want]
    if missing or unexpected:
        parts = ([f"{count_words(len(missing), 'missing key')}, e.g. {missing[0]}"] if missing else []) + (
            [f"{count_words(len(unexpected), 'unexpected key')}, e.g. {unexpected[0]}"] if unexpected else [])
        return "; ".join(parts)
    for k, v in want.items():
        if tuple(have[k].shape) != tuple(v.shape):
            return f"{k} has shape {list(have[k].shape)}, the model needs {list(v.shape)}"
    return None


def model_from_checkpoint(payload: dict, path: str | Path,
                          device: str | torch.device = "cpu") -> torch.nn.Module:
    """Rebuild the registered model a checked checkpoint names and load its weights (eval mode).

    The model is first built on the meta device and its state dict compared with the file's: only a model whose
    tensors the file itself holds is then allocated, so ``model_kwargs`` of width 1,000,000 in a small or
    hand-edited model.pt is refused, not turned into terabytes of allocation before the shapes are checked."""
    from kaggle_kit.errors import KitError
    from kaggle_kit.models import create_model

    path = Path(path)
    name = payload["model_name"]

    def build() -> torch.nn.Module:
        try:
            return create_model(name, num_classes=len(payload["class_names"]), **payload["model_kwargs"])
        except (KitError, TypeError, ValueError) as err:
            first = (str(err).splitlines() or [err.__class__.__name__])[0]
            raise _malformed(path, f"cannot rebuild model {name}: {first}") from None

    with torch.device("meta"):
        problem = _state_dict_problem(build().state_dict(), payload["state_dict"])
    if problem is None:
        model = build()
        try:
            model.load_state_dict(payload["state_dict"])
        except (RuntimeError, TypeError, ValueError) as err:
            problem = (str(err).strip().splitlines() or [err.__class__.__name__])[-1].strip()
    if problem is not None:
        raise RunError(f"{path}: weights do not fit model {name}: {problem}; retrain the run or restore model.pt")
    return model.to(device).eval()


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict]:
    """Rebuild the registered model and load its weights; returns (model in eval mode, checkpoint dict)."""
    payload = load_checkpoint(path)
    return model_from_checkpoint(payload, path, device), payload
