import numpy as np
import pytest
import torch

from kaggle_kit.bn_adapt import (BALANCE_ROUNDS, BALANCE_WEIGHT_CLIP, adapted_copy, balanced_adapted_copy,
                                 balanced_indices, equal_batches, image_batches)
from kaggle_kit.errors import ConfigError
from kaggle_kit.tensors import to_model_input

torch.set_num_threads(1)


def source_model(mean: torch.Tensor, var: torch.Tensor) -> torch.nn.Sequential:
    """BatchNorm on the inputs with the source's statistics, then a fixed linear head: eval mode, as trained."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 4))
    model[0].running_mean.copy_(mean)
    model[0].running_var.copy_(var)
    return model.eval()


def test_adapted_statistics_are_the_mean_of_the_batches_statistics_and_the_original_is_untouched():
    torch.manual_seed(1)
    batches = [torch.randn(50, 3) * torch.tensor([1.0, 2.0, 0.5]) + torch.tensor([3.0, -1.0, 0.0]) for _ in range(4)]
    model = source_model(torch.zeros(3), torch.ones(3))
    adapted = adapted_copy(model, batches)
    bn = adapted[0]
    assert torch.allclose(bn.running_mean, torch.stack([b.mean(0) for b in batches]).mean(0), atol=1e-6)
    assert torch.allclose(bn.running_var, torch.stack([b.var(0) for b in batches]).mean(0), atol=1e-5)
    assert not any(m.training for m in adapted.modules())
    assert torch.equal(model[0].running_mean, torch.zeros(3)) and torch.equal(model[0].running_var, torch.ones(3))
    assert model[0].momentum == 0.1 and not model.training
    assert torch.equal(adapted[1].weight, model[1].weight)


def test_a_shift_of_the_inputs_scale_and_offset_is_undone_by_the_adapted_statistics():
    # the known answer: for BatchNorm on the inputs, target = a * source + b normalises to exactly the source's
    # normalised values once the statistics are the target's, so the adapted model on the target gives the
    # source model's outputs on the source
    gen = torch.Generator().manual_seed(2)
    source = torch.randn(2000, 3, generator=gen) * torch.tensor([2.0, 1.0, 3.0]) + torch.tensor([1.0, 0.0, -2.0])
    model = source_model(source.mean(0), source.var(0))
    target = 0.4 * source + torch.tensor([5.0, -3.0, 1.0])
    adapted = adapted_copy(model, target.split(500))
    with torch.no_grad():
        assert torch.allclose(adapted(target), model(source), atol=1e-2)
        assert not torch.allclose(model(target), model(source), atol=0.5)   # the trained statistics are off


def test_dropout_stays_off_while_the_statistics_are_estimated():
    model = torch.nn.Sequential(torch.nn.Dropout(0.5), torch.nn.BatchNorm1d(2)).eval()
    x = torch.ones(100, 2) * torch.tensor([2.0, 3.0])
    adapted = adapted_copy(model, [x])
    # dropout on would zero half the inputs and double the rest: the mean would stay near, the variance would not
    assert torch.allclose(adapted[1].running_var, torch.zeros(2), atol=1e-6)
    assert torch.allclose(adapted[1].running_mean, torch.tensor([2.0, 3.0]))


def test_a_model_without_batchnorm_is_refused_naming_the_setting():
    with pytest.raises(ConfigError, match=r"^predict.adapt_bn: the model has no BatchNorm layer"):
        adapted_copy(torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.LayerNorm(2)), [torch.randn(4, 3)])


@pytest.mark.parametrize("n, batch", [(10, 3), (1000, 1000), (1001, 1000), (7, 1), (2, 500), (9999, 1000)])
def test_equal_batches_cover_every_image_once_in_sizes_at_most_one_apart(n, batch):
    parts = equal_batches(n, batch)
    assert np.array_equal(np.concatenate(parts), np.arange(n))
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 2
    assert max(sizes) <= batch or batch < 2


@pytest.mark.parametrize("n, words", [(0, "0 competition images"), (1, "1 competition image")])
def test_fewer_than_two_images_are_refused(n, words):
    with pytest.raises(ConfigError, match=rf"^predict.adapt_bn: {words} cannot give BatchNorm statistics \(at least "
                                          rf"2 are needed\)$"):
        equal_batches(n, 1000)


def test_image_batches_are_the_model_inputs_of_the_images_in_equal_batches():
    images = np.random.default_rng(0).integers(0, 256, (25, 32, 32, 3), dtype=np.uint8)
    got = list(image_batches(images, 10, "cpu"))
    assert [len(b) for b in got] == [9, 8, 8]
    assert torch.equal(torch.cat(got), to_model_input(images, "cpu", channels_last=False))


def test_balanced_indices_give_each_predicted_class_its_training_share_using_every_image_before_repeating_one():
    predicted = np.repeat([0, 1, 2], [600, 300, 100])
    idx = balanced_indices(predicted, np.full(3, 1 / 3))
    assert len(idx) == 1000
    assert sorted(np.bincount(predicted[idx])) == [333, 333, 334]
    uses = np.bincount(idx, minlength=1000)
    assert set(uses[:600]) == {0, 1} and set(uses[600:900]) == {1, 2} and set(uses[900:]) == {3, 4}
    assert not np.array_equal(np.sort(predicted[idx]), predicted[idx])          # shuffled: batches mix the classes
    assert np.array_equal(idx, balanced_indices(predicted, np.full(3, 1 / 3)))  # seeded


def test_a_set_with_the_training_mix_is_every_image_once():
    predicted = np.tile(np.arange(4), 25)
    assert np.array_equal(np.sort(balanced_indices(predicted, np.full(4, 0.25))), np.arange(100))


def test_a_class_predicted_almost_never_is_not_repeated_beyond_the_clip_and_an_absent_class_gets_nothing():
    predicted = np.r_[np.zeros(998, int), 1, 1]   # class 2 never predicted
    idx = balanced_indices(predicted, np.full(3, 1 / 3))
    counts = np.bincount(predicted[idx], minlength=3)
    # weights (1/3)/0.998 and (1/3)/0.002 = 167, clipped to 5: masses 1/3 and 0.01, so 971 and 29 of 1,000 draws
    # (the two class-1 images about 15 times each, not 167)
    assert BALANCE_WEIGHT_CLIP == 5.0 and counts.tolist() == [971, 29, 0]


def _two_class_features(n0: int, n1: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.r_[rng.normal(-3, 0.5, n0), rng.normal(3, 0.5, n1)].astype(np.float32)[rng.permutation(n0 + n1), None]


def _trained_on_equal_shares() -> torch.nn.Sequential:
    """BatchNorm on the feature with the statistics of equal shares of the two classes (mean 0, variance 9.25)."""
    source = _two_class_features(1000, 1000, 0)
    model = torch.nn.Sequential(torch.nn.BatchNorm1d(1)).eval()
    model[0].running_mean.fill_(float(source.mean()))
    model[0].running_var.fill_(float(source.var()))
    return model


def batches_of(x: np.ndarray) -> list[torch.Tensor]:
    return [torch.from_numpy(x[i]) for i in equal_batches(len(x), 500)]


def sign_predictor(seen: list):
    """The class by the feature's sign, as a model separating the two would; records each model's running mean."""
    def predict(m, x):
        seen.append(float(m[0].running_mean))
        return np.eye(2)[(x[:, 0] > 0).astype(int)]
    return predict


def test_balanced_statistics_are_those_of_the_training_class_mix_when_only_the_mix_moved():
    # the known answer: two classes at -3 and +3 (sd 0.5), trained on equal shares (mean 0, variance 9.25);
    # the target has them 9:1. Unweighted statistics follow the mix (mean -2.4), balanced ones the training mix.
    model, target = _trained_on_equal_shares(), _two_class_features(1800, 200, 1)
    seen = []
    predict = sign_predictor(seen)
    plain = adapted_copy(model, batches_of(target))[0]
    balanced = balanced_adapted_copy(model, target, np.array([0.5, 0.5]), batches_of, predict, rounds=1)[0]
    assert float(plain.running_mean) == pytest.approx(-2.4, abs=0.1)
    assert seen == [pytest.approx(float(plain.running_mean))]   # the pseudo-labels come from the plain adaptation
    assert float(balanced.running_mean) == pytest.approx(0.0, abs=0.15)
    assert float(balanced.running_var) == pytest.approx(9.25, rel=0.05)
    assert float(model[0].running_mean) == float(_trained_on_equal_shares()[0].running_mean)  # untouched


def test_each_further_round_takes_its_weights_from_the_previous_rounds_copy():
    model, target = _trained_on_equal_shares(), _two_class_features(1800, 200, 1)
    seen = []
    predict = sign_predictor(seen)
    once = balanced_adapted_copy(model, target, np.array([0.5, 0.5]), batches_of, predict, rounds=1)[0]
    seen.clear()
    thrice = balanced_adapted_copy(model, target, np.array([0.5, 0.5]), batches_of, predict)[0]
    assert BALANCE_ROUNDS == 3 and len(seen) == 3 and seen[0] == pytest.approx(-2.4, abs=0.1)
    assert seen[1] == pytest.approx(float(once.running_mean)) and seen[2] == pytest.approx(float(once.running_mean))
    assert float(thrice.running_mean) == pytest.approx(float(once.running_mean))  # same labels: the same fixed point
