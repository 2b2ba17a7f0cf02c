"""How fast does ``kaggle-kit`` start? Everyday commands in a fresh interpreter, this tree against a base revision.

Building the parser once imported torch (via ``kaggle_kit.models``), so even ``kaggle-kit --help`` took 2-4 s;
none of ``--help``, ``validate``, ``submit``, ``sync``, ``data verify`` or ``kernel status`` needs torch. This
script runs each command ``--repeats`` times as ``python -m kaggle_kit ...`` (a fresh interpreter each time) with
this tree's ``kaggle_kit`` and with the base revision's (``git archive`` into a temporary folder), base and new
interleaved so a loaded machine slows both alike, and prints median wall seconds and new / base. A second table
names the heavy modules each command leaves in ``sys.modules``. ``submit``, ``sync`` and ``kernel status`` talk to
the fake Kaggle server (``kaggle_kit.testing.fake_kaggle``); the data are synthetic (a competition pickle of the
real 10,000 ids, CIFAR-10 batches of 20 images), so what is timed is the start and the command's own work, not
reading 180 MB of CIFAR-10.

    .venv/bin/python benchmarks/bench_cli.py                      # against main, 5 repeats
    .venv/bin/python benchmarks/bench_cli.py --base HEAD~1 --repeats 9
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import shlex
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

import entry

from kaggle_kit.cli import build_parser, subcommand_names
from kaggle_kit.testing.fake_kaggle import (DEFAULT_USER, FakeKaggle, FakeKaggleConfig, KernelRecord,
                                            write_competition)

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "torchvision", "timm", "albumentations", "matplotlib", "sklearn", "scipy", "pandas", "numpy",
         "kaggle")
N_COMP = 10_000  # rows of the synthetic competition: the real pickle's size, so validate reads as many ids
KERNEL = f"{DEFAULT_USER}/bench-kernel"
# runs the CLI as `python -m kaggle_kit` does, then writes which heavy modules were imported to $BENCH_CLI_MODULES
PROBE = ("import atexit, json, os, runpy, sys\n"
         f"HEAVY = {HEAVY!r}\n"
         "atexit.register(lambda: open(os.environ['BENCH_CLI_MODULES'], 'w').write(\n"
         "    json.dumps([m for m in HEAVY if m in sys.modules])))\n"
         "sys.argv = ['kaggle-kit', *sys.argv[1:]]\n"
         "runpy.run_module('kaggle_kit', run_name='__main__', alter_sys=True)\n")


def tiny_data(root: Path) -> dict[str, Path]:
    """A competition pickle of N_COMP ids, a valid CSV for it and a 20-image-per-batch CIFAR-10 folder."""
    comp = write_competition(root / "comp", N_COMP)
    csv = root / "sub.csv"
    csv.write_text("ID,Labels\n" + "".join(f"{i},{l}\n" for i, l in zip(comp["ids"], comp["labels"])))
    cifar = root / "data" / "cifar-10-batches-py"
    cifar.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"labels": [i % 10 for i in range(20)], b"data": rng.integers(0, 256, (20, 3072), np.uint8)}
        (cifar / name).write_bytes(pickle.dumps(batch, protocol=2))
    (root / "data" / "cifar_test_nolabel.pkl").write_bytes(comp["pickle"].read_bytes())
    return {"pickle": comp["pickle"], "labels": comp["labels_csv"], "csv": csv, "data": root / "data"}


def commands(files: dict[str, Path]) -> list[list[str]]:
    """``--help``, every command's ``--help``, and the everyday commands run for real."""
    names = subcommand_names(build_parser())
    against = ["--against", str(files["pickle"])]
    return [["--help"], *([n, "--help"] for n in names),
            ["validate", str(files["csv"]), *against],
            ["data", "verify", "--data-dir", str(files["data"]), "--no-md5"],
            ["submit", str(files["csv"]), "-m", "bench", *against, "--upload", "always", "--force",
             "--ledger", "ledger.csv"],
            ["sync", "--ledger", "ledger.csv"],
            ["kernel", "status", KERNEL]]


def base_tree(rev: str, into: Path) -> Path:
    """The base revision's files (not a worktree: the repository's state is left as it is)."""
    blob = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev], capture_output=True)
    if blob.returncode != 0:
        raise SystemExit(f"error: git archive {rev}: {blob.stderr.decode().strip()}")
    tar = into / "base.tar"
    tar.write_bytes(blob.stdout)
    with tarfile.open(tar) as tf:
        tf.extractall(into / "base", filter="data")
    return into / "base"


