"""Covariate shift, measured: can a classifier tell training images from competition images, and how?

A domain classifier with cross-validated AUC near 0.5 means the pixels look alike; near 1 means a model can
see the difference, so the network can too. Features are the named ``image_stats`` (so the report can say
*which* difference) plus a 4x4 colour thumbnail (layout and colour composition). Near-duplicates use 8x8
thumbnails with the mean removed and unit norm, so brightness / contrast / mild blur changes still match, and
compare each image's mirror image too, so a left-right flipped copy matches.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from kaggle_kit.background import check, openmp_threads
from kaggle_kit.gap.image_stats import FEATURES, image_features


def _pool(images: np.ndarray, size: int) -> np.ndarray:
    """Average-pool (N, 32, 32, 3) uint8 to (N, size, size, 3) float32 on 0-1.

    Summed as integers, rows then columns (4x faster than one float32 mean over two strided axes), then divided
    in float32 as the mean does: sums of uint8 are exact in float32 in any order, so the values are the mean's."""
    n, h, w, c = images.shape
    k = h // size
    rows = images.reshape(n * size, k, w * c).sum(axis=1, dtype=np.uint32)
    sums = rows.reshape(n, size, size, k, c).sum(axis=3, dtype=np.uint32)
    return sums.astype(np.float32) / np.float32(k * k) / 255.0


def domain_features(images: np.ndarray) -> tuple[np.ndarray, list[str]]:
    stats = image_features(images)
    names = list(FEATURES) + [f"thumb_{ch}_{i // 4}_{i % 4}" for ch in "rgb" for i in range(16)]
    thumb_cols = _pool(images, 4).transpose(0, 3, 1, 2).reshape(len(images), -1)  # channel-major, matches names
    return np.column_stack([stats[k] for k in FEATURES] + [thumb_cols]), names


@dataclass(frozen=True)
class DomainResult:
    auc: float
    ci: tuple[float, float]          # cross-validated AUC's interval: the bootstrap's, widened (cv_auc_ci)
    n_per_side: int
    feature_auc: dict[str, float]    # univariate AUC of each named statistic (> 0.5: higher in the target)
    importance: dict[str, float]     # permutation importance (AUC drop) of every feature, largest first
    oof_scores: np.ndarray = field(repr=False)
    is_target: np.ndarray = field(repr=False)
    stats: np.ndarray = field(repr=False)  # (2 n_per_side, len(FEATURES)) statistics of the images, as is_target

    def side_stats(self, target: bool) -> dict[str, np.ndarray]:
        """{statistic: its value on each image of one side (training: False)}, computed once for the classifier."""
        rows = self.is_target == int(target)
        return {k: self.stats[rows, i] for i, k in enumerate(FEATURES)}


