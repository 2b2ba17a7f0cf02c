"""Ensembles of runs: combine members' logits by mean probabilities, mean logits, fitted weights or vote.

Every method works on each member's temperature-scaled log-probabilities, log_softmax(z / T): members trained
with and without label smoothing are over- or under-confident by different amounts, and an unscaled mean lets
the most confident one dominate. (Mean of log-probabilities = mean of scaled logits up to a per-image
constant, so ``mean_logits`` gives the same predictions and probabilities as averaging z / T.)

Stored "logits" of an ensemble are log-scores whose softmax is the ensemble's probability:
- mean_probs / weighted: log of the (weighted) mean probability;
- mean_logits: the mean log-probability;
- vote: log of the vote share plus a tie-break of ``VOTE_TIE_BREAK / M`` times the mean probability
  (renormalised). The tie-break is below one vote (1/M), so it only orders classes with equal votes, and it
  keeps every class's score positive so the log is finite.
Weights (``weighted``) are fitted on the holdout by minimising log-loss over the simplex with SLSQP; the loss is
convex in the weights, and the result is checked against every single member so it is never worse than the best
member's holdout log-loss.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, logsumexp

from kaggle_kit.calibration import fit_temperature, nll
from kaggle_kit.config import ENSEMBLE_METHODS as METHODS
from kaggle_kit.errors import ConfigError, RunError
from kaggle_kit.fsio import atomic_write_text, check_dir_target
from kaggle_kit.runs import (LOGIT_SPLITS, NUM_CLASSES, REFERENCE_FILE, UNFINISHED_ENSEMBLE, Logits, ensemble_summary,
                             load_logits, load_reference, member_candidates, member_names, read_manifest, save_logits,
                             unfinished_ensemble, write_manifest)

VOTE_TIE_BREAK = 0.01   # fraction of one vote the mean probability may add: orders ties, never flips a vote
PROB_FLOOR = 1e-300     # keeps log-loss finite when a member gives the true class probability 0


@dataclass(frozen=True)
class Member:
    folder: Path
    holdout_indices: np.ndarray
    logits: dict[str, Logits]   # by split; "comp" only when the member has competition logits
    comp_complete: bool
    comp_pickle: str | None = None  # sha256 of the pickle its competition logits came from, when recorded

    @property
    def name(self) -> str:
        return self.folder.name


# ------------------------------------------------------------------------------------------ loading
def load_member(folder: str | Path) -> Member:
    folder = Path(folder)
    if not folder.is_dir():
        raise RunError(f"{folder}: no such run or ensemble folder")
    idx_path = folder / "holdout_indices.npy"
    if not idx_path.is_file():
        raise RunError(f"{folder}: no holdout_indices.npy; ensemble only trained and predicted runs")
    if unfinished_ensemble(folder):
        raise RunError(f"{folder}: {UNFINISHED_ENSEMBLE}")
    try:
        idx = np.load(idx_path, allow_pickle=False).astype(np.int64)
    except (OSError, ValueError) as err:
        raise RunError(f"{idx_path}: not a readable index array ({err.__class__.__name__})") from None
    if idx.ndim != 1:
        raise RunError(f"{idx_path}: expected a 1-D index array, found shape {idx.shape}")
    # every member over the competition's classes: members with other class counts cannot be averaged
    logits = {s: load_logits(folder / f"logits_{s}.npz", NUM_CLASSES) for s in ("holdout", "test")}
    if (folder / "logits_comp.npz").is_file():
        logits["comp"] = load_logits(folder / "logits_comp.npz", NUM_CLASSES)
    for split in ("holdout", "test"):
        if logits[split].labels is None:
            raise RunError(f"{folder / f'logits_{split}.npz'}: has no labels; re-run `kaggle-kit predict` on "
                           f"that run")
    complete = False
    for stage in ("predict", "ensemble"):
        manifest = read_manifest(folder, stage)
        if manifest is None and (folder / f"manifest_{stage}.json").is_file():
            raise RunError(f"{folder / f'manifest_{stage}.json'}: not readable JSON; re-run `kaggle-kit {stage}` "
                           f"on that run")
        if manifest is not None and "comp_complete" in manifest:
            complete = bool(manifest["comp_complete"])
            break
    return Member(folder, idx, logits, complete, comp_pickle_sha256(folder))


def comp_pickle_sha256(folder: Path) -> str | None:
    """The competition pickle a run's (or ensemble's) comp logits were predicted from, by its manifest: two pickles
    may share ids and order and still hold other images (a re-released test set)."""
    predicted = read_manifest(folder, "predict") or {}
    sha = ((predicted.get("inputs") or {}).get("comp_pickle") or {}).get("sha256")
    return sha or (read_manifest(folder, "ensemble") or {}).get("comp_pickle_sha256")


def first_mismatch(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int] | None:
    """(position, a's value, b's value) of the first difference of equal-length arrays, else None."""
    diff = np.flatnonzero(a != b)
    return None if diff.size == 0 else (int(diff[0]), int(a[diff[0]]), int(b[diff[0]]))


def check_compatible(members: list[Member]) -> None:
    """Refuse members that were not scored on the same images, naming the first mismatch."""
    ref = members[0]
    hint = "ensemble only runs predicted with the same data.holdout_size/holdout_seed/test_subset/comp_subset"
    for m in members[1:]:
        pairs = [("holdout", "holdout indices", "differs", "index", ref.holdout_indices, m.holdout_indices)]
        for split in LOGIT_SPLITS:
            if (split in ref.logits) != (split in m.logits):
                have, lack = (ref, m) if split in ref.logits else (m, ref)
                raise RunError(f"{lack.name} has no {split} logits but {have.name} has; run `kaggle-kit "
                               f"predict` on both with the same data before ensembling")
            if split in ref.logits:
                pairs.append((f"{split} ids", f"{split} ids", "differ", "id", ref.logits[split].ids,
                              m.logits[split].ids))
                if ref.logits[split].labels is not None and m.logits[split].labels is not None:
                    # the same images must carry the same labels: the ensemble keeps the first member's
                    pairs.append((f"{split} labels", f"{split} labels", "differ", "label",
                                  ref.logits[split].labels, m.logits[split].labels))
        if "comp" in ref.logits and "comp" in m.logits and None not in (ref.comp_pickle, m.comp_pickle) \
                and ref.comp_pickle != m.comp_pickle:
            raise RunError(f"{m.name} predicted another competition pickle than {ref.name} (sha256 "
                           f"{m.comp_pickle[:10]} vs {ref.comp_pickle[:10]}), with the same ids but other images; "
                           f"run `kaggle-kit predict` on both with the same pickle before ensembling")
        for what, plural, verb, unit, a, b in pairs:
            if len(a) != len(b):
                raise RunError(f"{m.name} has {len(b):,} {plural}, {ref.name} has {len(a):,}; {hint}")
            mis = first_mismatch(a, b)
            if mis is not None:
                pos, va, vb = mis
                raise RunError(f"{m.name} {what} {verb} from {ref.name} at position {pos}: {unit} {vb} vs {va}; "
                               f"{hint}")


# ------------------------------------------------------------------------------------- pure combining
def member_log_probs(logits: Logits) -> np.ndarray:
    return log_softmax(np.asarray(logits.logits, dtype=np.float64) / logits.temperature, axis=1)


def fit_weights(log_probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Simplex weights (M,) minimising holdout log-loss of the weighted mean probability.

    ``log_probs`` is (M, N, K). Only each image's true-class probability matters, so the problem is
    min_w -mean(log(P @ w)) with P (N, M): convex, solved by SLSQP with the analytic gradient. Single members
    (the simplex's corners) are checked too, so the answer is never worse than the best member.
    """
    m = log_probs.shape[0]
    if len(labels) == 0:
        raise RunError("weighted ensembles fit weights on the holdout, but the runs have no holdout images")
    p_true = np.exp(log_probs[:, np.arange(len(labels)), labels]).T  # (N, M)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        mix = np.maximum(p_true @ w, PROB_FLOOR)
        return float(-np.log(mix).mean()), -(p_true / mix[:, None]).mean(axis=0)

    res = minimize(loss, np.full(m, 1.0 / m), jac=True, method="SLSQP", bounds=[(0.0, 1.0)] * m,
                   constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(m)}],
                   options={"ftol": 1e-12, "maxiter": 500})
    w = np.clip(res.x, 0.0, None)
    w = w / w.sum() if w.sum() > 0 else np.full(m, 1.0 / m)
    candidates = [w, *np.eye(m)]
    return min(candidates, key=lambda c: loss(c)[0])


