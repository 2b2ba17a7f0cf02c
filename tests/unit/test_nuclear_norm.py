"""NucNorm (``kaggle_kit.gap.nuclear_norm``) on tiny arrays: the norm's two ends, the groups it fits on (the
left-out family's images excluded), and the line it reads the target's accuracy from."""
from __future__ import annotations

import numpy as np
import pytest

from kaggle_kit.calibration import calibrated_probs
from kaggle_kit.gap import nuclear_norm as nuc
from kaggle_kit.gap.synthetic import SyntheticLogits


def test_the_norm_is_one_for_confident_predictions_spread_over_every_class_and_lower_otherwise():
    k = 10
    spread = np.eye(k)[np.arange(200) % k]
    piled = np.eye(k)[np.zeros(200, int)]
    uniform = np.full((200, k), 1 / k)
    assert nuc.normalized_nuclear_norm(spread) == pytest.approx(1.0)
    assert nuc.normalized_nuclear_norm(piled) == pytest.approx(1 / np.sqrt(k))
    assert nuc.normalized_nuclear_norm(uniform) == pytest.approx(1 / k)
    assert nuc.normalized_nuclear_norm(spread[:50]) == pytest.approx(1.0)  # whatever the image count


def pool(n_per=20, logits=None, labels=None) -> SyntheticLogits:
    """Family 0 and 1 alone at severities 1-2, and the pair (0 then 1): CC-Synth's own pool type, so that the
    left-out family is dropped by its ``kept``."""
    family, severity, family2 = [], [], []
    for f, s, f2 in ((0, 1, -1), (0, 2, -1), (1, 1, -1), (1, 2, -1), (0, 1, 1)):
        family += [f] * n_per
        severity += [s] * n_per
        family2 += [f2] * n_per
    m = len(family)
    return SyntheticLogits(logits=np.zeros((m, 10), np.float32) if logits is None else logits,
                           labels=np.zeros(m, int) if labels is None else labels, family=np.array(family),
                           severity=np.array(severity), index=np.arange(m), stats=np.zeros((m, 1)),
                           holdout_stats=np.zeros((1, 1)), families=("blur", "noise"), family2=np.array(family2))


def test_groups_are_family_severity_and_pairs_with_the_left_out_family_dropped_from_both_places():
    p = pool()
    assert [len(g) for g in nuc.pool_groups(p, ())] == [20] * 5
    left = nuc.pool_groups(p, ("noise",))
    assert len(left) == 2 and all(set(p.family[g]) == {0} and set(p.family2[g]) == {-1} for g in left)


def test_the_estimate_reads_the_fitted_line_at_the_targets_norm():
    rng = np.random.default_rng(0)
    k, n = 10, 40
    labels = np.arange(n) % k

    def logits(acc: float, count: int) -> np.ndarray:
        """Confident predictions, right for the first ``acc`` share, all piled on class 0 otherwise."""
        y = np.arange(count) % k
        pred = np.where(np.arange(count) < acc * count, y, 0)
        return 20 * np.eye(k, dtype=np.float32)[pred] + rng.normal(0, 1e-3, (count, k)).astype(np.float32)

    accs = {0: 0.9, 1: 0.8, 2: 0.6, 3: 0.5, 4: 0.3}
    p = pool(n, np.concatenate([logits(accs[g], n) for g in range(5)]), np.tile(labels, 5))
    hold, target = logits(1.0, n), logits(0.7, 400)
    points = [(nuc.normalized_nuclear_norm(calibrated_probs(hold, 1.0)), 1.0)]
    for g in range(5):  # measured, not nominal: a "wrong" prediction of class 0 is right on a class-0 image
        lg = p.logits[g * n:(g + 1) * n]
        points.append((nuc.normalized_nuclear_norm(calibrated_probs(lg, 1.0)), (lg.argmax(1) == labels).mean()))
    slope, intercept = np.polyfit(*np.array(points).T, 1)
    expected = slope * nuc.normalized_nuclear_norm(calibrated_probs(target, 1.0)) + intercept
    assert nuc.nuclear_norm_estimate(hold, labels, target, 1.0, p, ()) == pytest.approx(expected)
    assert slope > 0 and 0.5 < expected < 0.9
    worse = nuc.nuclear_norm_estimate(hold, labels, logits(0.2, 400), 1.0, p, ())
    assert 0.0 <= worse < expected
