"""The gap report's build time, old code against new, stage by stage, on a tiny run made with the toolkit.

Trains resnet8 for 1 epoch on a few thousand CIFAR-10 images (`kaggle-kit train`), predicts it with flip TTA
(`kaggle-kit predict`), builds the report once to fill the run's CC-Synth cache (as the upload does before the
report in a pipeline), then times ``build_report`` with the code of ``--baseline`` (a git ref, unpacked with
``git archive``) and with this working tree, alternating, each build in its own process, and prints the median
CPU and wall seconds of each stage and whether the two ``gap.md`` are identical (the "Generated" line aside).
CPU time is the honest clock on a shared machine with 1 thread; wall time is shown beside it, and is the clock
for work that the report overlaps in a thread (section 4's numbers beside the runs' estimates, session 33).

``--upload`` times what `submit --from` and the pipeline's upload stage compute instead: the leaderboard prediction
of a two-member ensemble (a second run with ``train.seed=1``, then `kaggle-kit ensemble`) from cold, its members'
and its own CC-Synth caches deleted before each timing, and checks that both codes predict the same.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_report.py                  # about 5 minutes on 2 cores
    .venv/bin/python benchmarks/bench_report.py --baseline e570e43 --repeats 3 --workdir /tmp/bench-report
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_report.py --upload --baseline 9bfa3c9
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("load_run", "scoreboard_section", "prediction_section", "label_shift_section", "covariate_section",
          "per_class_section", "write_report")
PIPELINE = """name: bench-report
data: {holdout_size: 1000, train_subset: 3000, test_subset: 2000}
model: {name: resnet8}
train: {epochs: 1, batch_size: 256}
predict: {tta: flip}
"""


def child(run: str, out: str, data_dir: str) -> None:
    """One build in this process (PYTHONPATH names the code): JSON of CPU and wall seconds per stage on stdout."""
    from kaggle_kit.data import load_cifar10, load_competition
    from kaggle_kit.datapaths import locate_data
    from kaggle_kit.gap import report

    times: dict[str, list[float]] = {s: [0.0, 0.0] for s in STAGES}

    def timed(name, fn):
        def wrapper(*a, **kw):
            c0, w0 = time.process_time(), time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                times[name][0] += time.process_time() - c0
                times[name][1] += time.perf_counter() - w0
        return wrapper

    for s in STAGES:
        setattr(report, s, timed(s, getattr(report, s)))
    paths = locate_data(data_dir, require_comp=True)
    data, comp = load_cifar10(paths.cifar_dir), load_competition(paths.comp_pickle)
    c0, w0 = time.process_time(), time.perf_counter()
    report.build_report([run], None, data, comp, out)
    times["build_report"] = [time.process_time() - c0, time.perf_counter() - w0]
    print(json.dumps(times))


def child_upload(ensemble: str, data_dir: str) -> None:
    """One cold leaderboard prediction in this process: JSON of its CPU and wall seconds and the prediction."""
    from kaggle_kit.data import load_cifar10, load_competition
    from kaggle_kit.datapaths import locate_data
    from kaggle_kit.gap.report_runs import leaderboard_prediction, member_folders

    for folder in (Path(ensemble), *member_folders(Path(ensemble))):
        for cache in folder.glob("gap_synthetic.*"):
            cache.unlink()
    paths = locate_data(data_dir, require_comp=True)
    data, comp = load_cifar10(paths.cifar_dir), load_competition(paths.comp_pickle)
    c0, w0 = time.process_time(), time.perf_counter()
    pred = leaderboard_prediction(ensemble, data, comp)
    seconds = [time.process_time() - c0, time.perf_counter() - w0]
    print(json.dumps({"leaderboard_prediction": seconds, "prediction": [pred.estimator, pred.accuracy]}))


def build(code: Path, run: Path, out: Path, workdir: Path, data_dir: str, upload: bool = False) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    mode = ["--child-upload", str(run), data_dir] if upload else ["--child", str(run), str(out), data_dir]
    res = subprocess.run([sys.executable, __file__, *mode], cwd=workdir, env=env, capture_output=True, text=True)
    if res.returncode != 0:  # the baseline's code may no longer read this tree's run: say why, not just the status
        timed = "leaderboard_prediction" if upload else "build_report"
        raise SystemExit(f"error: {timed} with the code in {code} failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def kit(workdir: Path, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "kaggle_kit", *args], cwd=workdir, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def make_run(workdir: Path, data_dir: str, seed: int = 0) -> Path:
    name = "bench-report" if seed == 0 else f"bench-report-s{seed}"
    runs = workdir / "runs"
    pattern = f"*-{name}-" + "[0-9a-f]" * 7  # time-name-config hash: bench-report's runs, not bench-report-s1's
    found = sorted(p for p in runs.glob(pattern) if (p / "logits_comp.npz").is_file()) if runs.is_dir() else []
    if found:
        return found[-1]
    (workdir / f"{name}.yaml").write_text(PIPELINE.replace("name: bench-report", f"name: {name}"))
    kit(workdir, "train", f"{name}.yaml", "--no-progress", "--data-dir", data_dir, "--set", f"train.seed={seed}")
    run = sorted(p for p in runs.glob(pattern) if (p / "model.pt").is_file())[-1]
    kit(workdir, "predict", str(run), "--data-dir", data_dir)
    return run


def make_ensemble(workdir: Path, data_dir: str) -> Path:
    """Two runs of the pipeline (seeds 0 and 1) and their mean-probabilities ensemble, made once per workdir."""
    ensemble = workdir / "ensembles" / "bench-ens"
    if not (ensemble / "logits_comp.npz").is_file():
        members = [str(make_run(workdir, data_dir, seed)) for seed in (0, 1)]
        kit(workdir, "ensemble", *members, "--name", "bench-ens")
    return ensemble


def report_text(folder: Path) -> str:
    return re.sub(r"Generated [0-9-]+ [0-9:]+ UTC", "", (folder / "gap.md").read_text(encoding="utf-8"))


def median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default="e570e43", help="git ref of the old code (default: before the speed-ups)")
    ap.add_argument("--repeats", type=int, default=3, help="timed builds per code version (default 3)")
    ap.add_argument("--workdir", help="keep the run here and reuse it (default: a temporary folder)")
    ap.add_argument("--data-dir", help="CIFAR-10 batches and the competition pickle (default: the shared data "
                                       "folder, $KAGGLE_KIT_SHARED_DATA or ../shared/data)")
    ap.add_argument("--upload", action="store_true",
                    help="time a two-member ensemble's cold leaderboard prediction instead of the report")
    ap.add_argument("--child", nargs=3, metavar=("RUN", "OUT", "DATA"), help=argparse.SUPPRESS)
    ap.add_argument("--child-upload", nargs=2, metavar=("ENSEMBLE", "DATA"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    if args.child_upload:
        child_upload(*args.child_upload)
        return 0
    from kaggle_kit.data import shared_data_dir  # here: a child imports the baseline's code, not this tree's
    from kaggle_kit.datapaths import locate_data
    from kaggle_kit.errors import KitError
    from kaggle_kit.torchcache import remove_at_exit_if_left_empty

    remove_at_exit_if_left_empty()  # as the CLI does, for the children's folder too (this process exits last)

    args.data_dir = str(Path(args.data_dir or shared_data_dir()).resolve())
    try:  # the runs are made and reported in a scratch folder, where the CLI would look for ./data
        locate_data(args.data_dir, require_comp=True)
    except KitError as e:
        raise SystemExit(f"error: {e}") from None
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        workdir = Path(args.workdir) if args.workdir else tmp / "work"
        workdir.mkdir(parents=True, exist_ok=True)
        old = tmp / "baseline"
        old.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "kaggle_kit"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        t0 = time.perf_counter()
        if args.upload:
            run = make_ensemble(workdir, args.data_dir).resolve()
            print(f"ensemble {run.name} ready in {time.perf_counter() - t0:.0f} s", flush=True)
        else:
            run = make_run(workdir, args.data_dir).resolve()
            print(f"run {run.name} ready in {time.perf_counter() - t0:.0f} s; warming the CC-Synth cache", flush=True)
            build(ROOT, run, tmp / "warm", workdir, args.data_dir)
        total = "leaderboard_prediction" if args.upload else "build_report"
        codes = {"old": old, "new": ROOT}
        results: dict[str, list[dict]] = {k: [] for k in codes}
        for i in range(args.repeats):
            for name, code in (codes.items() if i % 2 == 0 else reversed(codes.items())):
                results[name].append(build(code, run, tmp / f"{name}{i}", workdir, args.data_dir, args.upload))
                print(f"  {name} build {i + 1}: {results[name][-1][total][0]:.1f} s CPU", flush=True)
        if args.upload:
            predictions = {json.dumps(r["prediction"]) for rs in results.values() for r in rs}
            same, what = len(predictions) == 1, f"the prediction identical ({', '.join(sorted(predictions))})"
        else:
            same = all(report_text(tmp / f"old{i}") == report_text(tmp / f"new{i}") for i in range(args.repeats))
            what = "gap.md identical (Generated line aside)"
    print(f"\nbaseline {args.baseline} vs working tree; {args.repeats} builds each, medians; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '1')}\n")
    print("| stage | old CPU s | new CPU s | saved CPU s | new / old CPU | old wall s | new wall s | new / old wall |")
    print("|---|---|---|---|---|---|---|---|")
    for s in (total,) if args.upload else (*STAGES, total):
        o = [median([r[s][j] for r in results["old"]]) for j in (0, 1)]
        n = [median([r[s][j] for r in results["new"]]) for j in (0, 1)]
        label = f"**{s}** (all)" if s == total else s
        ratio, wall = (f"{n[j] / o[j]:.2f}" if o[j] >= 0.01 else "-" for j in (0, 1))  # under 10 ms: no ratio
        print(f"| {label} | {o[0]:.2f} | {n[0]:.2f} | {o[0] - n[0]:.2f} | {ratio} | {o[1]:.2f} | {n[1]:.2f} | {wall} |")
    print(f"\n{what}: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