def combine(log_probs: np.ndarray, method: str, weights: np.ndarray | None = None) -> np.ndarray:
    """(M, N, K) member log-probabilities -> (N, K) ensemble log-scores (see the module docstring)."""
    m = log_probs.shape[0]
    if method == "mean_probs":
        return logsumexp(log_probs, axis=0) - np.log(m)
    if method == "mean_logits":
        return log_probs.mean(axis=0)
    if method == "weighted":
        if weights is None:
            raise ValueError("weighted needs weights")
        with np.errstate(divide="ignore"):
            return logsumexp(log_probs + np.log(weights)[:, None, None], axis=0)
    if method == "vote":
        k = log_probs.shape[2]
        votes = np.eye(k)[log_probs.argmax(axis=2)].mean(axis=0)  # (N, K) vote shares
        score = votes + (VOTE_TIE_BREAK / m) * np.exp(log_probs).mean(axis=0)
        return np.log(np.maximum(score / score.sum(axis=1, keepdims=True), PROB_FLOOR))
    raise ConfigError(f"unknown ensemble method '{method}' (valid: {', '.join(METHODS)})")


# --------------------------------------------------------------------------------------------- stage
def _scores(logits: Logits) -> dict:
    return {"acc": logits.accuracy,
            "nll_calibrated": nll(logits.logits, logits.labels, logits.temperature) if len(logits.ids) else None}


