"""Pipeline configuration: YAML files loaded into frozen, validated dataclasses.

Why dataclasses and not a schema library: the sections are small, the checks we need (unknown keys with the
valid ones listed, type coercion of YAML scalars, dotted ``--set`` overrides) fit in one page, and every
stage receives only its own frozen section. Units are in field names or comments.
"""
from __future__ import annotations

import collections.abc
import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from kaggle_kit.errors import ConfigError

COMPETITION_SLUG = "deep-learning-spring-2025-project-1"


# ----------------------------------------------------------------------------------------------- sections
@dataclass(frozen=True)
class DataConfig:
    holdout_size: int = 5000          # images of the 50,000 training images kept out for evaluation
    holdout_seed: int = 0             # seed of the stratified holdout split
    train_subset: int | None = None   # train on this many (stratified) images only: demos and tests
    test_subset: int | None = None    # evaluate on this many CIFAR-10 test images only: demos and tests
    comp_subset: int | None = None    # predict this many competition images only (never for a real submission)


@dataclass(frozen=True)
class ModelConfig:
    name: str = "seed000"
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    max_params: int = 5_000_000       # trainable parameters allowed by the competition


@dataclass(frozen=True)
class OptimizerConfig:
    name: str = "sgd"                 # sgd | adam | adamw
    lr: float = 0.1                   # peak learning rate
    momentum: float = 0.9             # sgd only
    nesterov: bool = False            # sgd only
    betas: tuple[float, float] = (0.9, 0.999)  # adam/adamw only
    weight_decay: float = 5e-4
    decay_norm_and_bias: bool = False  # False: no weight decay on BatchNorm weights and biases


@dataclass(frozen=True)
class ScheduleConfig:
    name: str = "cosine"              # constant | cosine | warmup_linear | cosine_restarts | step | onecycle
    warmup_epochs: float = 0.0        # linear warm-up from lr*warmup_start_factor
    warmup_start_factor: float = 0.1
    min_lr: float = 0.0               # floor for cosine / linear decay
    restart_epochs: int = 10          # cosine_restarts: first cycle length (epochs)
    restart_mult: int = 1             # cosine_restarts: cycle length multiplier
    milestones: tuple[int, ...] = ()  # step: epochs at which lr is multiplied by gamma
    gamma: float = 0.1                # step: decay factor
    plateau_patience: int = 0         # > 0: also reduce lr by plateau_factor when holdout loss stalls this many epochs
    plateau_factor: float = 0.5
    onecycle_pct_start: float = 0.25  # onecycle: fraction of steps spent rising


@dataclass(frozen=True)
class AugmentConfig:
    preset: str = "standard"          # a name from kaggle_kit.augment presets
    mixup_alpha: float = 0.0          # > 0 enables Mixup with Beta(alpha, alpha)
    cutmix_alpha: float = 0.0         # > 0 enables CutMix with Beta(alpha, alpha)
    mix_prob: float = 1.0             # probability a batch is mixed when mixup/cutmix is on
    gpu: str = "auto"                 # auto | on | off: batched tensor path when the preset allows it


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    batch_size: int = 128             # per process
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    label_smoothing: float = 0.0
    ema_decay: float | None = None    # per-step EMA of weights; None disables
    grad_clip_norm: float | None = None
    dropout: float | None = None      # passed to models that accept it; None keeps the model's default
    seed: int = 0
    deterministic: bool = False       # torch deterministic algorithms (slower)
    compile: bool = False             # torch.compile the model
    channels_last: bool = True
    amp: bool = True                  # bf16 autocast on CUDA; ignored on CPU
    num_workers: int = 0              # CPU augmentation worker processes
    eval_every_epochs: int = 1
    select_best: bool = False         # model.pt = best holdout epoch (True) or last epoch (False)


@dataclass(frozen=True)
class PredictConfig:
    tta: str = "flip"                 # none | flip | flip+translate | custom
    views: tuple[str, ...] = ()       # custom: view names, e.g. ("identity", "hflip", "shift:1,0")
    average: str = "logits"           # logits | probs
    batch_size: int = 1000            # images per forward pass, all views of them together
    pad: str = "reflect"              # reflect | zeros: border fill of shifted views (zeros = mean colour)


