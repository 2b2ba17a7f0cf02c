"""Peak memory of each stage a user runs, against the data it holds.

Every step runs in its own process (the CLI command a user types, or a few lines of plain Python for the
reference), which reports its peak resident set (``VmHWM``) and the modules it imported. A second process
imports exactly those modules and nothing else: the step's memory "above imports" is the difference, so torch's
~0.5 GiB and matplotlib's share are not counted as the step's data. The rows:

- ``plain load``: the minimum a hand-written loader holds: plain ``pickle.load`` of the six CIFAR-10 batches
  and the competition pickle, turned into uint8 NHWC arrays (the reference the toolkit's loader is held to);
- ``kit load``: ``load_cifar10`` + ``load_competition`` (the restricted unpickler, format checks);
- ``train``, ``predict``, ``report``: ``kaggle-kit train`` (resnet8, 1 epoch, 2,000 images; it loads the whole
  dataset), ``kaggle-kit predict`` with flip+translate TTA (1,000 view-images per forward, the default), and
  ``kaggle-kit report`` with its defaults (5,000 images per side for the domain classifier, CC-Synth's
  synthetic shifts).

Targets: ``kit load`` <= 1.2 x ``plain load`` above imports; every command's whole peak <= 4 GiB, so that
`make submit` fits half of an 8 GB laptop (Kaggle's kernels have 13 GB or more).

    .venv/bin/python benchmarks/bench_memory.py
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import yaml

import entry

from kaggle_kit.data import TEST_BATCH, TRAIN_BATCHES, shared_data_dir

ROOT = Path(__file__).resolve().parent.parent
KIT_LOAD_TARGET = 1.2     # x plain load, above imports
PEAK_TARGET_MIB = 4096    # any command's whole peak

# Runs one step (Python code, or the CLI with these arguments) and writes its peak and its modules to a file.
STEP = textwrap.dedent("""
    import json, sys
    out, kind, payload, *argv = sys.argv[1:]
    if kind == "code":
        sys.argv = [sys.argv[0], *argv]
        exec(payload, {"__name__": "__step__"})
    else:
        from kaggle_kit.cli import main
        rc = main(json.loads(payload))
        if rc:
            sys.exit(rc)
    hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
    json.dump({"peak_kib": hwm, "modules": sorted(sys.modules)}, open(out, "w"))
