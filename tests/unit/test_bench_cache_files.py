"""The benchmarks' cache (``benchmarks/.cache``): written atomically, and a file that cannot be read back stops the
script with one line naming it instead of numpy's or torch's traceback, without rebuilding anything."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_gap  # noqa: E402
import bench_gap_novel  # noqa: E402
import bench_gap_public_split  # noqa: E402
import bench_models  # noqa: E402
import entry  # noqa: E402
from bench_models import CacheUnreadable  # noqa: E402

from kaggle_kit.errors import KitError  # noqa: E402


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / ".cache"
    folder.mkdir()
    monkeypatch.setattr(bench_models, "CACHE", folder)
    monkeypatch.setattr(bench_gap, "CACHE", folder)
    return folder


def never(*_args):
    raise AssertionError("a cache file that exists must not be rebuilt")


def one_line_naming(err: pytest.ExceptionInfo, path: Path) -> str:
    message = str(err.value)
    assert "\n" not in message and str(path) in message and "delete it and rerun" in message
    return message


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


class Identity(torch.nn.Module):
    def forward(self, x):
        return x.flatten(1)[:, :10]


def test_logits_are_cached_once_and_read_back_as_written(cache):
    x, y = np.zeros((3, 32, 32, 3), np.uint8), np.array([1, 2, 3])
    first = bench_gap.cached_logits("m", Identity(), "s", lambda: (x, y))
    again = bench_gap.cached_logits("m", Identity(), "s", never)
    assert [p.name for p in cache.iterdir()] == ["logits_m_s.npz"]
    np.testing.assert_array_equal(again[0], first[0])
    np.testing.assert_array_equal(again[1], y)


def test_stats_are_saved_under_their_own_name_not_a_temporary_one_with_npy_added(cache):
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    first = bench_gap.cached_stats("s", lambda: (images, None))
    assert [p.name for p in cache.iterdir()] == ["stats_s.npy"]
    np.testing.assert_array_equal(bench_gap.cached_stats("s", never), first)


@pytest.mark.parametrize("name, reader", [
    ("logits_m_s.npz", lambda: bench_gap.cached_logits("m", Identity(), "s", never)),
    ("stats_s.npy", lambda: bench_gap.cached_stats("s", never)),
    ("synthetic_m.npz", lambda: bench_gap.cached_synthetic("m", Identity(), None, None)),
])
@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_damaged_cache_file_stops_with_one_line_naming_it(cache, name, reader, damage):
    path = cache / name
    if name.endswith(".npy"):
        np.save(path, np.ones((4, 10)))
    else:
        np.savez(path, logits=np.ones((4, 10)), labels=np.arange(4))
    if damage == "truncated":
        truncate(path)
    else:
        path.write_bytes(b"not a cache file\n" if damage == "garbage" else b"")
    with pytest.raises(CacheUnreadable) as err:
        reader()
    one_line_naming(err, path)
    assert [p.name for p in cache.iterdir()] == [name]  # left for the user to delete, nothing rebuilt beside it


def test_a_synthetic_pool_missing_an_array_is_unreadable_too(cache):
    np.savez(cache / "synthetic_m.npz", logits=np.ones((4, 10)))
    with pytest.raises(CacheUnreadable) as err:
        bench_gap.cached_synthetic("m", Identity(), None, None)
    assert "KeyError" in one_line_naming(err, cache / "synthetic_m.npz")


def test_a_trained_model_is_saved_atomically_and_loaded_back(cache, monkeypatch):
    trained = bench_models.MODELS["weak_cnn"].builder()
    monkeypatch.setattr(bench_models, "train", lambda *a: trained)
    bench_models.load_or_train("weak_cnn", None, None)
    assert [p.name for p in cache.iterdir()] == ["weak_cnn.pt"]
    monkeypatch.setattr(bench_models, "train", never)
    loaded = bench_models.load_or_train("weak_cnn", None, None)
    for a, b in zip(loaded.state_dict().values(), trained.state_dict().values()):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("damage", ["truncated", "another model's weights"])
def test_a_damaged_model_file_stops_with_one_line_and_no_hours_of_retraining(cache, monkeypatch, damage):
    path = cache / "resnet9q_e4.pt"
    if damage == "truncated":
        torch.save(bench_models.MODELS["resnet9q_e4"].builder().state_dict(), path)
        truncate(path)
    else:
        torch.save(bench_models.MODELS["weak_cnn"].builder().state_dict(), path)
    monkeypatch.setattr(bench_models, "train", never)
    with pytest.raises(CacheUnreadable) as err:
        bench_models.load_or_train("resnet9q_e4", None, None)
    one_line_naming(err, path)


def test_the_scripts_entry_point_prints_it_as_one_error_line(cache):
    (cache / "stats_s.npy").write_bytes(b"")
    assert issubclass(CacheUnreadable, KitError)
    with pytest.raises(SystemExit) as done:
        entry.run(lambda: bench_gap.cached_stats("s", never))
    assert str(done.value.code).startswith("error: benchmark cache file ")


def test_the_readers_outside_bench_gap_go_through_the_same_check(cache):
    (cache / "logits_m_s.npz").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(CacheUnreadable) as err:
        bench_gap_public_split.correctness("m", "s", 0.5)
    one_line_naming(err, cache / "logits_m_s.npz")
    np.savez(cache / "synthetic_m.npz", logits=np.ones((2, 10)))
    rows = pd.DataFrame({"model": ["m"], "set": ["s"], "CC-Synth": [0.5], "Median-4": [0.5]})
    with pytest.raises(CacheUnreadable) as err:
        bench_gap_novel.with_support_gated(rows)
    one_line_naming(err, cache / "synthetic_m.npz")