@dataclass(frozen=True)
class MemberConfig:
    """One ensemble member: overrides (dotted keys) applied to the pipeline's train/model sections."""
    name: str = "m0"
    set: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EnsembleConfig:
    method: str = "mean_probs"        # mean_probs | mean_logits | weighted | vote


@dataclass(frozen=True)
class SubmitConfig:
    competition: str = COMPETITION_SLUG
    message: str = ""
    upload: str = "auto"              # auto: upload when credentials exist, else dry run | never | always
    force: bool = False               # upload even when the same sha256 is already in the ledger


@dataclass(frozen=True)
class ReportConfig:
    enabled: bool = True
    domain_max_images: int = 5000     # images per side fed to the domain classifier
    synthetic_per_set: int = 300      # holdout images per corruption x severity for CC-Synth; 0 = off


@dataclass(frozen=True)
class PipelineConfig:
    name: str = "pipeline"
    stages: tuple[str, ...] = ("data", "train", "predict", "ensemble", "submission", "upload", "sync", "report")
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    predict: PredictConfig = field(default_factory=PredictConfig)
    members: tuple[MemberConfig, ...] = ()
    ensemble: EnsembleConfig = field(default_factory=EnsembleConfig)
    submit: SubmitConfig = field(default_factory=SubmitConfig)
    report: ReportConfig = field(default_factory=ReportConfig)


# ------------------------------------------------------------------------------------- generic machinery
def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check and convert one YAML value to the annotated type; raise ConfigError naming ``where``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if errors else f"{where}: null is not allowed")
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, found {type(value).__name__} {value!r}")
        return from_dict(tp, value, where)
    if origin is tuple:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, found {type(value).__name__} {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ConfigError(f"{where}: expected {len(args)} items, found {len(value)}")
        return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if origin in (collections.abc.Mapping, dict) or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, found {type(value).__name__} {value!r}")
        return types.MappingProxyType(dict(value))
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false, found {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{where}: expected an integer, found {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{where}: expected a number, found {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: expected a string, found {value!r}")
    raise ConfigError(f"{where}: unsupported type {_type_name(tp)}")  # pragma: no cover


def from_dict(cls: type, data: Mapping[str, Any], where: str = "") -> Any:
    """Build a frozen dataclass from a mapping; unknown keys are errors that list the valid ones."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in data if k not in names]
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(f"unknown key '{prefix}{unknown[0]}' (valid keys: {', '.join(names)})")
    kwargs = {}
    for key, value in data.items():
        kwargs[key] = _coerce(value, hints[key], f"{where}.{key}" if where else key)
    return cls(**kwargs)


def to_dict(obj: Any) -> Any:
    """Plain JSON/YAML-ready form of a config (tuples become lists, mappings dicts)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (tuple, list)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, Mapping):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def parse_override(text: str) -> tuple[str, Any]:
    """``train.epochs=5`` -> ("train.epochs", 5); the value is read as YAML so types come out right."""
    if "=" not in text:
        raise ConfigError(f"override '{text}' must look like key.path=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"override '{text}' has an empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key, value


def apply_overrides(data: dict, overrides: Mapping[str, Any] | list[str]) -> dict:
    """Return a deep copy of ``data`` with dotted-key overrides set (validation happens in from_dict)."""
    out = json.loads(json.dumps(data, default=list))
    items = overrides.items() if isinstance(overrides, Mapping) else (parse_override(o) for o in overrides)
    for key, value in items:
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"override '{key}': '{part}' is not a section")
            node = child
        node[parts[-1]] = value
    return out


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such pipeline file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{at}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, found {type(data).__name__}")
    return data


def load_pipeline(path: str | Path, overrides: list[str] | Mapping[str, Any] = ()) -> PipelineConfig:
    """Load, override and validate a pipeline; errors name the file and the offending key."""
    data = apply_overrides(load_yaml(path), overrides)
    data.setdefault("name", Path(path).stem)
    try:
        return from_dict(PipelineConfig, data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def config_hash(obj: Any, length: int = 7) -> str:
    """Stable short hash of a config (or any JSON-able value): names runs and keys the stage cache."""
    blob = json.dumps(to_dict(obj), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]