""")
# Imports the modules a step imported, and nothing else: the step's baseline.
IMPORTS_ONLY = textwrap.dedent("""
    import importlib, json, sys
    for name in json.load(open(sys.argv[1]))["modules"]:
        try:
            importlib.import_module(name)
        except BaseException:
            pass
    print(next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")))
""")
PLAIN_LOAD = textwrap.dedent("""
    import pickle, numpy as np, sys, json
    from pathlib import Path
    root = Path(sys.argv[1])
    cifar = root / "cifar-10-python" / "cifar-10-batches-py"
    def load(p):
        with open(p, "rb") as fh:
            return pickle.load(fh, encoding="bytes")
    train = [load(cifar / f"data_batch_{i}") for i in range(1, 6)]
    x = np.concatenate([b[b"data"] for b in train]).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    y = np.concatenate([np.asarray(b[b"labels"], np.int64) for b in train])
    del train
    t = load(cifar / "test_batch")
    tx, ty = t[b"data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), np.asarray(t[b"labels"], np.int64)
    del t
    c = load(root / "standin" / "cifar_test_nolabel.pkl")
    arrays = [x, y, tx, ty, np.asarray(c[b"data"]), np.asarray(c[b"ids"], np.int64)]
    print(json.dumps({"bytes": sum(a.nbytes for a in arrays)}))
""")
KIT_LOAD = textwrap.dedent("""
    import sys
    from kaggle_kit.datapaths import locate_data
    from kaggle_kit.data import load_cifar10, load_competition
    p = locate_data(sys.argv[1], require_comp=True)
    d, c = load_cifar10(p.cifar_dir), load_competition(p.comp_pickle)
""")


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def measure(kind: str, payload: str, argv: list[str], cwd: Path) -> tuple[float, float, str]:
    """(peak MiB, peak MiB of importing the same modules, stdout) of one step; a failure stops the benchmark."""
    report = cwd / "step.json"
    done = subprocess.run([sys.executable, "-c", STEP, str(report), kind, payload, *argv], cwd=cwd, env=_env(),
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{kind} {payload[:60]!r} failed:\n{done.stderr[-2000:]}")
    base = subprocess.run([sys.executable, "-c", IMPORTS_ONLY, str(report)], cwd=cwd, env=_env(),
                          capture_output=True, text=True, check=True)
    return json.loads(report.read_text())["peak_kib"] / 1024, int(base.stdout) / 1024, done.stdout


def tiny_pipeline(folder: Path) -> Path:
    path = folder / "mem.yaml"
    path.write_text(yaml.safe_dump({
        "name": "mem", "model": {"name": "resnet8"},
        "data": {"holdout_size": 1000, "train_subset": 2000},
        "train": {"epochs": 1, "batch_size": 128, "optimizer": {"name": "sgd", "lr": 0.05}},
        "predict": {"tta": "flip+translate"}}))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=str(shared_data_dir()))
    args = ap.parse_args()
    data = ["--data-dir", args.data_dir]
    root = Path(args.data_dir)  # the plain loader's layout (the shared data folder's)
    needed = [root / "cifar-10-python" / "cifar-10-batches-py" / n for n in (*TRAIN_BATCHES, TEST_BATCH)]
    if missing := [str(f) for f in (*needed, root / "standin" / "cifar_test_nolabel.pkl") if not f.is_file()]:
        raise SystemExit(f"error: data missing: {', '.join(missing)} (pass --data-dir or set KAGGLE_KIT_SHARED_DATA)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        run = work / "runs" / "mem"
        steps = {
            "plain load": ("code", PLAIN_LOAD, [args.data_dir]),
            "kit load": ("code", KIT_LOAD, [args.data_dir]),
            "train": ("cli", ["train", str(tiny_pipeline(work)), "--run-dir", str(run), "--no-progress", *data], []),
            "predict": ("cli", ["predict", str(run), *data], []),
            "report": ("cli", ["report", "--runs", str(run), "--out", str(work / "reports"), *data], []),
        }
        rows = {}
        for name, (kind, payload, argv) in steps.items():
            text = payload if kind == "code" else json.dumps(payload)  # the CLI's arguments
            t0 = time.perf_counter()
            peak, base, out = measure(kind, text, argv, work)
            rows[name] = (peak, base)
            # the table comes at the end; on 2 busy cores predict and report take minutes each
            print(f"{name}: peak {peak:.0f} MiB ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
            if name == "plain load":
                data_mib = json.loads(out.splitlines()[-1])["bytes"] / 2**20
    plain = rows["plain load"][0] - rows["plain load"][1]
    print(f"machine: {platform.machine()} {platform.processor() or ''}, python {platform.python_version()}, "
          f"{os.cpu_count()} cpus; the loaded arrays: {data_mib:.0f} MiB")
    print("| step | peak MiB | its imports MiB | above imports MiB | x arrays | x plain load | target |")
    print("|---|---|---|---|---|---|---|")
    for name, (peak, base) in rows.items():
        above = peak - base
        if name == "plain load":
            target = "-"
        elif name == "kit load":
            target = f"<= {KIT_LOAD_TARGET} x plain" + ("" if above / plain <= KIT_LOAD_TARGET else " (MISSED)")
        else:
            target = f"peak <= {PEAK_TARGET_MIB} MiB" + ("" if peak <= PEAK_TARGET_MIB else " (MISSED)")
        print(f"| {name} | {peak:.0f} | {base:.0f} | {above:.0f} | {above / data_mib:.2f} | {above / plain:.2f} | "
              f"{target} |")


if __name__ == "__main__":
    entry.run(main)
