"""Safe unpickler vs plain ``pickle.load`` on the same files, and CSV write+validate of 10,000 rows.

Run: ``.venv/bin/python benchmarks/bench_data.py [--repeats 5]``. Prints a table of medians and ratios
measured side by side in one run (alternating order so caches favour neither). Target: safe/plain <= 1.2x.
"""
from __future__ import annotations

import argparse
import pickle
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import entry

from kaggle_kit.data import TEST_BATCH, TRAIN_BATCHES, load_cifar10, load_competition, shared_data_dir
from kaggle_kit.safe_pickle import safe_load
from kaggle_kit.submission import validate_submission, write_submission


def _plain(path: Path):
    with open(path, "rb") as fh:
        return pickle.load(fh, encoding="bytes")


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    root = shared_data_dir()
    cifar = root / "cifar-10-python" / "cifar-10-batches-py"
    comp = root / "standin" / "cifar_test_nolabel.pkl"
    files = [cifar / n for n in (*TRAIN_BATCHES, TEST_BATCH)] + [comp]
    if missing := [str(f) for f in files if not f.is_file()]:
        raise SystemExit(f"error: shared data missing: {', '.join(missing)} (set KAGGLE_KIT_SHARED_DATA)")
    for f in files:  # warm the page cache once for both
        f.read_bytes()

    plain, safe = [], []
    for i in range(args.repeats):
        order = [("plain", lambda: [_plain(f) for f in files]), ("safe", lambda: [safe_load(f) for f in files])]
        for name, fn in order if i % 2 == 0 else order[::-1]:
            (plain if name == "plain" else safe).append(_timed(fn))
    full = [_timed(lambda: (load_cifar10(cifar), load_competition(comp))) for _ in range(args.repeats)]

    ids = np.arange(10_000)
    labels = np.random.default_rng(0).integers(0, 10, 10_000)
    with tempfile.TemporaryDirectory() as tmp:
        write_s = [_timed(lambda: write_submission(Path(tmp) / "s.csv", ids, labels, force=True))
                   for _ in range(args.repeats)]
        val_s = [_timed(lambda: validate_submission(Path(tmp) / "s.csv", ids)) for _ in range(args.repeats)]

    p, s = statistics.median(plain), statistics.median(safe)
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}, "
          f"repeats={args.repeats}, files={len(files)} ({sum(f.stat().st_size for f in files) / 2**20:.0f} MiB)")
    print(f"{'measure':<52} {'median s':>10} {'ratio':>8}")
    print(f"{'plain pickle.load, 6 CIFAR batches + comp pickle':<52} {p:>10.3f} {1.0:>8.2f}")
    print(f"{'safe_load (restricted), same files':<52} {s:>10.3f} {s / p:>8.2f}   target <= 1.20")
    print(f"{'load_cifar10 + load_competition (to NHWC, checked)':<52} {statistics.median(full):>10.3f} "
          f"{statistics.median(full) / p:>8.2f}")
    print(f"{'write_submission 10,000 rows (incl. validation)':<52} {statistics.median(write_s):>10.4f}")
    print(f"{'validate_submission 10,000 rows':<52} {statistics.median(val_s):>10.4f}")


if __name__ == "__main__":
    entry.run(main)
