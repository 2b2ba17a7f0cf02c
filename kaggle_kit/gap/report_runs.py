"""A run folder as the gap report sees it: its logits, its ensemble members, and every estimate computed from them.

``leaderboard_prediction`` is what the upload step records: the recommended estimator's prediction of a run's
leaderboard accuracy and the range to expect, before anything is submitted. ``predict_leaderboard`` gives every
estimator's (for notebooks).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from kaggle_kit.config import ReportConfig
from kaggle_kit.data import Cifar10, CompetitionSet
from kaggle_kit.errors import RunError
from kaggle_kit.gap import estimators
from kaggle_kit.runs import (NUM_CLASSES, Logits, RecipeKeys, ensemble_summary, load_logits, load_reference,
                             member_candidates, member_names, read_manifest, recipe_keys)


@dataclass
class RunView:
    folder: Path
    name: str
    holdout: Logits
    test: Logits | None
    comp: Logits
    result: dict                      # estimators.estimate_all on the competition logits
    test_result: dict | None          # the same on the labeled CIFAR-10 test set: a sanity check
    members: list[str] = field(default_factory=list)
    member_agreement: tuple[float, float] | None = None  # (holdout, competition)
    recipe: RecipeKeys | None = None  # the ledger correction prefers this recipe's submissions
    # share of competition predictions that BatchNorm adaptation changed (``predict.adapt_bn``; an ensemble's: the
    # mean over its members that adapted); None when the competition logits use the trained statistics
    adapt_bn_changed: float | None = None
    # ``estimators.predicted_adaptation_change`` from the run's BatchNorm reference: what re-estimating BatchNorm on
    # the competition images is predicted to add (a fraction); None without a reference or the images' statistics
    adapt_change: float | None = None


def adapt_bn_changed(folder: Path, members: Sequence[Path] | None = None) -> float | None:
    """``RunView.adapt_bn_changed`` from the predict manifest of the run, or of an ensemble's members (the mean over
    those that adapted); None when none did. ``members``: ``member_folders(folder)``, when already found."""
    shares = []
    for f in (member_folders(folder) if members is None else members) or [folder]:
        manifest = read_manifest(f, "predict") or {}
        share = (manifest.get("metrics") or {}).get("comp_changed_by_adapt_bn")
        if (manifest.get("config") or {}).get("adapt_bn") and share is not None:
            shares.append(float(share))
    return sum(shares) / len(shares) if shares else None


def _maybe(path: Path) -> Logits | None:
    return load_logits(path, NUM_CLASSES) if path.is_file() else None


def reference_logits(folder: Path, comp: Logits) -> np.ndarray | None:
    """The BatchNorm reference's logits beside ``comp`` (``runs.load_reference``), or None when there is none."""
    ref = load_reference(folder, comp.ids)
    return None if ref is None else ref.logits


def member_folders(folder: Path) -> list[Path]:
    """Member run folders of an ensemble (from its ensemble.json), resolved as written or beside the workdir;
    [] when any of them is not found (then no member-based estimate is made)."""
    members = (ensemble_summary(folder) or {}).get("members", [])
    out = []
    for m in members:
        for cand in member_candidates(folder, m.get("path", "")):
            if (cand / "logits_holdout.npz").is_file() and (cand / "logits_comp.npz").is_file():
                out.append(cand)
                break
    return out if len(out) == len(members) else []


