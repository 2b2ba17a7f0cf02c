"""Pipeline configuration: YAML files loaded into frozen, validated dataclasses.

Why dataclasses and not a schema library: the sections are small, the checks we need (unknown keys with the
valid ones listed, type coercion of YAML scalars, dotted ``--set`` overrides) fit in one page, and every
stage receives only its own frozen section. Units are in field names or comments.
"""
from __future__ import annotations

import collections.abc
import dataclasses
import datetime
import hashlib
import json
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from kaggle_kit.errors import ConfigError, UsageError

COMPETITION_SLUG = "deep-learning-spring-2025-project-1"

# The values choice fields accept, defined here (config imports no torch) and imported by the modules that act
# on them, so a config is checked against exactly what those modules accept.
OPTIMIZERS = ("sgd", "adam", "adamw")                                                          # train/optim.py
SCHEDULES = ("constant", "cosine", "warmup_linear", "cosine_restarts", "step", "onecycle")     # train/schedule.py
AUGMENT_GPU = ("auto", "on", "off")                                                            # train/loop.py
SELECT_BY = ("holdout_accuracy", "holdout_loss")                                               # train/loop.py
TTA_LEVELS = ("none", "flip", "flip+translate", "custom")                                      # tta.py
TTA_AVERAGES = ("logits", "probs")                                                             # tta.py
TTA_PADS = ("reflect", "zeros")                                                                # tta.py
ENSEMBLE_METHODS = ("mean_probs", "mean_logits", "weighted", "vote")                           # ensemble.py
KERNEL_GPUS = ("t4x2", "t4", "none")                                                           # kernels.py
UPLOAD_MODES = ("auto", "never", "always")                                                     # upload.py
STAGES = ("data", "train", "predict", "ensemble", "submission", "upload", "sync", "report")     # pipeline.py
CIFAR10_TRAIN_IMAGES = 50_000
CIFAR10_TEST_IMAGES = 10_000
CIFAR10_CLASSES = 10
# The competition's rule: models under 5 million parameters, i.e. fewer than 5,000,000 trainable parameters (a
# model of exactly 5,000,000 is not under it). model.max_params is that limit, exclusive; it may be set lower,
# never higher: a higher value would let a model that breaks the rule train and be submitted.
COMPETITION_MAX_PARAMS = 5_000_000
# Metadata of settings added after runs were keyed by their configs: such a setting is left out of every key
# (``config_hash``, the training key, the recipe keys) while it holds its default, so a config that does not use
# it keys as it did before the setting existed, and its finished runs are still found and reused.
KEYED_WHEN_SET = types.MappingProxyType({"keyed_when_set": True})


def budget_relation(params: int, limit: int) -> str | None:
    """None when ``params`` is under ``limit``, else how it misses: "over", or "not under" for exactly the limit
    (the competition allows models "under 5 million parameters", so 5,000,000 is out)."""
    return None if params < limit else ("over" if params > limit else "not under")


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
    max_params: int = COMPETITION_MAX_PARAMS  # a model must have fewer trainable parameters than this (<= 5,000,000)


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
    amp: bool = True                  # CUDA autocast: bf16 where the GPU has it, else fp16 + grad scaler (T4); CPU: off
    num_workers: int = 0              # CPU augmentation worker processes
    eval_every_epochs: int = 1
    select_best: bool = False         # model.pt = best holdout epoch (True) or last epoch (False)
    # holdout_accuracy | holdout_loss: what "best" means, for select_best and for early stopping; the loss is the
    # holdout's mean cross-entropy without label smoothing, and lower is better
    select_by: str = field(default="holdout_accuracy", metadata=KEYED_WHEN_SET)
    # stop once the select_by metric has not improved for this many epochs (Keras EarlyStopping); None: off
    early_stop_patience_epochs: int | None = field(default=None, metadata=KEYED_WHEN_SET)
    # True: the holdout loss (metrics.csv, select_by: holdout_loss, early stopping, reduce-on-plateau) adds the L2
    # penalty whose gradient sgd/adam's coupled weight decay is, weight_decay/2 * sum(w^2) over the decayed
    # parameters, as Keras' val_loss adds its kernel regularisers' losses (seed004)
    holdout_loss_adds_l2: bool = field(default=False, metadata=KEYED_WHEN_SET)


