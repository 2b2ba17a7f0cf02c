import numpy as np
import pytest
import torch
import torch.nn.functional as F

from kaggle_kit.errors import ConfigError
from kaggle_kit.predict import logits_for_images
from kaggle_kit.tensors import to_model_input
from kaggle_kit.tta import (PLAIN, forward_tta, hflip, make_plan, parse_view, shift, stack_views)

torch.set_num_threads(1)


def tiny_net(seed: int = 0) -> torch.nn.Module:
    """A random, deliberately non-mirror-symmetric CNN: flips and shifts change its output."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 8, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(8 * 16 * 16, 10),
    ).eval()


def images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)


def test_shift_moves_content_right_and_down_and_pads():
    x = torch.arange(16.0).view(1, 1, 4, 4) + 1
    right = shift(x, 1, 0, "reflect")
    assert torch.equal(right[..., :, 1:], x[..., :, :-1])
    assert torch.equal(right[..., :, 0], x[..., :, 1])            # reflect: column 1 mirrored into the gap
    down = shift(x, 0, 1, "zeros")
    assert torch.equal(down[..., 1:, :], x[..., :-1, :])
    assert torch.equal(down[..., 0, :], torch.zeros(1, 1, 4))
    assert torch.equal(shift(shift(x, 1, 1), -1, -1)[..., 1:-1, 1:-1], x[..., 1:-1, 1:-1])


def test_flip_translate_is_airbench_level_2():
    plan = make_plan("flip+translate")
    assert plan.n_views == 6
    assert plan.weights == (0.25, 0.25, 0.125, 0.125, 0.125, 0.125)
    x = torch.randn(2, 3, 32, 32)
    padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
    views = stack_views(x, plan).view(6, 2, 3, 32, 32)
    expected = [x, x.flip(-1), padded[..., 0:32, 0:32], padded[..., 0:32, 0:32].flip(-1),
                padded[..., 2:34, 2:34], padded[..., 2:34, 2:34].flip(-1)]
    for got, want in zip(views, expected):
        assert torch.equal(got, want)


@pytest.mark.parametrize("bad", ["rotate", "shift:1", "shift:a,b", "shift:20,0", "hflip+zoom"])
def test_bad_view_names_are_refused(bad):
    with pytest.raises(ConfigError, match="view"):
        parse_view(bad)


def test_plan_config_errors():
    with pytest.raises(ConfigError, match="views is empty"):
        make_plan("custom")
    with pytest.raises(ConfigError, match="only used with tta: custom"):
        make_plan("flip", ("hflip",))
    with pytest.raises(ConfigError, match="unknown TTA level"):
        make_plan("flip+rotate")
    with pytest.raises(ConfigError, match="average"):
        make_plan("flip", average="median")
    assert make_plan("custom", ("identity", "shift:1,0")).weights == (0.5, 0.5)


def test_flip_of_symmetric_image_gives_identical_logits():
    net = tiny_net()
    half = images(4)[:, :, :16]
    sym = np.concatenate([half, half[:, :, ::-1]], axis=2)
    x = to_model_input(sym, "cpu", channels_last=False)
    assert torch.equal(hflip(x), x)
    with torch.no_grad():
        both = net(stack_views(x, make_plan("flip"))).view(2, 4, 10)
        torch.testing.assert_close(both[0], both[1], rtol=0, atol=1e-6)
        torch.testing.assert_close(forward_tta(net, x, make_plan("flip")), net(x), rtol=0, atol=1e-6)
        # control: the same net does tell an asymmetric image from its mirror
        y = to_model_input(images(4, seed=1), "cpu", channels_last=False)
        assert (net(y) - net(hflip(y))).abs().max() > 1e-3


def test_tta_none_equals_plain_forward():
    net = tiny_net()
    imgs = images(10)
    with torch.no_grad():
        plain = net(to_model_input(imgs, "cpu", channels_last=False)).numpy()
    one_batch = logits_for_images(net, imgs, make_plan("none"), num_classes=10, batch_size=64)
    assert np.array_equal(one_batch, plain)
    chunked = logits_for_images(net, imgs, PLAIN, num_classes=10, batch_size=3)
    np.testing.assert_allclose(chunked, plain, rtol=1e-5, atol=1e-5)


def test_views_are_batched_one_forward_per_chunk():
    net = tiny_net()
    sizes = []
    net.register_forward_hook(lambda mod, inp, out: sizes.append(inp[0].shape[0]))
    logits_for_images(net, images(10), make_plan("flip+translate"), num_classes=10, batch_size=24)
    assert sizes == [24, 24, 12]   # 4 images x 6 views per forward, never one forward per image


@pytest.mark.parametrize("average", ["logits", "probs"])
def test_tta_equals_weighted_average_of_single_views(average):
    net = tiny_net()
    imgs = images(5)
    plan = make_plan("flip+translate", average=average)
    got = logits_for_images(net, imgs, plan, num_classes=10, batch_size=1000)
    x = to_model_input(imgs, "cpu", channels_last=False)
    with torch.no_grad():
        per_view = [net(v) for v in stack_views(x, plan).split(5)]
    w = plan.weights
    if average == "logits":
        want = sum(wi * v for wi, v in zip(w, per_view))
    else:
        want = torch.log(sum(wi * v.softmax(-1) for wi, v in zip(w, per_view)))
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-5)


def test_describe_names_the_views():
    assert make_plan("none").describe() == "none"
    text = make_plan("flip+translate", pad="zeros").describe()
    assert "shift:-1,-1+hflip" in text and "pad=zeros" in text and "average=logits" in text


def test_shift_limit_is_inclusive_at_max_shift_px():
    """An off-by-one on MAX_SHIFT_PX would refuse an 8-pixel shift the docs allow (or allow 9)."""
    assert parse_view("shift:8,-8") == (("shift", 8, -8),)
    with pytest.raises(ConfigError, match="limited to 8 px"):
        parse_view("shift:0,9")


def test_plan_weights_must_sum_to_one():
    """Weights summing to 1.1 would scale every TTA logit (and the probs average's log) without a word."""
    from kaggle_kit.tta import TTAPlan
    with pytest.raises(ConfigError, match="sum to 1"):
        TTAPlan("custom", ("identity", "hflip"), (0.5, 0.6))
    with pytest.raises(ConfigError, match="one per view"):
        TTAPlan("custom", ("identity", "hflip"), (1.0,))
    assert TTAPlan("custom", ("identity", "hflip"), (0.25, 0.75)).weights == (0.25, 0.75)


def test_a_single_custom_view_is_applied_not_skipped():
    """The one-view shortcut taken for any single view would predict on unflipped images for views: [hflip]."""
    x = torch.arange(8.0).view(1, 1, 2, 4)
    assert torch.equal(stack_views(x, make_plan("custom", ("hflip",))), x.flip(-1))
    assert torch.equal(stack_views(x, make_plan("custom", ("identity",))), x)


def test_custom_views_keep_the_requested_padding():
    """A custom plan that dropped pad would shift with reflect padding when zeros was asked for."""
    plan = make_plan("custom", ("shift:1,0",), pad="zeros")
    assert plan.pad == "zeros"
    x = torch.arange(1.0, 9.0).view(1, 1, 2, 4)
    assert stack_views(x, plan).tolist() == [[[[0.0, 1.0, 2.0, 3.0], [0.0, 5.0, 6.0, 7.0]]]]