def _positions(all_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Row of each of ``ids`` in ``all_ids`` (logits may cover a subset of the competition set)."""
    order = np.argsort(all_ids)
    pos = np.searchsorted(all_ids, ids, sorter=order)
    pos = order[np.clip(pos, 0, len(all_ids) - 1)]
    if not np.array_equal(all_ids[pos], ids):
        raise RunError("the run's competition logits name ids that are not in the competition pickle; "
                       "predict the run again on this competition set")
    return pos


def load_run(folder: str | Path, data: Cifar10 | None = None, comp: CompetitionSet | None = None,
             synthetic_per_set: int = 300, with_test: bool = True, with_adapt: bool = False) -> RunView:
    """A run's logits and every estimate; with ``data`` and ``comp`` also CC-Synth (needs weights or members).
    ``with_test=False`` skips the estimates on the CIFAR-10 test set (the report's sanity check) when only the
    competition prediction is wanted. ``with_adapt`` adds ``RunView.adapt_change`` (the estimators read once more,
    on the BatchNorm reference: about a second for 10,000 images), which only the report's advice uses."""
    from kaggle_kit.gap.synthetic import stats_matrix
    from kaggle_kit.gap.synthetic_io import run_synthetic

    folder = Path(folder)
    holdout = load_logits(folder / "logits_holdout.npz", NUM_CLASSES)
    comp_logits = load_logits(folder / "logits_comp.npz", NUM_CLASSES)
    if holdout.labels is None or len(holdout.labels) == 0:
        raise RunError(f"{folder}: the holdout logits have no labels; the estimators need a labeled holdout")
    test = _maybe(folder / "logits_test.npz")
    member_dirs = member_folders(folder)
    members_arg = None
    agreement = None
    if len(member_dirs) >= 2:
        mh = [load_logits(d / "logits_holdout.npz", NUM_CLASSES).logits for d in member_dirs]
        mc = [load_logits(d / "logits_comp.npz", NUM_CLASSES).logits for d in member_dirs]
        members_arg = (mh, mc)
        agreement = (estimators.agreement([m.argmax(1) for m in mh]), estimators.agreement([m.argmax(1) for m in mc]))
    syn = comp_stats = test_stats = holdout_stats = None
    if data is not None and comp is not None:
        # image statistics: Shift-Gated needs them for every run, CC-Synth also needs the synthetic logits
        holdout_stats = stats_matrix(data.train_images[holdout.ids])
        comp_stats = stats_matrix(comp.images[_positions(comp.ids, comp_logits.ids)])
        if test is not None and with_test:
            test_stats = stats_matrix(data.test_images[test.ids])
        if synthetic_per_set > 0:
            syn = run_synthetic(folder, data, per_set=synthetic_per_set)
    reference = reference_logits(folder, comp_logits)
    result = estimators.estimate_all(holdout.logits, holdout.labels, comp_logits.logits, members=members_arg,
                                     synthetic=syn, target_stats=comp_stats, holdout_stats=holdout_stats,
                                     reference_logits=reference)
    adapt_change = None
    if with_adapt and reference is not None and comp_stats is not None:
        # the reference read as the target, as bench_bn_adapt.py measured the adapted logits (its balanced3 rows)
        adapted = estimators.estimate_all(holdout.logits, holdout.labels, reference, target_stats=comp_stats,
                                          holdout_stats=holdout_stats, temperature=result["temperature"])
        adapt_change = estimators.predicted_adaptation_change(result["estimates"], adapted["estimates"])
    test_result = None
    if with_test and test is not None and test.labels is not None and len(test.labels):
        test_result = estimators.estimate_all(holdout.logits, holdout.labels, test.logits, synthetic=syn,
                                              target_stats=test_stats, holdout_stats=holdout_stats)
    return RunView(folder=folder, name=folder.name, holdout=holdout, test=test, comp=comp_logits, result=result,
                   test_result=test_result, members=member_names(folder), member_agreement=agreement,
                   recipe=recipe_keys(folder), adapt_bn_changed=adapt_bn_changed(folder, member_dirs),
                   adapt_change=adapt_change)


def predict_leaderboard(run_dir: str | Path, data: Cifar10 | None = None, comp: CompetitionSet | None = None,
                        cfg: ReportConfig | None = None) -> dict[str, float]:
    """Every estimator's predicted leaderboard accuracy from a run's holdout and competition logits.

    Includes "Agreement" for ensembles whose members' logits are found, CC-Synth when the images are available
    (``data``/``comp``, else looked up with ``locate_data``; without them only the logit-based estimators), and
    "recommended": the value of the estimator with the lowest measured error (``measured_error.json``) among
    those computed -- what to put in the ledger.
    """
    cfg = cfg or ReportConfig()
    if data is None or comp is None:
        data, comp = _find_data()
    view = load_run(run_dir, data, comp, cfg.synthetic_per_set, with_test=False)
    out = dict(view.result["estimates"])
    out["recommended"] = out[estimators.recommended_estimator(available=out)]
    return out


def leaderboard_prediction(run_dir: str | Path, data: Cifar10 | None = None, comp: CompetitionSet | None = None,
                           synthetic_per_set: int = 300) -> estimators.Prediction:
    """The recommended estimator's prediction and its expected range, as report section 2 gives it.

    With ``data`` and ``comp`` the image-based estimators are computed too (the synthetic logits are cached in
    the run folder, so the report reuses them); without, only those that need logits alone.
    """
    view = load_run(run_dir, data, comp, synthetic_per_set, with_test=False)
    return estimators.recommended_prediction(view.result)


def _find_data() -> tuple[Cifar10 | None, CompetitionSet | None]:
    from kaggle_kit.data import load_cifar10, load_competition
    from kaggle_kit.datapaths import reading_data
    from kaggle_kit.errors import DataNotFoundError

    try:
        with reading_data(require_comp=True) as paths:
            return load_cifar10(paths.cifar_dir), load_competition(paths.comp_pickle)
    except DataNotFoundError:
        return None, None
