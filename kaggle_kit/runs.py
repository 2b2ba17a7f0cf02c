"""Run folders: ids, manifests, model checkpoints and logits files shared by train, predict and ensemble.

A run folder (``runs/<run_id>/``) holds ``config.yaml`` (resolved pipeline), ``model.pt`` (weights + what is
needed to rebuild the model), ``last.pt`` (resume state), ``metrics.csv``, ``holdout_indices.npy``,
``logits_{holdout,test,comp}.npz`` and one ``manifest.json`` per stage. Every manifest records the git commit,
the resolved config, sha256 of inputs and outputs, timings and metrics, so any CSV traces back to its code,
data and weights.
"""
from __future__ import annotations

import datetime as _dt
import json
import platform
import subprocess
import zipfile
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from kaggle_kit.config import PipelineConfig, config_hash, from_dict, to_dict
from kaggle_kit.data import CLASS_NAMES
from kaggle_kit.errors import ConfigError, RunError
from kaggle_kit.fsio import atomic_save_npz, atomic_write_text, claim_folder, sha256_file
from kaggle_kit.ledger import RECIPE_COLUMNS
from kaggle_kit.submission import nonfinite_rows

LOGIT_SPLITS = ("holdout", "test", "comp")
NUM_CLASSES = len(CLASS_NAMES)  # every run, ensemble and submission is over the competition's CIFAR-10 classes
# a BatchNorm copy's competition logits beside the run's own (``predict``): the gap report's Ref-EM reference
REFERENCE_FILE = "logits_comp_reference.npz"


def new_run_id(pipeline_name: str, config: Any, now: _dt.datetime | None = None) -> str:
    """``YYYYmmdd-HHMMSS-<pipeline>-<confighash7>`` as DESIGN.md fixes it."""
    now = now or _dt.datetime.now()
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in pipeline_name)
    return f"{now:%Y%m%d-%H%M%S}-{safe}-{config_hash(config)}"


