"""`kaggle-kit data download` while a `run` reads the data folder: the run's data stage loads and fingerprints one
set of files, never the old batches with a new competition pickle or a fingerprint of files it did not load."""
from __future__ import annotations

import pickle
import threading
from pathlib import Path

import numpy as np

from kaggle_kit import staged_move

BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def _data(root: Path, seed: int) -> None:
    """Tiny CIFAR-10 batches and a competition pickle under ``root``; ``seed`` tells one download from another."""
    rng = np.random.default_rng(seed)
    cifar = root / "cifar-10-python" / "cifar-10-batches-py"
    cifar.mkdir(parents=True)
    for name in BATCHES:
        (cifar / name).write_bytes(pickle.dumps({b"data": rng.integers(0, 256, (10, 3072), dtype=np.uint8),
                                                 b"labels": [seed % 10] * 10}, protocol=2))
    (root / "cifar_test_nolabel.pkl").write_bytes(pickle.dumps(
        {b"data": np.full((5, 32, 32, 3), seed, np.uint8), b"ids": np.arange(5)}, protocol=4))


def test_a_download_moving_in_while_the_data_stage_reads_waits_for_it(tmp_path, monkeypatch):
    import kaggle_kit.data as data_mod
    from kaggle_kit.pipeline import data_fingerprints, read_data

    dest = tmp_path / "D"
    _data(dest, seed=1)
    staging = dest / ".download-abcd1234"
    _data(staging / "files", seed=2)
    (staging / "archive").mkdir()
    old_fp = data_fingerprints(read_data(dest, "c")[0])[0]

    loaded, go, blocked = threading.Event(), threading.Event(), threading.Event()
    real_load, real_blocked = data_mod.load_competition, getattr(staged_move, "_blocked", None)

    def paused_load(path):  # CIFAR-10 is loaded; the competition pickle is next
        loaded.set()
        assert go.wait(10)
        return real_load(path)

    def hook(d, exclusive, *then):
        real_blocked(d, exclusive, *then)
        blocked.set()

    monkeypatch.setattr(data_mod, "load_competition", paused_load)
    monkeypatch.setattr(staged_move, "_blocked", hook, raising=False)
    got = {}
    reader = threading.Thread(target=lambda: got.setdefault("read", read_data(dest, "c")))
    reader.start()
    assert loaded.wait(10)
    mover = threading.Thread(target=staged_move.move_into, args=(staging, dest))
    mover.start()
    while not blocked.wait(0.01) and mover.is_alive():  # until the move waits (before: it finished at once)
        pass
    go.set()
    reader.join(10)
    mover.join(10)
    paths, data, comp, data_fp, _ = got["read"]
    assert set(data.train_labels) == {1} and set(comp.images.reshape(-1)) == {1}  # all old: one download's
    assert data_fp == old_fp
    assert data_fingerprints(read_data(dest, "c")[0])[0] != old_fp  # and the move did happen, after the read


def test_the_data_folder_is_looked_in_under_the_read_lock_so_a_move_cannot_hide_a_file(tmp_path, monkeypatch):
    """``locate_data`` looked for the batches, then the pickle, outside the read lock: a download that began moving
    its files in between the two (every old file moved aside, no new one in yet) hid the pickle, and the run
    stopped with 'no competition data found' in a folder holding it. It is now looked in under the hold the loads
    are read under, so the move waits for the whole read."""
    import os

    from kaggle_kit import datapaths
    from kaggle_kit.pipeline import read_data

    dest = tmp_path / "D"
    _data(dest, seed=1)
    staging = dest / ".download-abcd1234"
    _data(staging / "files", seed=2)
    (staging / "archive").mkdir()
    looking, go, mid, go_on, blocked = (threading.Event() for _ in range(5))
    real_find, real_replace, real_blocked = datapaths._find_comp_pickle, os.replace, staged_move._blocked

    def paused_find(root):  # the batches are found; the pickle is next
        looking.set()
        assert go.wait(10)
        return real_find(root)

    def paused_replace(src, dst, *args):  # the move stops before its first new file: every old one is aside
        if Path(src).is_relative_to(staging / "files") and not mid.is_set():
            mid.set()
            assert go_on.wait(10)
        return real_replace(src, dst, *args)

    def hook(d, exclusive, *then):
        real_blocked(d, exclusive, *then)
        blocked.set()

    monkeypatch.setattr(datapaths, "_find_comp_pickle", paused_find)
    monkeypatch.setattr(os, "replace", paused_replace)
    monkeypatch.setattr(staged_move, "_blocked", hook)
    got = {}

    def read():
        try:
            got["read"] = read_data(dest, "c")
        except Exception as err:  # noqa: BLE001 - what the run would have stopped with
            got["read"] = err

    reader = threading.Thread(target=read)
    reader.start()
    assert looking.wait(10)
    mover = threading.Thread(target=staged_move.move_into, args=(staging, dest))
    mover.start()
    while not blocked.wait(0.01) and not mid.is_set():  # before: the move went ahead, its old files moved aside
        pass
    go.set()
    reader.join(10)
    go_on.set()
    mover.join(10)
    assert not isinstance(got["read"], Exception), got["read"]  # before: DataNotFoundError 'no competition data'
    _, data, comp, _, _ = got["read"]
    assert set(data.train_labels) == {1} and set(comp.images.reshape(-1)) == {1}
    assert set(read_data(dest, "c")[1].train_labels) == {2}  # and the move happened, after the read