def runs_within(folder: Path) -> list[str]:
    """The run ids a member stands for, in order: a run's own; an ensemble's members' (those found on disk
    opened in turn, so an ensemble of ensembles yields its runs)."""
    return list(dict.fromkeys(run_id for run_id, _ in _runs_found(folder, frozenset())))


def run_folders_within(folder: Path) -> list[Path] | None:
    """The run folders behind a run or ensemble folder, each once, or None when one is not on disk."""
    found = dict(_runs_found(folder, frozenset()))
    return None if any(f is None for f in found.values()) else list(found.values())


def _runs_found(folder: Path, seen: frozenset) -> list[tuple[str, Path | None]]:
    summary = ensemble_summary(folder)
    if summary is None:
        return [(folder.name, folder)]
    key = folder.resolve()
    out: list[tuple[str, Path | None]] = []
    for member in summary["members"]:
        path = str(member["path"])
        found = next((c for c in member_candidates(folder, path) if c.is_dir()), None)
        if found is None or found.resolve() in seen | {key}:
            out.append((Path(path).name, None))
        else:
            out.extend(_runs_found(found, seen | {key}))
    return out


def _check_member_list(run_dirs: list[str | Path], out: Path, replace: bool = False) -> None:
    """Each member once, never the ensemble itself, and an existing ensemble folder only replaced by the same
    members (a rerun): otherwise another ensemble would be overwritten without a word."""
    seen: dict[Path, str] = {}
    for d in run_dirs:
        key = Path(d).resolve()
        if key in seen:
            raise ConfigError(f"{d}: listed twice (as {seen[key]} too); name each member once")
        seen[key] = str(d)
    if out.resolve() in seen:
        raise ConfigError(f"{out}: an ensemble cannot be its own member; give another --name")
    owner: dict[str, str] = {}  # run id -> the member that brings it: an ensemble member brings all its runs
    for d in run_dirs:
        for rid in runs_within(Path(d)):
            if rid in owner:
                raise ConfigError(f"run {rid} is in both {owner[rid]} and {d}; name each run once (an ensemble "
                                  f"member counts all of its runs)")
            owner[rid] = str(d)
    if (out / "ensemble.json").is_file() and not replace:
        try:
            before = set(member_names(out))  # run ids: the paths were written relative to another cwd
        except RunError:
            before = None
        if before != {key.name for key in seen}:
            raise ConfigError(f"{out} already holds an ensemble of other members; give another --name, or remove "
                              f"that folder to replace it")


SUMMARY_FILES = ("ensemble.json", "manifest_ensemble.json")


def member_references(members: list[Member]) -> list[Logits] | None:
    """Every member's BatchNorm reference (``REFERENCE_FILE``, written by ``predict``) when each has one, else None;
    a reference naming other images than its member's competition logits is refused."""
    refs = [load_reference(mb.folder, mb.logits["comp"].ids) if "comp" in mb.logits else None for mb in members]
    return None if any(r is None for r in refs) else refs


def _invalidate(out: Path) -> None:
    """Remove the files that call a folder a complete ensemble before any of its logits is replaced: a run killed
    from here on leaves a folder that `submit --from` refuses, never new logits under the old summary."""
    for name in SUMMARY_FILES:
        (out / name).unlink(missing_ok=True)