@dataclass(frozen=True)
class PredictConfig:
    tta: str = "flip"                 # none | flip | flip+translate | custom
    views: tuple[str, ...] = ()       # custom: view names, e.g. ("identity", "hflip", "shift:1,0")
    average: str = "logits"           # logits | probs
    batch_size: int = 1000            # images per forward pass, all views of them together
    pad: str = "reflect"              # reflect | zeros: border fill of shifted views (zeros = mean colour)
    # True: the competition's logits come from a copy of the model whose BatchNorm statistics were re-estimated on
    # the competition images themselves (``bn_adapt``); the holdout's and the test set's keep the trained ones
    adapt_bn: bool = field(default=False, metadata=KEYED_WHEN_SET)
    # True: a BatchNorm model whose competition logits keep the trained statistics also gets a class-balanced
    # adapted copy's competition logits (logits_comp_reference.npz), for the report's Ref-EM, Ref-Avg, COT-Gated,
    # Ref-Avg-Shrunk, Ref-Prior, Ref-Mix, Ref-Split, Ref-Sep, Ref-Hedge, Ref-Parts, Ref-Doubt, Ref-Stack and
    # Ref-Stack-Gated estimates; about 8 more plain passes over the competition images
    bn_reference: bool = field(default=True, metadata=KEYED_WHEN_SET)


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
    stages: tuple[str, ...] = STAGES
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


def _show(value: Any) -> str:
    """A found value as the message shows it: repr, except for what YAML made of an unquoted scalar."""
    if isinstance(value, datetime.datetime):
        return f"the date-time {value.isoformat(sep=' ')}"
    if isinstance(value, datetime.date):
        return f"the date {value.isoformat()}"
    return repr(value)


def _not_a_string(value: Any) -> str:
    """What a str field got instead, with the fix when YAML turned an unquoted scalar into something else."""
    if value is None:
        return "got null (give a value, quoted if it is empty: '')"
    if isinstance(value, bool):
        return (f"got the boolean {str(value).lower()} (YAML reads unquoted yes/no/on/off/true/false as booleans; "
                f"quote it)")
    if isinstance(value, datetime.datetime):
        return f"got a date-time {value.isoformat(sep=' ')} (quote it)"
    if isinstance(value, datetime.date):
        return f"got a date {value.isoformat()} (quote it)"
    if isinstance(value, int):
        return f"got an integer {value} (quote it)"
    if isinstance(value, float):
        return f"got a number {value!r} (quote it)"
    return f"found {type(value).__name__} {value!r}"


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
            raise ConfigError(f"{where}: expected a mapping, found {type(value).__name__} {_show(value)}")
        return from_dict(tp, value, where)
    if origin is tuple:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, found {type(value).__name__} {_show(value)}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ConfigError(f"{where}: expected {len(args)} items, found {len(value)}")
        return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if origin in (collections.abc.Mapping, dict) or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, found {type(value).__name__} {_show(value)}")
        if args and args[0] is str:
            bad = [k for k in value if not isinstance(k, str)]
            if bad:
                raise ConfigError(f"{where}: keys must be strings, found {_show(bad[0])} (quote it)")
        return types.MappingProxyType(dict(value))
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false, found {_show(value)}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{where}: expected an integer, found {_show(value)}")
    if tp is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value) if not isinstance(value, int) or abs(value) < 2**1023 else math.inf
        elif isinstance(value, str):  # YAML 1.1 reads 1e-3 as a string
            try:
                number = float(value)
            except ValueError:
                pass
        if number is None:
            raise ConfigError(f"{where}: expected a number, found {_show(value)}")
        if not math.isfinite(number):
            raise ConfigError(f"{where}: expected a finite number, found {value!r}")
        return number
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: expected a string, {_not_a_string(value)}")
    raise ConfigError(f"{where}: unsupported type {_type_name(tp)}")  # pragma: no cover


# ------------------------------------------------------------------------------------------- value rules
# A rule returns None when the value is fine, else what it must be ("> 0", "one of a, b"). from_dict applies
# them to every section it builds, so a bad value fails at load, naming its key, before data or training.
Rule = Callable[[Any], "str | None"]