def _subsample(images: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return images if len(images) <= n else images[np.sort(rng.choice(len(images), n, replace=False))]


def bootstrap_auc_ci(y: np.ndarray, s: np.ndarray, n_boot: int = 200, level: float = 0.95,
                     seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    aucs = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        if y[idx].min() != y[idx].max():
            aucs.append(roc_auc_score(y[idx], s[idx]))
    lo, hi = np.percentile(aucs, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def cv_auc_ci(y: np.ndarray, s: np.ndarray, folds: int, n_boot: int = 200, level: float = 0.95,
              seed: int = 0) -> tuple[float, float]:
    """Interval of a ``folds``-fold cross-validated AUC: the bootstrap's, widened for what the bootstrap misses.

    Resampling the out-of-fold scores holds the fold models fixed. Refitted on a fresh sample they would move
    together with their test folds, because any two folds' models share (folds - 2) / (folds - 1) of their
    training images: the folds' AUCs correlate, and the pooled AUC varies by more than the bootstrap says. With
    Nadeau & Bengio's (2003) correlation 1 / folds between folds (measured 0.13-0.17 at 200 and 5,000 a side,
    5 folds: benchmarks/bench_domain_ci.py), the variance grows by 1 + (folds - 1) / folds, so each half-width by
    sqrt(1.8) = 1.34 at 5 folds. Bare, the 95% interval held 0.5 in 83% of 172 no-shift trials at 200 a side.
    """
    auc = float(roc_auc_score(y, s))
    lo, hi = bootstrap_auc_ci(y, s, n_boot, level, seed)
    widen = np.sqrt(1 + (folds - 1) / folds)
    return max(0.0, min(lo, auc - widen * (auc - lo))), min(1.0, max(hi, auc + widen * (hi - auc)))


def domain_classifier(source_images: np.ndarray, target_images: np.ndarray, max_images: int = 5000,
                      folds: int = 5, n_boot: int = 200, seed: int = 0, n_threads: int = 1,
                      cancel: threading.Event | None = None) -> DomainResult | None:
    """Cross-validated gradient-boosted classifier: source (label 0) vs target (label 1), balanced sizes.

    ``n_threads`` caps OpenMP: on a busy shared machine the boosting's spin-waiting threads made it 40x slower.
    OpenMP only (``background.openmp_threads``): the report runs this in a thread beside CC-Synth's fits.
    ``cancel``: checked before each fold's fit and before the permutation importance (``background.check``).
    None when either side has fewer than ``folds`` images (a competition pickle of a few images): a fold would
    hold no image of that side, and scikit-learn stopped the whole report with its own error.
    """
    if min(len(source_images), len(target_images), max_images) < folds:
        return None
    with openmp_threads(n_threads):
        return _domain_classifier(source_images, target_images, max_images, folds, n_boot, seed, cancel)


def _domain_classifier(source_images: np.ndarray, target_images: np.ndarray, max_images: int, folds: int,
                       n_boot: int, seed: int, cancel: threading.Event | None = None) -> DomainResult:
    rng = np.random.default_rng(seed)
    n = min(max_images, len(source_images), len(target_images))
    src, tgt = _subsample(source_images, n, rng), _subsample(target_images, n, rng)
    x, names = domain_features(np.concatenate([src, tgt]))
    y = np.concatenate([np.zeros(n, dtype=int), np.ones(n, dtype=int)])
    clf = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.1, random_state=seed)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    # out-of-fold scores, as cross_val_predict makes them, keeping the first fold's model for the importance
    scores = np.empty(len(y))
    first = None
    for train_idx, test_idx in cv.split(x, y):
        check(cancel)
        model = clone(clf).fit(x[train_idx], y[train_idx])
        scores[test_idx] = model.predict_proba(x[test_idx])[:, 1]
        first = first or (model, test_idx)
    auc = float(roc_auc_score(y, scores))
    # importance on one held-out fold of a model fitted on the rest: which features the separation relies on
    model, test_idx = first
    check(cancel)
    perm = permutation_importance(model, x[test_idx], y[test_idx], scoring="roc_auc", n_repeats=3,
                                  random_state=seed)
    importance = dict(sorted(zip(names, perm.importances_mean.astype(float)), key=lambda kv: -kv[1]))
    feature_auc = {k: float(roc_auc_score(y, x[:, i])) for i, k in enumerate(FEATURES)}
    return DomainResult(auc=auc, ci=cv_auc_ci(y, scores, folds, n_boot, seed=seed), n_per_side=n,
                        feature_auc=feature_auc, importance=importance, oof_scores=scores, is_target=y,
                        stats=x[:, :len(FEATURES)])


def reweighted_domain_auc(source_stats: np.ndarray, target_stats: np.ndarray, source_weights: np.ndarray,
                          max_images: int = 5000, folds: int = 3, seed: int = 0) -> float | None:
    """Out-of-fold AUC of a classifier telling source from target image statistics, with the source re-weighted.

    With ``source_weights`` = q_y / p_y for the target's estimated class priors q, a pure change of class mix
    leaves nothing to separate (AUC 0.5) while any change in the pixels still shows: the estimators use it to
    tell label shift from covariate shift. None when either side keeps fewer than ``folds`` images
    (``reweighted_scores``).
    """
    scored = reweighted_scores(source_stats, target_stats, source_weights, max_images, folds, seed)
    return None if scored is None else float(roc_auc_score(*scored))


def reweighted_scores(source: np.ndarray, target: np.ndarray, source_weights: np.ndarray, max_images: int = 5000,
                      folds: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    """(side, out-of-fold score) of a boosted classifier telling ``source`` rows (side 0) from ``target`` rows (1).

    The re-weighting is done by rejection sampling (keep row i with probability w_i / max w), not sample weights:
    weighted binning made the boosting 4x slower, and drawing with replacement would put copies of one row on both
    sides of a fold. None when either side keeps fewer than ``folds`` rows (a smoke test's tiny holdout or
    competition subset): a fold would train on one side.
    """
    scored = _scored_rows(source, target, source_weights, max_images, folds, seed)
    return None if scored is None else scored[:2]


def _scored_rows(source: np.ndarray, target: np.ndarray, source_weights: np.ndarray, max_images: int = 5000,
                 folds: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``reweighted_scores``' (side, score) and the ``target`` row of each target-side score, in order."""
    rng = np.random.default_rng(seed)
    w = np.asarray(source_weights, dtype=np.float64)
    kept = np.flatnonzero(rng.uniform(size=len(w)) * w.max() < w)
    src_idx = np.sort(rng.choice(kept, min(max_images, len(kept)), replace=False))
    tgt_idx = np.sort(rng.choice(len(target), min(max_images, len(target)), replace=False))
    if min(len(src_idx), len(tgt_idx)) < folds:
        return None
    x = np.concatenate([source[src_idx], target[tgt_idx]])
    y = np.concatenate([np.zeros(len(src_idx), dtype=int), np.ones(len(tgt_idx), dtype=int)])
    clf = HistGradientBoostingClassifier(max_iter=40, learning_rate=0.2, max_leaf_nodes=15, random_state=seed)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with openmp_threads(1):
        return y, cross_val_predict(clf, x, y, cv=cv, method="predict_proba")[:, 1], tgt_idx


# The source-score quantiles at which ``holdout_like_share`` compares the two sides' shares: below the 10th the
# ratio rests on too few rows to be steady, and above the 90th a mixture's changed rows crowd in.
SHARE_QUANTILES = np.linspace(0.1, 0.9, 33)


@dataclass(frozen=True)
class HoldoutLike:
    """A target set read as a mixture of rows drawn like the source and changed rows (``holdout_like_split``)."""
    share: float          # the largest share of target rows that could be drawn like the source rows
    like: np.ndarray      # target rows: the share of those scored that look most like the source, by score
    unlike: np.ndarray    # the other (1 - share) of them
    # how far apart the two parts score: the unlike part's median classifier score minus the like part's, in the
    # source scores' standard deviations (0 where a part is empty). A mixture's broken rows stand apart (1.5 to 6.7,
    # median 3.4, where a share of the images was broken on checks 38-40); a mild change of every row that the share
    # reads as a mixture does not (1.1 to 1.7, median 1.35): one normal population cut at a share of 0.4 to 0.6 puts
    # its two parts' medians 1.35 deviations apart, 1.6 at 0.85.
    separation: float = 0.0


def holdout_like_split(source: np.ndarray, target: np.ndarray, seed: int = 0,
                       source_weights: np.ndarray | None = None) -> HoldoutLike | None:
    """The largest share of ``target`` rows that could be drawn like the ``source`` rows, and which rows: a
    mixture-proportion estimate (the fewest target rows, relative to source rows, among those the classifier of
    ``reweighted_scores`` finds most source-like). Near 1 where the two sides look alike, near 0 where every target
    row changed, and near the unchanged share where only some rows changed (a set of which a share is broken), which
    an estimate read on the whole set cannot tell from a milder change of every row. A change of class mix alone
    lowers it too: by default the source is not re-weighted to the target's estimated priors, which a mixture's
    broken share throws off. ``like`` and ``unlike``: on such a mixture, the rows that stand for its unchanged and
    its broken part (of the target rows scored, at most 5,000), and how far apart the two score (``separation``:
    Ref-Sep's tell of a true mixture from one population cut in two). ``source_weights`` re-weight the source as
    ``reweighted_scores`` does (q_y / p_y for EM's priors q: Ref-Parts, adopted by check 45). None where
    ``reweighted_scores`` is."""
    weights = np.ones(len(source)) if source_weights is None else source_weights
    scored = _scored_rows(source, target, weights, seed=seed)
    if scored is None:
        return None
    side, score, rows = scored
    order = np.argsort(score[side == 1], kind="stable")  # the target rows by score: sorted once, for both uses
    src, tgt = np.sort(score[side == 0]), score[side == 1][order]
    cuts = np.quantile(src, SHARE_QUANTILES)
    ratio = (np.searchsorted(tgt, cuts, side="right") / len(tgt)) / (np.searchsorted(src, cuts, side="right")
                                                                       / len(src))
    share = float(min(1.0, ratio.min()))
    cut = int(round(share * len(rows)))
    return HoldoutLike(share, rows[order[:cut]], rows[order[cut:]], _separation(tgt, cut, np.std(src)))


def _separation(sorted_target_scores: np.ndarray, cut: int, source_spread: float) -> float:
    """``HoldoutLike.separation`` of the target scores split at ``cut``."""
    like, unlike = sorted_target_scores[:cut], sorted_target_scores[cut:]
    if not (len(like) and len(unlike)) or source_spread <= 0:
        return 0.0
    return float((np.median(unlike) - np.median(like)) / source_spread)


def holdout_like_share(source: np.ndarray, target: np.ndarray, seed: int = 0) -> float | None:
    """``holdout_like_split``'s share alone."""
    split = holdout_like_split(source, target, seed)
    return None if split is None else split.share


# ------------------------------------------------------------------------------------------ near-duplicates
def _dup_vectors(images: np.ndarray) -> np.ndarray:
    v = _pool(images, 8).reshape(len(images), -1)
    v = v - v.mean(1, keepdims=True)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-6)


def _best_match(sims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    idx = sims.argmax(1)
    return idx, sims[np.arange(len(sims)), idx]


@dataclass(frozen=True)
class NearDuplicates:
    max_similarity: np.ndarray       # (N_target,) cosine similarity to the closest reference image
    nearest: np.ndarray              # (N_target,) index of that reference image
    counts: dict[float, int]         # threshold -> number of target images at or above it
    mirrored: np.ndarray             # (N_target,) bool: the closest match is of the target's left-right mirror image
    mirrored_counts: dict[float, int]  # threshold -> how many of ``counts`` matched through their mirror image


def near_duplicates(target_images: np.ndarray, reference_images: np.ndarray,
                    thresholds: tuple[float, ...] = (0.95, 0.97, 0.99), chunk: int = 512,
                    cancel: threading.Event | None = None) -> NearDuplicates:
    """Closest reference image of every target image, or of its mirror image, by cosine similarity of normalised
    8x8 thumbnails.

    A left-right flip is the commonest augmentation and a common way a test set leaks, and a flipped copy shares
    little with its original's thumbnail (0.6% of flipped CIFAR-10 training images reached 0.97). The mirror
    image's thumbnail is the thumbnail's columns reversed (4x4 blocks flip onto blocks). ``cancel``: checked
    before each chunk."""
    ref = _dup_vectors(reference_images).T.copy()
    best = np.empty(len(target_images), dtype=np.float32)
    arg = np.empty(len(target_images), dtype=np.int64)
    mirrored = np.empty(len(target_images), dtype=bool)
    for start in range(0, len(target_images), chunk):
        check(cancel)
        v = _dup_vectors(target_images[start:start + chunk])
        m = len(v)
        flipped = v.reshape(m, 8, 8, 3)[:, :, ::-1].reshape(m, -1)
        # two products of m rows, not one of 2m: the same shapes as without the mirror, so the same float32 sums
        (idx, top), (idx_f, top_f) = (_best_match(x @ ref) for x in (v, flipped))
        flip = top_f > top  # ties go to the image as it is
        rows = slice(start, start + m)
        mirrored[rows] = flip
        arg[rows] = np.where(flip, idx_f, idx)
        best[rows] = np.where(flip, top_f, top)
    at_least = {float(t): best >= t for t in thresholds}
    counts = {t: int(hit.sum()) for t, hit in at_least.items()}
    mirrored_counts = {t: int((hit & mirrored).sum()) for t, hit in at_least.items()}
    return NearDuplicates(max_similarity=best, nearest=arg, counts=counts, mirrored=mirrored,
                          mirrored_counts=mirrored_counts)