def run_once(tree: Path, argv: list[str], env: dict[str, str], cwd: Path, probe: Path | None = None) -> float:
    """Wall seconds of one command in a fresh interpreter importing ``tree``'s kaggle_kit."""
    head = [sys.executable, str(probe)] if probe else [sys.executable, "-m", "kaggle_kit"]
    t0 = time.perf_counter()
    done = subprocess.run([*head, *argv], env={**env, "PYTHONPATH": str(tree)}, cwd=cwd, capture_output=True,
                          text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise SystemExit(f"error: `kaggle-kit {shlex.join(argv)}` with {tree} exited {done.returncode}: {last}")
    return seconds


def heavy_modules(tree: Path, argv: list[str], env: dict[str, str], cwd: Path, probe: Path) -> list[str]:
    out = cwd / "modules.json"
    run_once(tree, argv, {**env, "BENCH_CLI_MODULES": str(out)}, cwd, probe)
    return json.loads(out.read_text())


def client_env(fake: FakeKaggle, root: Path) -> dict[str, str]:
    """This process's environment with the kaggle client sent to the fake server (None in sandbox_env: unset)."""
    env = dict(os.environ)
    for key, value in fake.sandbox_env(root).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    env.pop("KAGGLE_KIT_DATA", None)
    return env


def check_trees(trees: dict[str, Path], env: dict[str, str], cwd: Path) -> None:
    """Each tree's kaggle_kit is the one imported (not the editable install's, nor one in the current folder)."""
    for name, tree in trees.items():
        where = subprocess.run([sys.executable, "-c", "import kaggle_kit; print(kaggle_kit.__file__)"],
                               env={**env, "PYTHONPATH": str(tree)}, cwd=cwd, capture_output=True, text=True).stdout
        if not Path(where.strip()).resolve().is_relative_to(tree.resolve()):
            raise SystemExit(f"error: the {name} run imports kaggle_kit from {where.strip()}, not from {tree}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="main", help="git revision to compare with (default: %(default)s)")
    ap.add_argument("--repeats", type=int, default=5, help="runs of each command per tree (default: %(default)s)")
    args = ap.parse_args()
    if args.repeats < 1:
        raise SystemExit("error: --repeats must be 1 or more")
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        root = Path(tmp)
        files = tiny_data(root)
        times, modules, cmds = measure(args, root, files)
    report(args, root, times, modules, cmds)


def measure(args: argparse.Namespace, root: Path, files: dict[str, Path]):
    """Median-ready wall times per (tree, command) and the heavy modules each command imported."""
    with FakeKaggle(FakeKaggleConfig(labels_csv=files["labels"], daily_limit=10**6, kernel_running_polls=0)) as fake:
        workdir = root / "kernel"
        workdir.mkdir()
        fake.state.kernels[KERNEL] = KernelRecord(DEFAULT_USER, "bench-kernel", 1, {}, workdir, status="COMPLETE")
        env = client_env(fake, root / "client")
        trees = {"base": base_tree(args.base, root), "new": REPO}
        cwd = root / "cwd"
        cwd.mkdir()
        check_trees(trees, env, cwd)
        probe = root / "probe.py"
        probe.write_text(PROBE)
        cmds = [["-c", "pass"], ["-c", "import torch"]] + commands(files)
        times: dict[tuple[str, int], list[float]] = {}
        for r in range(args.repeats):
            for i, argv in enumerate(cmds):
                order = list(trees) if (r + i) % 2 == 0 else list(trees)[::-1]
                for name in order:
                    if argv[0] == "-c":  # interpreter references: python itself, and the torch import it used to pay
                        t0 = time.perf_counter()
                        subprocess.run([sys.executable, *argv], check=True, env=env)
                        seconds = time.perf_counter() - t0
                    else:
                        seconds = run_once(trees[name], argv, env, cwd)
                    times.setdefault((name, i), []).append(seconds)
        modules = {(name, i): heavy_modules(tree, argv, env, cwd, probe)
                   for i, argv in enumerate(cmds) if argv[0] != "-c" for name, tree in trees.items()}
    return times, modules, cmds


def report(args: argparse.Namespace, root: Path, times: dict, modules: dict, cmds: list[list[str]]) -> None:
    print(f"machine: {platform.machine()} {os.cpu_count()} CPUs, python {platform.python_version()}, "
          f"repeats={args.repeats}, base={args.base}, new={REPO} (working tree)")
    print(f"command line: {shlex.join([sys.executable, *sys.argv])}")
    print()
    print("| command | base median s | new median s | new / base |")
    print("|---|---|---|---|")
    for i, argv in enumerate(cmds):
        base, new = statistics.median(times["base", i]), statistics.median(times["new", i])
        label = f"python {shlex.join(argv)}" if argv[0] == "-c" else f"kaggle-kit {shlex.join(argv)}"
        print(f"| `{label.replace(str(root), '…')}` | {base:.3f} | {new:.3f} | {new / base:.2f} |")
    print()
    print("| command | heavy modules imported, base | new |")
    print("|---|---|---|")
    for i, argv in enumerate(cmds):
        if argv[0] != "-c":
            label = f"kaggle-kit {shlex.join(argv)}".replace(str(root), "…")
            print(f"| `{label}` | {' '.join(modules['base', i]) or '-'} | {' '.join(modules['new', i]) or '-'} |")


if __name__ == "__main__":
    entry.run(main)
