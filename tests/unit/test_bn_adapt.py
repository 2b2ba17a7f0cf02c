import numpy as np
import pytest
import torch

from kaggle_kit.bn_adapt import adapted_copy, equal_batches, image_batches
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