def git_commit(cwd: str | Path | None = None) -> str | None:
    """The checkout's commit, or None. Read as bytes: git's refusal quotes the folder ("detected dubious ownership
    in repository at ...", a container's root over a bind mount), and text=True decoded it with the locale, under
    LC_ALL=C ASCII: a folder name with an accent raised UnicodeDecodeError out of every manifest write."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd or Path(__file__).parent,
                             capture_output=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.decode("ascii", "replace").strip() or None if out.returncode == 0 else None


def write_manifest(folder: str | Path, stage: str, *, config: Any = None,
                   inputs: Mapping[str, str | Path] = (), outputs: Mapping[str, str | Path] = (),
                   metrics: Mapping[str, Any] = (), timings_s: Mapping[str, float] = (),
                   extra: Mapping[str, Any] = ()) -> Path:
    """Write ``<folder>/manifest_<stage>.json``; file fingerprints are sha256 of the bytes on disk."""
    folder = Path(folder)

    def fingerprint(paths: Mapping[str, str | Path]) -> dict:
        out = {}
        for name, p in dict(paths).items():
            p = Path(p)
            out[name] = {"path": str(p), "sha256": sha256_file(p) if p.is_file() else None}
        return out

    manifest = {
        "stage": stage,
        "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "config": to_dict(config) if config is not None else None,
        "inputs": fingerprint(inputs),
        "outputs": fingerprint(outputs),
        "metrics": dict(metrics),
        "timings_s": dict(timings_s),
        **dict(extra),
    }
    return atomic_write_text(folder / f"manifest_{stage}.json", json.dumps(manifest, indent=2, default=str))


def read_manifest(folder: str | Path, stage: str) -> dict | None:
    path = Path(folder) / f"manifest_{stage}.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


# --------------------------------------------------------------------------------------------- logits
@dataclass(frozen=True)
class Logits:
    """Logits of one split: ``ids`` (N,) int64, ``logits`` (N, C) float32, ``labels`` (N,) int64 or None."""

    ids: np.ndarray
    logits: np.ndarray
    labels: np.ndarray | None
    tta: str
    temperature: float = 1.0  # fitted on the holdout; divide logits by it for calibrated probabilities

    @property
    def accuracy(self) -> float | None:
        if self.labels is None or not len(self.labels):  # no holdout (data.holdout_size 0): no accuracy, not nan
            return None
        return float((self.logits.argmax(1) == self.labels).mean())


def save_logits(path: str | Path, logits: Logits) -> Path:
    arrays = dict(ids=np.asarray(logits.ids, dtype=np.int64),
                  logits=np.asarray(logits.logits, dtype=np.float32),
                  tta=np.array(logits.tta), temperature=np.array(logits.temperature, dtype=np.float64))
    if logits.labels is not None:
        arrays["labels"] = np.asarray(logits.labels, dtype=np.int64)
    return atomic_save_npz(path, **arrays)


def load_logits(path: str | Path, num_classes: int | None = None) -> Logits:
    """Read a logits file without unpickling anything (``allow_pickle=False``).

    Every problem is a ``RunError`` naming the file: shapes that disagree (ids (N,), logits (N, C), labels
    (N,)), NaN or infinite logits (argmax would quietly make them class 0), non-integer ids or labels, labels
    outside 0..C-1, and with ``num_classes`` a C other than that (the
    competition's ``NUM_CLASSES`` for anything that becomes a submission or is combined with other runs)."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"{path}: logits file not found; run `kaggle-kit predict` on that run first")
    try:
        with np.load(path, allow_pickle=False) as z:
            ids, lg = z["ids"], z["logits"]
            labels = z["labels"] if "labels" in z.files else None
            tta = str(z["tta"]) if "tta" in z.files else "none"
            temperature = float(z["temperature"]) if "temperature" in z.files else 1.0
    except (OSError, ValueError, TypeError, KeyError, zipfile.BadZipFile) as err:
        raise RunError(f"{path}: not a valid logits file ({err.__class__.__name__})") from None
    if lg.ndim != 2 or ids.shape != (lg.shape[0],) or (labels is not None and labels.shape != ids.shape):
        shapes = f"ids {ids.shape}, logits {lg.shape}" + ("" if labels is None else f", labels {labels.shape}")
        raise RunError(f"{path}: inconsistent shapes {shapes} (expected ids (N,), logits (N, classes)); "
                       f"re-run `kaggle-kit predict` on that run")
    if num_classes is not None and lg.shape[1] != num_classes:
        raise RunError(f"{path}: logits have {lg.shape[1]} columns (classes), expected {num_classes}; "
                       f"re-run `kaggle-kit predict` on that run")
    if lg.shape[1] < 1 or not np.issubdtype(lg.dtype, np.number) or np.issubdtype(lg.dtype, np.complexfloating):
        raise RunError(f"{path}: logits must be real numbers with at least one class, found {lg.dtype} {lg.shape}")
    if not (np.isfinite(temperature) and temperature > 0):
        raise RunError(f"{path}: temperature must be a positive number, found {temperature}")
    with np.errstate(over="ignore"):  # checked as kept: a float64 logit beyond float32's range becomes inf here
        lg = lg.astype(np.float32)
    bad = nonfinite_rows(lg)
    if bad:
        raise RunError(f"{path}: logits of {bad:,} of {len(lg):,} images are NaN or infinite (a model that diverged?); "
                       f"retrain that run, e.g. with a lower train.optimizer.lr")
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        raise RunError(f"{path}: ids must be integers, found {ids.dtype}")
    if labels is not None and labels.size:
        if not np.issubdtype(labels.dtype, np.integer):
            raise RunError(f"{path}: labels must be integers, found {labels.dtype}")
        if labels.min() < 0 or labels.max() >= lg.shape[1]:
            raise RunError(f"{path}: labels outside 0..{lg.shape[1] - 1} (found {labels.min()}..{labels.max()})")
    return Logits(ids=ids.astype(np.int64, copy=False), logits=lg,
                  labels=None if labels is None else labels.astype(np.int64, copy=False), tta=tta,
                  temperature=temperature)


def load_reference(folder: str | Path, comp_ids: np.ndarray) -> Logits | None:
    """The folder's ``REFERENCE_FILE``, or None when it has none; refused when it names other images than the
    competition logits beside it (``comp_ids``): a file left from another prediction."""
    path = Path(folder) / REFERENCE_FILE
    if not path.is_file():
        return None
    ref = load_logits(path, NUM_CLASSES)
    if not np.array_equal(ref.ids, comp_ids):
        raise RunError(f"{path}: its images are not those of logits_comp.npz; predict the run again")
    return ref


# ------------------------------------------------------------------------------------------- recipes
# Settings that change how fast a run trains or which images it is scored on, not what it learns. With the seeds
# they are left out of a run's recipe, so two seeds of one recipe share a key: the ledger correction prefers
# earlier submissions of the same recipe, whose misses carry over best (PREREGISTERED.md check 9).
NOT_RECIPE = {"data": ("holdout_seed", "test_subset", "comp_subset"), "model": ("max_params",),
              "train": ("seed", "deterministic", "compile", "channels_last", "amp", "num_workers"),
              "predict": ("batch_size",)}


def recipe_of(config: Mapping[str, Any]) -> dict:
    """The part of a resolved pipeline config (``config.yaml`` as a dict) that decides what a run learns."""
    def keep(section: Any, drop: tuple[str, ...]) -> Any:
        return {k: v for k, v in section.items() if k not in drop} if isinstance(section, Mapping) else section

    return {sec: keep(config.get(sec), drop) for sec, drop in NOT_RECIPE.items()}


def ensemble_summary(folder: str | Path) -> dict | None:
    """An ensemble folder's ``ensemble.json`` (None for a plain run), its members each with a ``path``; an
    unreadable file is an error naming it, not a run without members (which would also lose the submission's
    identity in the ledger): the one reader of that file."""
    summary = Path(folder) / "ensemble.json"
    if not summary.is_file():
        return None
    try:
        ens = json.loads(summary.read_text(encoding="utf-8"))
        members = ens["members"]
        if not isinstance(members, list) or not all(isinstance(m, dict) and "path" in m for m in members):
            raise TypeError
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise RunError(f"{summary}: not an ensemble summary (readable JSON listing its members with their paths); "
                       f"re-run `kaggle-kit ensemble`") from None
    return ens


UNFINISHED_ENSEMBLE = ("has logits but no manifest_ensemble.json, so the ensemble that wrote them did not finish "
                       "(interrupted?); re-run the `kaggle-kit ensemble` that made it")


def unfinished_ensemble(folder: str | Path) -> bool:
    """A folder with logits that no finished stage vouches for: not a run (no config.yaml), no manifest files."""
    folder = Path(folder)
    return not any((folder / n).is_file() for n in ("config.yaml", "manifest_predict.json", "manifest_ensemble.json"))


def member_names(folder: str | Path) -> list[str]:
    """The run ids of an ensemble's members ([] for a plain run), as the ledger records its submission, found on
    disk or not."""
    return [Path(str(m["path"])).name for m in (ensemble_summary(folder) or {}).get("members", [])]


def member_candidates(ensemble_folder: Path, path: str) -> tuple[Path, ...]:
    """Where an ensemble's member may be: as written, relative to the workdir, or under the workdir's runs/."""
    p = Path(path)
    root = ensemble_folder.parent.parent
    return p, root / p, root / "runs" / p.name


# PREREGISTERED.md check 12: with no earlier submission of a run's recipe, those of the recipe that differs from it
# only here carry their miss over better than every earlier one's.
SMOOTHING = ("train", "label_smoothing")


@dataclass(frozen=True)
class RecipeKeys:
    """A run's recipe as 12-hex-digit keys: exact, and with ``SMOOTHING`` left out (shared by the recipe's
    label-smoothing variants)."""
    exact: str
    except_smoothing: str

    def ledger_cells(self) -> dict[str, str]:
        """The ledger's ``RECIPE_COLUMNS``, field by field (one mapping for the upload and every reader)."""
        return dict(zip(RECIPE_COLUMNS, astuple(self), strict=True))

    @classmethod
    def from_ledger_row(cls, row: Mapping[str, Any]) -> RecipeKeys | None:
        """A ledger row's keys; None when it has no exact key (written before the ``recipe`` column, or a bare
        CSV); a missing later column reads as an empty key, which matches nothing."""
        cells = [str(row.get(c) or "") for c in RECIPE_COLUMNS]
        return cls(*cells) if cells[0] else None


def recipe_keys(folder: str | Path, _seen: frozenset[Path] = frozenset()) -> RecipeKeys | None:
    """A run's ``RecipeKeys`` (an ensemble's: its method and its members' keys); None when a ``config.yaml`` is
    missing or not a pipeline config (a bare CSV, a pulled kernel without configs), or when an ensemble names
    itself among its members, however deep."""
    import yaml

    folder = Path(folder)
    here = folder.resolve()
    if here in _seen:
        return None
    try:
        ens = ensemble_summary(folder)
    except RunError:
        return None
    if ens is not None:
        paths = [str(m["path"]) for m in ens["members"]]
        keys = [next((k for c in member_candidates(folder, p) if (k := recipe_keys(c, _seen | {here}))), None)
                for p in paths]
        if not keys or None in keys:
            return None
        method = ens.get("method")  # each key of the ensemble from the same key of its members
        return RecipeKeys(*(config_hash({"ensemble": method, "members": sorted(getattr(k, f.name) for k in keys)},
                                        length=12) for f in fields(RecipeKeys)))
    try:
        config = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
        # through the dataclasses, so a config written without a defaulted key keys like one written with it
        resolved = to_dict(from_dict(PipelineConfig, config), for_key=True) if isinstance(config, dict) else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ConfigError):
        return None
    if resolved is None:
        return None
    recipe = recipe_of(resolved)
    section, key = SMOOTHING
    smoothed = {**recipe, section: {k: v for k, v in recipe[section].items() if k != key}}
    return RecipeKeys(config_hash(recipe, length=12), config_hash(smoothed, length=12))


def recipe_key(folder: str | Path) -> str | None:
    """``recipe_keys(folder).exact``, or None."""
    keys = recipe_keys(folder)
    return keys.exact if keys else None


def run_dir(path: str | Path) -> Path:
    """Resolve a run argument: a folder path, or a run id under ``runs/``."""
    p = Path(path)
    for cand in (p, Path("runs") / p, Path("ensembles") / p):
        if cand.is_dir():
            return cand
    raise RunError(f"{path}: no such run folder (looked in ., runs/ and ensembles/)")


def claim_run(run_dir: str | Path, held, then: str = "") -> None:
    """Hold the run folder's flock until ``held`` (an ExitStack) closes, or refuse in one line: training,
    prediction and a forced pull each write a run's files by path, so one of them at a time. ``then``: what the
    refusal adds after "wait for it to finish"."""
    claim_folder(run_dir, f"{run_dir}: another kaggle-kit command is predicting or training into this folder right "
                          f"now; wait for it to finish{then}", held)
