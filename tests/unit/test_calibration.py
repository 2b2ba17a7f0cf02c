import numpy as np

from kaggle_kit.calibration import calibrated_probs, expected_calibration_error, fit_temperature, nll


def sampled(n: int = 20000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits z and labels drawn from softmax(z): z is perfectly calibrated at T = 1."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 10)) * 2.0
    p = calibrated_probs(z)
    labels = (p.cumsum(1) > rng.random((n, 1))).argmax(1)
    return z, labels


def test_recovers_the_temperature_that_was_applied():
    z, y = sampled()
    for true_t in (0.5, 1.0, 3.0):
        fitted = fit_temperature(z * true_t, y)
        assert abs(fitted / true_t - 1) < 0.05, (true_t, fitted)


def test_fitted_temperature_minimises_holdout_nll():
    z, y = sampled(seed=1)
    over = z * 4.0  # over-confident, like a trained network
    t = fit_temperature(over, y)
    best = nll(over, y, t)
    assert best < nll(over, y, 1.0)
    assert best <= nll(over, y, t * 1.02) and best <= nll(over, y, t / 1.02)


def test_ece_drops_after_scaling_and_predictions_stay():
    z, y = sampled(seed=2)
    over = z * 4.0
    t = fit_temperature(over, y)
    raw_ece = expected_calibration_error(calibrated_probs(over), y)
    cal_ece = expected_calibration_error(calibrated_probs(over, t), y)
    assert raw_ece > 0.1 and cal_ece < 0.02
    assert np.array_equal(calibrated_probs(over, t).argmax(1), over.argmax(1))


def test_empty_holdout_keeps_t_equal_one():
    assert fit_temperature(np.zeros((0, 10)), np.zeros(0, dtype=np.int64)) == 1.0


def test_ece_puts_a_confidence_of_exactly_one_in_the_top_bin():
    """A confidence of 1.0 in a bin of its own would not offset the other top-bin image: 0.53 instead of 0.47."""
    probs = np.array([[1.0, 0.0], [0.94, 0.06]])  # wrong at 100%, right at 94%: one bin of 15, gap |1 - 1.94|
    assert abs(expected_calibration_error(probs, np.array([1, 0])) - 0.94 / 2) < 1e-12