def ensemble_runs(run_dirs: list[str | Path], method: str, name: str, out_root: Path = Path("ensembles"),
                  replace: bool = False) -> Path:
    """Combine runs into ``<out_root>/<name>/`` (logits_*.npz, holdout_indices.npy, ensemble.json, manifest; and
    ``REFERENCE_FILE`` when every member has one).

    ``replace``: overwrite an ensemble of other members there (the pipeline, whose names are keys of its inputs);
    the command refuses to."""
    if method not in METHODS:
        raise ConfigError(f"unknown ensemble method '{method}' (valid: {', '.join(METHODS)})")
    if not run_dirs:
        raise RunError("no runs given; name at least one run folder to ensemble")
    if not name or any(c in name for c in "/\\") or name in (".", ".."):
        raise ConfigError(f"ensemble name '{name}' must be a plain folder name")
    out = Path(out_root) / name
    check_dir_target(out, "ensemble folder")  # before any member is read
    _check_member_list(run_dirs, out, replace)
    members = [load_member(d) for d in run_dirs]
    check_compatible(members)

    lp = {s: np.stack([member_log_probs(m.logits[s]) for m in members]) for s in members[0].logits}
    hold_labels = members[0].logits["holdout"].labels
    m = len(members)
    weights = fit_weights(lp["holdout"], hold_labels) if method == "weighted" else np.full(m, 1.0 / m)
    combined = {s: combine(v, method, weights).astype(np.float32) for s, v in lp.items()}
    temperature = fit_temperature(combined["holdout"], hold_labels)
    # the members' references combined as their competition logits are: the ensemble's reference for Ref-EM
    refs = member_references(members)

    out.mkdir(parents=True, exist_ok=True)
    _invalidate(out)
    np.save(out / "holdout_indices.npy", members[0].holdout_indices)
    outputs = {}
    ens = {}
    for split, scores in combined.items():
        ref = members[0].logits[split]
        ens[split] = Logits(ids=ref.ids, logits=scores, labels=ref.labels, tta=f"ensemble:{method}",
                            temperature=temperature)
        outputs[split] = save_logits(out / f"logits_{split}.npz", ens[split])
    stale = out / "logits_comp.npz"
    if "comp" not in combined and stale.exists():
        stale.unlink()
    if refs is not None:
        outputs["comp_reference"] = save_logits(out / REFERENCE_FILE, Logits(
            ids=ens["comp"].ids, logits=combine(np.stack([member_log_probs(r) for r in refs]), method,
                                                weights).astype(np.float32),
            labels=None, tta=f"ensemble:{method}", temperature=temperature))
    else:
        (out / REFERENCE_FILE).unlink(missing_ok=True)

    comp_complete = "comp" in combined and all(mb.comp_complete for mb in members)
    summary = {
        "name": name,
        "method": method,
        "members": [{"name": mb.name, "path": str(mb.folder), "weight": float(w),
                     "tta": mb.logits["holdout"].tta, "temperature": mb.logits["holdout"].temperature,
                     "holdout": _scores(mb.logits["holdout"]), "test": _scores(mb.logits["test"])}
                    for mb, w in zip(members, weights)],
        "ensemble": {"temperature": temperature, "holdout": _scores(ens["holdout"]), "test": _scores(ens["test"])},
        "comp_complete": comp_complete,
        "logits_encoding": {
            "mean_probs": "log mean temperature-scaled probability",
            "mean_logits": "mean temperature-scaled log-probability",
            "weighted": "log weighted-mean temperature-scaled probability",
            "vote": f"log of vote share + {VOTE_TIE_BREAK}/M x mean probability (tie-break), renormalised",
        }[method],
    }
    atomic_write_text(out / "ensemble.json", json.dumps(summary, indent=2))
    metrics = {"holdout_acc": ens["holdout"].accuracy, "test_acc": ens["test"].accuracy, "temperature": temperature}
    for i, mb in enumerate(members):
        metrics[f"member{i}_holdout_acc"] = mb.logits["holdout"].accuracy
        metrics[f"member{i}_test_acc"] = mb.logits["test"].accuracy
    inputs = {f"member{i}/logits_{s}": mb.folder / f"logits_{s}.npz"
              for i, mb in enumerate(members) for s in mb.logits}
    if refs is not None:
        inputs.update({f"member{i}/{REFERENCE_FILE}": mb.folder / REFERENCE_FILE for i, mb in enumerate(members)})
    write_manifest(out, "ensemble", config={"method": method, "members": [str(mb.folder) for mb in members]},
                   inputs=inputs, outputs={**outputs, "summary": out / "ensemble.json"}, metrics=metrics,
                   extra={"weights": [float(w) for w in weights], "comp_complete": comp_complete,
                          "comp_pickle_sha256": next((mb.comp_pickle for mb in members if mb.comp_pickle), None)})
    return out