def _fmt(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _between(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
             hi_open: bool = False) -> Rule:
    """lo <= v <= hi (or < where open); NaN never passes."""
    if lo is not None and hi is not None:
        need = f"in {'(' if lo_open else '['}{_fmt(lo)}, {_fmt(hi)}{')' if hi_open else ']'}"
    elif lo is not None:
        need = f"{'>' if lo_open else '>='} {_fmt(lo)}"
    else:
        need = f"{'<' if hi_open else '<='} {_fmt(hi)}"

    def rule(v: Any) -> str | None:
        ok = ((lo is None or (v > lo if lo_open else v >= lo))
              and (hi is None or (v < hi if hi_open else v <= hi)))
        return None if ok else need

    return rule


def _count(lo: int, hi: int, why: str) -> Rule:
    """lo <= v <= hi, said as ">= lo" below and as "<= hi (why)" above: the upper bound only catches typos."""
    low = _between(lo)
    return lambda v: low(v) or (None if v <= hi else f"<= {hi:,} ({why})")


def _one_of(choices: tuple[str, ...]) -> Rule:
    return lambda v: None if v in choices else f"one of {', '.join(choices)}"


# Names become parts of file and folder names (runs/<time>-<pipeline>-<member>-<hash>, .<pipeline>.lock,
# <pipeline>.timings.json): each at most this many UTF-8 bytes keeps every such name under the 255 a file system
# allows.
MAX_NAME_BYTES = 100


def _plain_name(v: str) -> str | None:
    """Names that become folder and file names: non-empty, no path separators or control characters (a NUL, a
    newline), not . or .., and short enough for the file names built from them."""
    bad = (not v.strip() or any(c in v for c in "/\\") or v in (".", "..")
           or any(ord(c) < 32 or ord(c) == 127 for c in v)
           or _name_bytes(v) > MAX_NAME_BYTES)
    return (f"a plain name (non-empty, at most {MAX_NAME_BYTES} bytes, no / or \\ or control characters, "
            f"not . or ..)") if bad else None


def _name_bytes(v: str) -> int:
    """The bytes ``v`` takes in a file name. A name read from a file name or argument under ``LC_ALL=C`` holds each
    non-ASCII byte as one surrogate (U+DC80-U+DCFF), which the file system gets back as that one byte: counted as
    3 (surrogatepass), 'é' * 50 (100 bytes) was refused as over 100 there and only there."""
    try:
        return len(v.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:  # another lone surrogate (YAML's "\\ud800"): no file name holds it as one byte
        return len(v.encode("utf-8", "surrogatepass"))


# Kaggle competition slugs: words of ASCII letters and digits joined by single hyphens (older competitions keep
# capitals, e.g. LANL-Earthquake-Prediction); the one rule for pipelines and for `submit --competition`.
SLUG_PATTERN = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
MAX_SLUG = 100


def slug_problem(v: str) -> str | None:
    """None for a valid competition slug, else what it must be."""
    ok = bool(v) and len(v) <= MAX_SLUG and SLUG_PATTERN.fullmatch(v) is not None
    return None if ok else "a Kaggle competition slug (letters and digits joined by single hyphens)"


def _holdout_size(v: int) -> str | None:
    """0 (no holdout), or a stratified split with every class on both sides (sklearn refuses less)."""
    lo, hi = CIFAR10_CLASSES, CIFAR10_TRAIN_IMAGES - CIFAR10_CLASSES
    return None if v == 0 or lo <= v <= hi else f"0 (no holdout) or in [{lo}, {hi}]"


def _max_params(v: int) -> str | None:
    return None if 1 <= v <= COMPETITION_MAX_PARAMS else \
        f"in [1, {COMPETITION_MAX_PARAMS:,}] (models must stay under the competition's {COMPETITION_MAX_PARAMS:,} parameters)"


def subset_problem(v: int, total: int) -> str | None:
    """A stratified subset of ``total`` images: every class in it and in the rest, or all of them."""
    lo, hi = CIFAR10_CLASSES, total - CIFAR10_CLASSES
    return None if lo <= v <= hi or v >= total else f"in [{lo}, {hi}] or >= {total} (all)"


# Upper bounds that catch a typo (epochs: 20000000, num_workers: 512) at load, not hours into a run or as a machine
# out of processes; generous on purpose, never to block a real run:
# - long published CIFAR-10 schedules (AutoAugment's Shake-Shake and PyramidNet runs) are 1,800 epochs, and
#   10,000 is over five times that;
# - each worker is a whole Python process; 256 is as many CPU cores as the largest two-socket machines have
#   (2 x 128), and CIFAR-10's augmentation keeps a GPU busy with a handful.
MAX_EPOCHS = 10_000
MAX_NUM_WORKERS = 256
_UNIT, _POSITIVE, _AT_LEAST_1, _NON_NEGATIVE = _between(0, 1, hi_open=True), _between(0, lo_open=True), \
    _between(1), _between(0)
_SEED = _between(0, 2**32 - 1)  # what numpy and sklearn accept as a seed
# The toolkit's model arguments, read and bounded as config keys are, wherever they come from (model.kwargs in a file
# or a --set, train.dropout, a checkpoint's model_kwargs, a library call to create_model): stated here once. A
# registered builder that takes one of these names means this by it. Width: int() quietly built width 2 from 2.7 and
# width 1 from true; a whole float (16.0) is its integer, so runs trained with one still load. Dropout: float() made
# true 1.0, a layer that zeroes every feature (torch itself refuses only values outside [0, 1]).
# A width's upper bound only catches typos (width: 1e30 was a torch overflow error several lines long): wider, the
# first 3x3 convolution of the 3 colour channels alone (27 weights per channel) would reach the parameter budget.
MAX_WIDTH = (COMPETITION_MAX_PARAMS - 1) // 27
MODEL_ARGUMENTS: dict[str, tuple[type, Rule]] = {
    "width": (int, _count(1, MAX_WIDTH, "wider, a 3x3 convolution of the 3 colour channels alone is over the "
                                        "parameter budget")),
    "dropout": (float, _UNIT)}
_RULES: dict[type, dict[str, Rule]] = {
    # the holdout and the train/test subsets are stratified: at least one image of each class
    DataConfig: {"holdout_size": _holdout_size, "holdout_seed": _SEED, "comp_subset": _AT_LEAST_1,
                 "train_subset": _between(CIFAR10_CLASSES),
                 "test_subset": lambda v: subset_problem(v, CIFAR10_TEST_IMAGES)},
    ModelConfig: {"name": lambda v: None if v.strip() else "a model name", "max_params": _max_params},
    OptimizerConfig: {"name": _one_of(OPTIMIZERS), "lr": _POSITIVE, "momentum": _UNIT, "betas": _UNIT,
                      "weight_decay": _NON_NEGATIVE},
    ScheduleConfig: {"name": _one_of(SCHEDULES), "warmup_epochs": _NON_NEGATIVE,
                     "warmup_start_factor": _between(0, 1), "min_lr": _NON_NEGATIVE,
                     "restart_epochs": _AT_LEAST_1, "restart_mult": _AT_LEAST_1, "milestones": _AT_LEAST_1,
                     "gamma": _between(0, 1, lo_open=True), "plateau_patience": _NON_NEGATIVE,
                     "plateau_factor": _between(0, 1, lo_open=True),
                     "onecycle_pct_start": _between(0, 1, lo_open=True, hi_open=True)},
    AugmentConfig: {"mixup_alpha": _NON_NEGATIVE, "cutmix_alpha": _NON_NEGATIVE, "mix_prob": _between(0, 1),
                    "gpu": _one_of(AUGMENT_GPU)},
    TrainConfig: {"epochs": _count(1, MAX_EPOCHS, "longer than any CIFAR-10 schedule"), "batch_size": _AT_LEAST_1,
                  "label_smoothing": _UNIT, "ema_decay": _UNIT,
                  "grad_clip_norm": _POSITIVE, "dropout": MODEL_ARGUMENTS["dropout"][1], "seed": _SEED,
                  "num_workers": _count(0, MAX_NUM_WORKERS, "processes; more than any machine's CPU cores"),
                  "eval_every_epochs": _AT_LEAST_1, "select_by": _one_of(SELECT_BY),
                  "early_stop_patience_epochs": _AT_LEAST_1},
    PredictConfig: {"tta": _one_of(TTA_LEVELS), "average": _one_of(TTA_AVERAGES), "batch_size": _AT_LEAST_1,
                    "pad": _one_of(TTA_PADS)},
    MemberConfig: {"name": _plain_name},
    EnsembleConfig: {"method": _one_of(ENSEMBLE_METHODS)},
    SubmitConfig: {"competition": slug_problem, "upload": _one_of(UPLOAD_MODES)},
    ReportConfig: {"domain_max_images": _between(5), "synthetic_per_set": _NON_NEGATIVE},  # 5-fold domain CV
    PipelineConfig: {"name": _plain_name, "stages": _one_of(STAGES)},
}


def _key(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _breaks_rule(key: str, need: str, value: Any) -> ConfigError:
    return ConfigError(f"{key}: must be {need}, found {_show(value)}")


def _check_values(obj: Any, where: str) -> None:
    """Apply the section's rules (element-wise to tuples), then its cross-field checks."""
    for name, rule in _RULES.get(type(obj), {}).items():
        value = getattr(obj, name)
        items = enumerate(value) if isinstance(value, tuple) else [(None, value)]
        for i, v in items:
            if v is None:
                continue
            need = rule(v)
            if need is not None:
                raise _breaks_rule(_key(where, name) + ("" if i is None else f"[{i}]"), need, v)
    _check_combinations(obj, where)


def check_model_argument(name: str, value: Any, key: str | None = None) -> Any:
    """``value`` of the model argument ``name`` (``MODEL_ARGUMENTS``) read as a config key of its type is (16.0 is
    the integer 16), else ConfigError naming ``key`` (default: ``name``) and the value, worded as every key's."""
    tp, rule = MODEL_ARGUMENTS[name]
    key = key or name
    value = _coerce(value, tp, key)
    need = rule(value)
    if need is not None:
        raise _breaks_rule(key, need, value)
    return value


def check_max_params(value: Any, key: str = "model.max_params") -> int:
    """``value`` as a ``model.max_params`` (an integer in [1, COMPETITION_MAX_PARAMS]), else ConfigError worded as
    the config's own: the one rule, so a library caller cannot raise the budget above the competition's either."""
    value = _coerce(value, int, key)
    need = _max_params(value)
    if need is not None:
        raise _breaks_rule(key, need, value)
    return value


def check_model_kwargs(name: str, kwargs: Mapping[str, Any]) -> None:
    """Check the ``MODEL_ARGUMENTS`` among a model's kwargs, naming each ``model.kwargs.<arg>``. For a registered
    model only the arguments its builder takes (the others are refused as unknown); ``timm/`` models take dropout
    (their drop_rate)."""
    from kaggle_kit.models import TIMM_PREFIX, model_entry  # imports torch: called where a model is about to be built

    accepted = ("dropout",) if name.startswith(TIMM_PREFIX) else model_entry(name).kwargs
    for arg in MODEL_ARGUMENTS:
        if arg in kwargs and arg in accepted:
            check_model_argument(arg, kwargs[arg], f"model.kwargs.{arg}")


def model_kwargs(cfg: PipelineConfig) -> dict[str, Any]:
    """The keyword arguments a run's model is built with, and its checkpoint records: model.kwargs, with
    train.dropout as ``dropout`` when set (training builds with them, predict compares a model.pt with them)."""
    kwargs = dict(cfg.model.kwargs)
    if cfg.train.dropout is not None:
        kwargs["dropout"] = cfg.train.dropout
    return kwargs


def _check_combinations(obj: Any, where: str) -> None:
    """Rules that involve two fields of one section (or two sections of a pipeline)."""
    if isinstance(obj, OptimizerConfig) and obj.name == "sgd" and obj.nesterov and obj.momentum == 0:
        raise ConfigError(f"{_key(where, 'nesterov')}: true needs {_key(where, 'momentum')} > 0 (it is 0)")
    if isinstance(obj, TrainConfig) and obj.schedule.min_lr > obj.optimizer.lr:
        raise ConfigError(f"{_key(where, 'schedule.min_lr')}: must be <= {_key(where, 'optimizer.lr')} "
                          f"({obj.optimizer.lr:g}), found {obj.schedule.min_lr:g}")
    if isinstance(obj, TrainConfig) and obj.select_by != "holdout_accuracy" and not obj.select_best \
            and obj.early_stop_patience_epochs is None:
        raise ConfigError(f"{_key(where, 'select_by')}: {obj.select_by} is only used by select_best: true and by "
                          f"early_stop_patience_epochs, and neither is set")
    if isinstance(obj, TrainConfig) and obj.holdout_loss_adds_l2 and obj.optimizer.name == "adamw":
        raise ConfigError(f"{_key(where, 'holdout_loss_adds_l2')}: adamw's weight decay is decoupled, no loss term "
                          f"to add; use sgd or adam (coupled L2) or holdout_loss_adds_l2: false")
    if isinstance(obj, DataConfig) and obj.train_subset is not None:  # a subset of the images the holdout left
        need = subset_problem(obj.train_subset, CIFAR10_TRAIN_IMAGES - obj.holdout_size)
        if need is not None:
            raise ConfigError(f"{_key(where, 'train_subset')}: with holdout_size {obj.holdout_size} must be {need}, "
                              f"found {obj.train_subset}")
    if isinstance(obj, PredictConfig):
        if obj.tta == "custom" and not obj.views:
            raise ConfigError(f"{_key(where, 'views')}: tta is custom but no views are listed; list views such as "
                              f"[identity, hflip, 'shift:1,0']")
        if obj.tta != "custom" and obj.views:
            raise ConfigError(f"{_key(where, 'views')}: only used with tta: custom (tta is '{obj.tta}')")
        if obj.views:
            from kaggle_kit.tta import parse_view  # the view grammar lives with the views (imports torch)

            for i, view in enumerate(obj.views):
                try:
                    parse_view(view)
                except ConfigError as err:
                    raise ConfigError(f"{_key(where, 'views')}[{i}]: {err}") from None
    if isinstance(obj, PipelineConfig):
        for i, stage in enumerate(obj.stages):
            if stage in obj.stages[:i]:
                raise ConfigError(f"stages: '{stage}' is listed twice")
        names = [m.name for m in obj.members]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ConfigError(f"members[{i}].name: '{name}' is used by another member; names must be unique")
        if obj.train.select_best and obj.data.holdout_size == 0:
            raise ConfigError("train.select_best: true needs a holdout; set data.holdout_size > 0 or "
                              "select_best: false")
        if obj.train.early_stop_patience_epochs is not None and obj.data.holdout_size == 0:
            raise ConfigError("train.early_stop_patience_epochs: early stopping watches the holdout; set "
                              "data.holdout_size > 0 or remove early_stop_patience_epochs")
        if obj.data.train_subset is not None and obj.data.train_subset < obj.train.batch_size:
            raise ConfigError(f"data.train_subset: {obj.data.train_subset} images make no full batch of "
                              f"train.batch_size {obj.train.batch_size}")
        left = CIFAR10_TRAIN_IMAGES - obj.data.holdout_size  # training drops the last partial batch
        if left < obj.train.batch_size:
            raise ConfigError(f"train.batch_size: {obj.train.batch_size} is more than the {left:,} training images "
                              f"data.holdout_size {obj.data.holdout_size} leaves; no full batch to train on")
        if (obj.ensemble.method == "weighted" and "ensemble" in obj.stages and len(obj.members) > 1
                and obj.data.holdout_size == 0):
            raise ConfigError("ensemble.method: weighted fits its weights on the holdout, and data.holdout_size is 0; "
                              "set data.holdout_size > 0 or another method")


def from_dict(cls: type, data: Mapping[str, Any], where: str = "") -> Any:
    """Build a frozen dataclass from a mapping; unknown keys are errors that list the valid ones, and every
    value is checked against its section's rules (ranges, choices) so bad input fails here, not in training."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in data if k not in names]
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(f"unknown key '{prefix}{unknown[0]}' (valid keys: {', '.join(names)})")
    kwargs = {}
    for key, value in data.items():
        kwargs[key] = _coerce(value, hints[key], f"{where}.{key}" if where else key)
    obj = cls(**kwargs)
    _check_values(obj, where)
    return obj


def check_registered(cfg: PipelineConfig) -> None:
    """Names resolved through registries (model, augmentation preset): checked at load, before any data.

    Kept out of from_dict on purpose: reading an old run's config.yaml must not fail because a model or preset
    was renamed since, and these imports pull in torch and albumentations.
    """
    from kaggle_kit import augment
    from kaggle_kit.models import TIMM_PREFIX, model_entry
    from kaggle_kit.models.registry import refuse_weight_loading

    name = cfg.model.name
    kwargs = dict(cfg.model.kwargs)
    try:
        kwargs = refuse_weight_loading(name, kwargs)  # drops a harmless pretrained=False, as create_model does
    except UsageError as err:
        raise type(err)(f"model.kwargs: {err}") from None
    if "num_classes" in kwargs:
        raise ConfigError(f"model.kwargs: num_classes is not a model argument here: every model is built with "
                          f"{CIFAR10_CLASSES} outputs, one per CIFAR-10 class; remove it")
    if name.startswith(TIMM_PREFIX):
        from kaggle_kit.models.timm_adapter import check_timm_name

        try:
            check_timm_name(name[len(TIMM_PREFIX):])
        except UsageError as err:
            raise type(err)(f"model.name: {err}") from None
    else:
        try:
            entry = model_entry(name)
        except UsageError as err:
            raise type(err)(f"model.name: {err}") from None
        unknown = sorted(set(kwargs) - set(entry.kwargs))
        if unknown:
            raise ConfigError(f"model.kwargs: model {name} does not accept {', '.join(unknown)}; it accepts: "
                              f"{', '.join(entry.kwargs) or 'none'}")
        if cfg.train.dropout is not None and "dropout" not in entry.kwargs:
            raise ConfigError(f"train.dropout: model {name} takes no dropout argument; remove train.dropout")
    check_model_kwargs(name, kwargs)
    preset = cfg.train.augment.preset
    if preset not in augment.list_presets():
        raise ConfigError(f"train.augment.preset: must be one of {', '.join(augment.list_presets())}, "
                          f"found '{preset}'")
    if cfg.train.augment.gpu == "on" and augment.batch_spec(preset) is None:
        raise ConfigError(f"train.augment.gpu: on needs a preset with a batched form, and '{preset}' has none; "
                          f"set gpu: auto")


def overrides_hidden_by_members(cfg: PipelineConfig, overrides: list[str]) -> list[str]:
    """A note for each ``--set`` that no member trains with: every member sets that key (or a section above it)
    itself, and a member's setting wins."""
    notes = []
    for text in overrides:
        key = parse_override(text)[0]
        prefixes = {".".join(key.split(".")[:i]) for i in range(1, key.count(".") + 2)}
        if cfg.members and all(prefixes & set(m.set) for m in cfg.members):
            names = ", ".join(m.name for m in cfg.members)
            notes.append(f"note: --set {text} has no effect: members {names} set {key} themselves")
    return notes


# What a member's ``set`` may change: what the pipeline builds per member (its model, its training, its
# prediction). The rest is the pipeline's: its name, stages and members, the ensemble, submission and report (read
# from the pipeline, never from a member), and the images every member is scored on, which the ensemble needs to be
# the same for all (it refused members that differ only after training them all).
MEMBER_SECTIONS = ("model", "train", "predict", "data")
SHARED_DATA = ("holdout_size", "holdout_seed", "test_subset", "comp_subset")


def check_member_set(cfg: PipelineConfig, member: MemberConfig) -> PipelineConfig:
    """Refuse a member's setting of what is the pipeline's (``MEMBER_SECTIONS``, ``SHARED_DATA``); returns the
    member's config."""
    for key in member.set:
        if isinstance(key, str) and key.split(".")[0] not in MEMBER_SECTIONS:
            raise ConfigError(f"'{key}' is the pipeline's, not a member's; a member may set model, train, predict "
                              f"and data.train_subset")
    resolved = member_config(cfg, member)
    for name in SHARED_DATA:
        if getattr(resolved.data, name) != getattr(cfg.data, name):
            raise ConfigError(f"data.{name}: {getattr(resolved.data, name)} for this member, "
                              f"{getattr(cfg.data, name)} for the pipeline; every member is scored on the same "
                              f"images (the ensemble needs them alike), so set it for the whole pipeline")
    return resolved


def member_config(cfg: PipelineConfig, member: MemberConfig) -> PipelineConfig:
    """The pipeline with one member's dotted overrides applied (what kaggle_kit.pipeline trains)."""
    base = to_dict(dataclasses.replace(cfg, members=()))
    return from_dict(PipelineConfig, apply_overrides(base, dict(member.set)))


def to_dict(obj: Any, *, for_key: bool = False) -> Any:
    """Plain JSON/YAML-ready form of a config (tuples become lists, mappings dicts); ``for_key``: the form keys
    hash, without the ``KEYED_WHEN_SET`` settings that hold their defaults."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name), for_key=for_key) for f in dataclasses.fields(obj)
                if not (for_key and f.metadata.get("keyed_when_set") and getattr(obj, f.name) == f.default)}
    if isinstance(obj, (tuple, list)):
        return [to_dict(v, for_key=for_key) for v in obj]
    if isinstance(obj, Mapping):
        return {k: to_dict(v, for_key=for_key) for k, v in obj.items()}
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
        value = _safe_load_unique(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    except ConfigError as err:  # a duplicate key, an alias into itself, nesting no setting needs
        raise ConfigError(f"override '{text}': {err}") from None
    return key, value


def _plain_copy(value: Any) -> Any:
    """Deep copy of parsed YAML (mappings -> dicts, tuples -> lists) that keeps every scalar as it is, so a
    date YAML read from an unquoted value reaches from_dict and gets a clear error there."""
    if isinstance(value, Mapping):
        return {k: _plain_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_copy(v) for v in value]
    return value


def apply_overrides(data: dict, overrides: Mapping[str, Any] | list[str]) -> dict:
    """Return a deep copy of ``data`` with dotted-key overrides set (validation happens in from_dict)."""
    out = _plain_copy(data)
    items = overrides.items() if isinstance(overrides, Mapping) else (parse_override(o) for o in overrides)
    done: list[str] = []
    for key, value in items:
        if not isinstance(key, str):
            raise ConfigError(f"override key {_show(key)} must be a dotted key such as train.seed (quote it)")
        lost = [k for k in done if k.startswith(f"{key}.")]
        if lost:  # the section would be replaced whole, silently dropping the setting made inside it before
            raise ConfigError(f"override '{key}' replaces the whole section that '{lost[0]}', set before it, is in; "
                              f"set '{lost[0]}' after it, or inside its value")
        done.append(key)
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


_MERGE_TAG = "tag:yaml.org,2002:merge"


# Deeper or larger than any pipeline needs, and well inside what Python's recursion limit and a second of work
# allow: PyYAML's composer and the checks after it would otherwise end in a RecursionError traceback, or spend
# minutes and gigabytes expanding aliases of aliases ("billion laughs").
MAX_YAML_DEPTH = 50
MAX_YAML_NODES = 100_000


def _walk_nodes(node: yaml.Node, where: str, seen: dict[int, tuple[int, int]], inside: set[int]) -> tuple[int, int]:
    """Check one node and return its (depth, node count) with every alias expanded, as the loaded value has them.

    Refuses a mapping that gives one key twice (PyYAML would keep the last silently) and an alias to a node it
    sits inside (``a: &x [*x]``: a structure without end). Each node is walked once (``seen``), in document
    order, so an anchor is walked where it is defined and the recursion stays as deep as the text is nested."""
    if id(node) in inside:
        raise ConfigError(f"{where or 'the top level'}: an alias refers to a node it is part of "
                          f"(line {node.start_mark.line + 1}); a pipeline cannot contain itself")
    if id(node) in seen:
        return seen[id(node)]
    inside.add(id(node))
    children: list[tuple[int, int]] = []
    if isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            path = where
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE_TAG:
                ident, line = (key_node.tag, key_node.value), key_node.start_mark.line + 1
                path = _key(where, key_node.value)
                if ident in first:
                    lines = f"line {line}" if first[ident] == line else f"lines {first[ident]} and {line}"
                    raise ConfigError(f"duplicate key '{path}' ({lines}); give each key once")
                first[ident] = line
            children += [_walk_nodes(key_node, path, seen, inside), _walk_nodes(value_node, path, seen, inside)]
    elif isinstance(node, yaml.SequenceNode):
        children += [_walk_nodes(item, f"{where}[{i}]", seen, inside) for i, item in enumerate(node.value)]
    inside.discard(id(node))
    depth = 1 + max((d for d, _ in children), default=0)
    size = 1 + sum(n for _, n in children)
    if depth > MAX_YAML_DEPTH:
        raise ConfigError(f"{where or 'the top level'}: nested more than {MAX_YAML_DEPTH} levels deep "
                          f"(aliases expanded; line {node.start_mark.line + 1})")
    if size > MAX_YAML_NODES:
        raise ConfigError(f"{where or 'the top level'}: more than {MAX_YAML_NODES:,} values once its aliases are "
                          f"expanded (line {node.start_mark.line + 1}); a pipeline needs far fewer")
    seen[id(node)] = (depth, size)
    return depth, size


def _check_depth(text: str) -> None:
    """Refuse YAML nested deeper than MAX_YAML_DEPTH, counted on the event stream (no recursion), before
    PyYAML's recursive composer sees it."""
    depth = 0
    for event in yaml.parse(text, Loader=_PipelineLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise ConfigError(f"nested more than {MAX_YAML_DEPTH} levels deep at line "
                                  f"{event.start_mark.line + 1}")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


class _PipelineLoader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1's two silent number readings: a leading 0 as octal (``seed: 010`` was 8,
    ``holdout_size: 05000`` 2560) and base 60 (``epochs: 1:30`` was 90). Such scalars stay strings, so a number
    field names them and a string field keeps them as written."""


_PipelineLoader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
for _first in "+-0123456789":
    _PipelineLoader.yaml_implicit_resolvers[_first].insert(0, (
        "tag:yaml.org,2002:str", re.compile(r"^(?:[-+]?0[0-7_]+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?)$")))


def _safe_load_unique(text: str) -> Any:
    """yaml.safe_load, refusing duplicate mapping keys (with their dotted path and lines), aliases that contain
    themselves, and nesting or alias expansion no pipeline needs."""
    _check_depth(text)
    loader = _PipelineLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _walk_nodes(node, "", {}, set())
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: a folder, not a pipeline file; give its YAML file, e.g. pipelines/default.yaml")
    if not path.is_file():
        raise ConfigError(f"{path}: no such pipeline file")
    try:
        data = _safe_load_unique(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{at}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, found {type(data).__name__}")
    return data


def _validated(data: dict) -> PipelineConfig:
    cfg = from_dict(PipelineConfig, data)
    check_registered(cfg)
    for i, member in enumerate(cfg.members):
        try:
            check_registered(check_member_set(cfg, member))
        except UsageError as err:
            raise type(err)(f"members[{i}] ('{member.name}') set: {err}") from None
    return cfg


def _override_texts(overrides: list[str] | Mapping[str, Any]) -> list[tuple[str, list | dict]]:
    """Each override as the user wrote it, with the one-item form ``apply_overrides`` takes."""
    if isinstance(overrides, Mapping):
        return [(f"{k}={v}", {k: v}) for k, v in overrides.items()]
    return [(o, [o]) for o in overrides]


def _breaking_override(base: dict, overrides: list[str] | Mapping[str, Any], name: str) -> str | None:
    """The first override that makes a valid file invalid (applied in order, as the user gave them); None when the
    file is invalid by itself. Only run on the error path: it validates once per override."""
    def valid(data: dict) -> bool:
        try:
            _validated({"name": name, **data})
        except UsageError:
            return False
        return True

    data = _plain_copy(base)
    if not valid(data):
        return None
    for text, one in _override_texts(overrides):
        data = apply_overrides(data, one)
        if not valid(data):
            return text
    return None


def load_pipeline(path: str | Path, overrides: list[str] | Mapping[str, Any] = ()) -> PipelineConfig:
    """Load, override and validate a pipeline and each ensemble member's resolved config; errors name the
    file and the offending key (or the ``--set`` that broke a valid file), and come before any data is read."""
    base = load_yaml(path)
    data = apply_overrides(base, overrides)
    data.setdefault("name", Path(path).stem)
    try:
        return _validated(data)
    except UsageError as err:
        culprit = _breaking_override(base, overrides, Path(path).stem) if overrides else None
        raise type(err)(f"{path if culprit is None else f'--set {culprit}'}: {err}") from None


def config_hash(obj: Any, length: int = 7) -> str:
    """Stable short hash of a config (or any JSON-able value): names runs and keys the stage cache."""
    blob = json.dumps(to_dict(obj, for_key=True), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]
