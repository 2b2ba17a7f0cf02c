"""Training throughput of the engine vs a bare PyTorch loop, and augmentation vs training throughput.

    python benchmarks/bench_train.py                         # tinycnn, batch 128, CPU or the GPU
    python benchmarks/bench_train.py --model seed000 --batch-size 512 --images 20000   # on a GPU machine

Side by side in one process, on the same model, batch and device:
  * bare loop: data already normalised on the device, forward / loss / backward / step, nothing else;
  * engine: ``train_run`` (augment preset ``none``, then ``standard`` on the batched path), images/s of its
    training phase per epoch as written in metrics.csv (evaluation excluded);
  * interleaved: bare-loop epochs alternating with the engine's own ``train_epoch`` in one process.
Separate runs count their best epoch after the first over alternating repeats; the interleaved table is the
fairer one on a shared machine, where slow epochs measure the neighbours rather than the code. The target is
engine >= 0.95x bare. Then augmentation throughput (per-image albumentations presets in 0 and N worker
processes, and the batched tensor path) against the engine's training images/s: the data pipeline must not
be what limits training.
"""
from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import entry  # noqa: E402

from kaggle_kit.augment import batch_spec  # noqa: E402
from kaggle_kit.batch_augment import BatchAugment  # noqa: E402
from kaggle_kit.config import PipelineConfig, from_dict  # noqa: E402
from kaggle_kit.data import Cifar10, load_cifar10, shared_data_dir  # noqa: E402
from kaggle_kit.models import create_model  # noqa: E402
from kaggle_kit.tensors import select_device, to_model_input  # noqa: E402
from kaggle_kit.train import train_run  # noqa: E402
from kaggle_kit.train.batches import WorkerBatches, epoch_batches  # noqa: E402
from kaggle_kit.train.distributed import DistInfo  # noqa: E402
from kaggle_kit.train.loop import amp_dtype, build_engine, make_source, train_epoch  # noqa: E402
from tqdm import tqdm  # noqa: E402


def load_images(n: int) -> Cifar10:
    """The first ``n`` real training images when the shared data is there, else random ones."""
    folder = shared_data_dir() / "cifar-10-python" / "cifar-10-batches-py"
    if folder.is_dir():
        full = load_cifar10(folder)
        return Cifar10(full.train_images[:n], full.train_labels[:n], full.test_images[:10],
                       full.test_labels[:10], full.class_names)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    return Cifar10(images, np.arange(n) % 10, images[:10], np.arange(10), tuple(str(i) for i in range(10)))


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class BareLoop:
    """The minimal hand-written loop: pre-normalised tensors on the device, forward/backward/step, nothing else."""

    def __init__(self, data: Cifar10, model_name: str, device: torch.device, channels_last: bool, amp: bool):
        torch.manual_seed(0)
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        self.model = create_model(model_name, num_classes=10).to(device).to(memory_format=fmt).train()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9, nesterov=True,
                                   weight_decay=5e-4)
        self.x_all = to_model_input(data.train_images, device, channels_last)
        self.y_all = torch.from_numpy(data.train_labels).to(device)
        self.device, self.dtype = device, amp_dtype(device, amp)

    def step(self, idx: torch.Tensor) -> None:
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None):
            loss = F.cross_entropy(self.model(self.x_all[idx]), self.y_all[idx])
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()


def bare_loop(data: Cifar10, model_name: str, batch: int, device: torch.device, channels_last: bool,
              amp: bool, epochs: int) -> float:
    """Images/s of the minimal hand-written loop over the same images: best epoch after the first."""
    bare = BareLoop(data, model_name, device, channels_last, amp)
    steps = len(bare.y_all) // batch
    rates = []
    for _ in range(epochs):
        perm = torch.randperm(len(bare.y_all), device=device)
        sync(device)
        t0 = time.perf_counter()
        for s in range(steps):
            bare.step(perm[s * batch:(s + 1) * batch])
        sync(device)
        rates.append(steps * batch / (time.perf_counter() - t0))
    return max(rates[1:] or rates)


def bench_config(model_name: str, batch: int, preset: str, channels_last: bool, amp: bool, epochs: int,
                 compile_: bool) -> PipelineConfig:
    """The engine's side of the comparison: the bare loop's optimizer (SGD-Nesterov, decay on everything)."""
    return from_dict(PipelineConfig, {
        "name": "bench", "model": {"name": model_name}, "data": {"holdout_size": 0},
        "train": {"epochs": epochs, "batch_size": batch, "channels_last": channels_last, "amp": amp,
                  "compile": compile_, "eval_every_epochs": 10_000,
                  "optimizer": {"name": "sgd", "lr": 0.01, "nesterov": True, "decay_norm_and_bias": True},
                  "schedule": {"name": "cosine"}, "augment": {"preset": preset}}})


def engine(data: Cifar10, model_name: str, batch: int, preset: str, channels_last: bool, amp: bool,
           epochs: int, compile_: bool) -> float:
    """Images/s of train_run's best epoch after the first (metrics.csv), end to end."""
    cfg = bench_config(model_name, batch, preset, channels_last, amp, epochs, compile_)
    with tempfile.TemporaryDirectory() as tmp:
        train_run(cfg, data, Path(tmp) / "run", progress=False)
        with open(Path(tmp) / "run" / "metrics.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
    rates = [float(r["images_per_s"]) for r in rows]
    return max(rates[1:] or rates)


def interleaved(data: Cifar10, model_name: str, batch: int, preset: str, device: torch.device,
                channels_last: bool, amp: bool, epochs: int, compile_: bool) -> tuple[float, float]:
    """(bare, engine) images/s with their epochs alternating in one process, so load from neighbours hits both.

    The engine side is the engine's own ``train_epoch`` on ``build_engine``/``make_source`` objects: the exact
    per-step work of ``train_run`` without its per-epoch file writing and evaluation.
    """
    cfg = bench_config(model_name, batch, preset, channels_last, amp, epochs, compile_)
    tc = cfg.train
    n = len(data.train_labels)
    torch.manual_seed(0)
    eng, _ = build_engine(cfg, 10, n // batch, device)
    source = make_source(tc, data.train_images, data.train_labels, device)
    bare = BareLoop(data, model_name, device, channels_last, amp)
    bare_s = eng_s = 0.0
    images = 0
    for epoch in range(epochs + 1):  # epoch 0 warms both up and is not counted
        batches = epoch_batches(n, batch, seed=0, epoch=epoch, info=DistInfo())
        sync(device)
        t0 = time.perf_counter()
        perm = torch.from_numpy(batches).to(device)
        for idx in perm:
            bare.step(idx)
        sync(device)
        t1 = time.perf_counter()
        with tqdm(total=len(batches), disable=True) as bar:
            train_epoch(eng, source, batches, epoch, tc, 10, bar)
        sync(device)
        t2 = time.perf_counter()
        if epoch > 0:
            bare_s, eng_s, images = bare_s + t1 - t0, eng_s + t2 - t1, images + batches.size
    return images / bare_s, images / eng_s


def per_image_rate(data: Cifar10, preset: str, workers: int, batch: int, device: torch.device) -> float:
    """Images/s the DataLoader path delivers to the device (augmentation + collation + transfer)."""
    source = WorkerBatches(data.train_images, data.train_labels, preset, device, workers)
    batches = epoch_batches(len(data.train_labels), batch, seed=0, epoch=0, info=DistInfo())
    t0 = time.perf_counter()
    n = 0
    for x, _ in source.epoch(batches, epoch_seed=0):
        n += len(x)
    sync(device)
    return n / (time.perf_counter() - t0)


def batched_rate(data: Cifar10, preset: str, batch: int, device: torch.device, repeats: int = 3) -> float:
    images = torch.from_numpy(data.train_images).to(device)
    aug = BatchAugment(batch_spec(preset), device, seed=0)
    batches = torch.from_numpy(epoch_batches(len(images), batch, 0, 0, DistInfo())).to(device)
    aug(images[batches[0]])  # warm-up
    sync(device)
    t0 = time.perf_counter()
    for _ in range(repeats):
        for row in batches:
            aug(images[row])
    sync(device)
    return repeats * batches.numel() / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="tinycnn")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--images", type=int, default=5000, help="training images per epoch")
    p.add_argument("--epochs", type=int, default=3, help="epochs per measurement; the best after the first counts")
    p.add_argument("--repeats", type=int, default=2, help="alternate bare/engine this often; the best counts")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--workers", type=int, default=2, help="worker processes for the per-image path")
    p.add_argument("--no-channels-last", action="store_true")
    p.add_argument("--no-amp", action="store_true")
    p.add_argument("--compile", action="store_true", help="torch.compile in the engine (the bare loop stays eager)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = select_device()
    channels_last, amp = not args.no_channels_last, not args.no_amp
    data = load_images(args.images)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU x{torch.get_num_threads()} threads"
    print(f"device: {name}; model {args.model}, batch {args.batch_size}, {len(data.train_labels):,} images/epoch, "
          f"channels_last={channels_last}, amp={amp and device.type == 'cuda'}\n")

    # best of alternating repeats: on a shared machine the slowest runs measure the neighbours, not the code
    bare = eng_none = eng_std = 0.0
    for _ in range(args.repeats):
        bare = max(bare, bare_loop(data, args.model, args.batch_size, device, channels_last, amp, args.epochs))
        eng_none = max(eng_none, engine(data, args.model, args.batch_size, "none", channels_last, amp,
                                        args.epochs, args.compile))
        eng_std = max(eng_std, engine(data, args.model, args.batch_size, "standard", channels_last, amp,
                                      args.epochs, args.compile))
    print("| training loop (separate runs, best epoch) | images/s | vs bare |")
    print("|---|---:|---:|")
    print(f"| bare PyTorch loop | {bare:,.0f} | 1.00x |")
    print(f"| engine train_run, preset none | {eng_none:,.0f} | {eng_none / bare:.2f}x |")
    print(f"| engine train_run, preset standard (batched path) | {eng_std:,.0f} | {eng_std / bare:.2f}x |")
    print("\n| interleaved epochs, same process | bare images/s | engine images/s | engine / bare |")
    print("|---|---:|---:|---:|")
    for preset in ("none", "standard"):
        b_rate, e_rate = interleaved(data, args.model, args.batch_size, preset, device, channels_last, amp,
                                     args.epochs, args.compile)
        print(f"| preset {preset} | {b_rate:,.0f} | {e_rate:,.0f} | {e_rate / b_rate:.2f}x |")

    print(f"\n| augmentation path | images/s | vs engine training ({eng_std:,.0f}/s) |")
    print("|---|---:|---:|")
    rows = [(f"batched {p} on {device.type}", batched_rate(data, p, args.batch_size, device))
            for p in ("standard", "cutout")]
    for preset in ("standard", "seed001", "strong"):
        for workers in sorted({0, args.workers}):
            rows.append((f"per-image {preset}, {workers} workers",
                         per_image_rate(data, preset, workers, args.batch_size, device)))
    for label, rate in rows:
        print(f"| {label} | {rate:,.0f} | {rate / eng_std:.1f}x |")
    return 0


if __name__ == "__main__":
    entry.run(main)
