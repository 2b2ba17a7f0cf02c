"""The generated kernel script executed as Kaggle executes it: a fresh isolated Python in an empty folder, its
output a file (not a terminal), no proxy, the competition data attached, ``/kaggle/working`` its workdir."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from kaggle_kit import kernels

TWO_EPOCHS = """name: kernel-log
data: {holdout_size: 100, train_subset: 200, test_subset: 100, comp_subset: 100}
model: {name: resnet8}
train: {epochs: 2, batch_size: 100, seed: 0, amp: false, augment: {preset: standard}}
predict: {tta: none, batch_size: 100}
"""


def run_kernel_script(script: Path, workdir: Path, data_dir: Path | None, **extra_env: str) -> tuple[int, str]:
    """Run ``script`` like Kaggle: ``-I`` (no cwd, no user site), stdout and stderr into one file, no
    PYTHONUNBUFFERED; returns (exit code, the log). ``data_dir`` stands in for the kernel's input folder (None: no
    data, as a kernel without the competition attached)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir.parent),
           "KAGGLE_KERNEL_RUN_TYPE": "Batch", "KAGGLE_KIT_KERNEL_WORKDIR": str(workdir), "OMP_NUM_THREADS": "1",
           "TMPDIR": tempfile.gettempdir(), **({} if data_dir is None else {"KAGGLE_KIT_DATA": str(data_dir)}),
           **extra_env}
    log = workdir.parent / "kernel.log"
    with open(log, "wb") as fh:
        proc = subprocess.run([sys.executable, "-I", str(script)], cwd=workdir.parent, env=env, stdout=fh,
                              stderr=subprocess.STDOUT, timeout=240)
    return proc.returncode, log.read_text(encoding="utf-8", errors="replace")


def test_kernel_log_shows_each_epoch_in_order(shared_data, tmp_path):
    """A kernel's log is all a user sees of an hours-long run: each epoch must show there, after the stage line
    that announces it (stdout and stderr both reach the file line by line)."""
    (tmp_path / "kernel-log.yaml").write_text(TWO_EPOCHS)
    folder = kernels.build_kernel_folder(tmp_path / "kernel-log.yaml", tmp_path / "k", owner="alice", gpu="none")
    rc, log = run_kernel_script(folder.path / kernels.SCRIPT_NAME, tmp_path / "working", shared_data)
    assert rc == 0, log[-2000:]
    lines = log.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("[2/3] train")]
    epochs = [i for i, line in enumerate(lines) if line.startswith(("epoch   1/2", "epoch   2/2"))]
    assert len(epochs) == 2, log
    assert starts[0] < epochs[0] < epochs[1] < starts[1], log


def test_kernel_trains_members_side_by_side_from_its_unpacked_source(shared_data, tmp_path):
    """On T4x2 the members train in two processes, one per GPU; they must find the toolkit the script unpacked to
    a temporary folder (the kernel runs under ``python -I``: no PYTHONPATH), and each one's epochs must show in the
    log under its name. Forced here on the CPU with the variable that stands in for the GPU count."""
    two = TWO_EPOCHS.replace("epochs: 2", "epochs: 1") + "members: [{name: a}, {name: b, set: {train.seed: 1}}]\n"
    (tmp_path / "kernel-log.yaml").write_text(two)
    folder = kernels.build_kernel_folder(tmp_path / "kernel-log.yaml", tmp_path / "k", owner="alice", gpu="none")
    rc, log = run_kernel_script(folder.path / kernels.SCRIPT_NAME, tmp_path / "working", shared_data,
                                KAGGLE_KIT_PARALLEL_MEMBERS="2")
    assert rc == 0, log[-3000:]
    lines = log.splitlines()
    assert lines[1].endswith("; training 2 members 2 at a time, in CPU processes"), log
    assert any(line.startswith("training 2 members 2 at a time, each in its own process") for line in lines), log
    for m in "ab":
        assert [line for line in lines if line.startswith(f"[{m}] epoch   1/1")], log
    runs = [p for p in (tmp_path / "working" / "runs").iterdir() if p.name != "pipelines"]
    assert len(runs) == 2 and all((p / "logits_comp.npz").is_file() for p in runs), runs


def test_kernel_log_says_which_python_torch_and_gpus_ran(shared_data, tmp_path):
    """Whether the kernel got its GPU (and which torch the Kaggle image has) is the first question about a
    slow or failed run; the log answers it on its second line, before any stage runs."""
    import platform

    import torch

    (tmp_path / "kernel-log.yaml").write_text(TWO_EPOCHS)
    folder = kernels.build_kernel_folder(tmp_path / "kernel-log.yaml", tmp_path / "k", owner="alice", gpu="none")
    rc, log = run_kernel_script(folder.path / kernels.SCRIPT_NAME, tmp_path / "working", tmp_path / "no-data")
    assert rc == 2, log
    env_line = log.splitlines()[1]
    assert env_line.startswith(f"python {platform.python_version()}, torch {torch.__version__}, "), log
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if gpus:
        assert f", {gpus} CUDA GPU{'s' * (gpus > 1)}: {torch.cuda.get_device_name(0)}" in env_line, log
    else:
        assert env_line.endswith(", no CUDA GPU: training runs on the CPU"), log


def test_kernel_looks_for_the_competition_it_attaches(tmp_path, monkeypatch, capsys):
    """Kaggle mounts the attached competition at /kaggle/input[/competitions]/<slug>: the script must look
    there, for `--competition X` as for a pipeline's own submit.competition, and attach that one."""
    import json

    from kaggle_kit.cli import main

    monkeypatch.chdir(tmp_path)
    Path("tiny.yaml").write_text("name: tiny\ntrain: {epochs: 1}\n")
    Path("other.yaml").write_text("name: other\ntrain: {epochs: 1}\nsubmit: {competition: other-comp-2024}\n")
    assert main(["kernel", "push", "tiny.yaml", "--competition", "other-comp-2024", "--build-only",
                 "--owner", "bob", "--gpu", "none"]) == 0
    assert main(["kernel", "push", "other.yaml", "--build-only", "--owner", "bob", "--gpu", "none"]) == 0
    folders = [Path(line.split()[1]) for line in capsys.readouterr().out.splitlines()]
    for folder in folders:
        meta = json.loads((folder / kernels.METADATA_NAME).read_text())
        assert meta["competition_sources"] == ["other-comp-2024"]
    rc, log = run_kernel_script(folders[0] / kernels.SCRIPT_NAME, tmp_path / "working", None)
    assert rc == 2 and log.strip().splitlines()[-1].endswith(
        "/kaggle/input/competitions/other-comp-2024, /kaggle/input/other-comp-2024); get it with `kaggle-kit data "
        "download` (needs Kaggle credentials and the accepted rules), or pass --data-dir / set KAGGLE_KIT_DATA"), log


CELL = """import sys
path = sys.argv[1]
exec(compile(open(path, encoding="utf-8").read(), path, "exec"), {"__name__": "__main__"})
print("cell finished", flush=True)
"""


def test_script_pasted_into_a_notebook_cell_succeeds_without_an_exception(shared_data, tmp_path):
    """The README's other route: the script as a notebook cell, which IPython runs with __name__ == '__main__'
    and where any SystemExit, even SystemExit(0), marks the cell (and a committed notebook) as failed. So the
    script ends quietly on success and raises SystemExit only with a failing exit code."""
    (tmp_path / "kernel-log.yaml").write_text(TWO_EPOCHS.replace("epochs: 2", "epochs: 1"))
    folder = kernels.build_kernel_folder(tmp_path / "kernel-log.yaml", tmp_path / "k", owner="alice", gpu="none")
    cell = tmp_path / "cell.py"
    cell.write_text(CELL)
    script = str(folder.path / kernels.SCRIPT_NAME)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "OMP_NUM_THREADS": "1",
           "KAGGLE_KERNEL_RUN_TYPE": "Interactive", "KAGGLE_KIT_KERNEL_WORKDIR": str(tmp_path / "working"),
           "TMPDIR": tempfile.gettempdir()}

    def cell_run(data: Path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-I", str(cell), script], cwd=tmp_path, capture_output=True,
                              text=True, env={**env, "KAGGLE_KIT_DATA": str(data)}, timeout=240)

    ok = cell_run(shared_data)
    assert ok.returncode == 0 and ok.stdout.strip().splitlines()[-1] == "cell finished", ok.stderr[-2000:]
    failed = cell_run(tmp_path)
    assert failed.returncode == 2 and "cell finished" not in failed.stdout
    assert failed.stderr.strip().splitlines()[-1].startswith("error: no competition data found")


ONLY_THE_BUNDLE = """import atexit, runpy, sys
# Kaggle's image has no kaggle_kit: drop the editable install's finder, which would quietly supply a module
# the bundle lacks, and list every kaggle_kit module that did not come from the unpacked bundle
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
atexit.register(lambda: print("outside the bundle:", sorted(
    m for m, mod in sys.modules.items() if m.split(".")[0] == "kaggle_kit"
    and "kaggle-kit-src-" not in (getattr(mod, "__file__", None) or "")), flush=True))
runpy.run_path(sys.argv[1], run_name="__main__")
"""


def test_bundle_alone_trains_and_predicts(shared_data, tmp_path):
    """The source bundle carries every module the kernel's stages import (none comes from this checkout)."""
    (tmp_path / "kernel-log.yaml").write_text(TWO_EPOCHS.replace("epochs: 2", "epochs: 1"))
    folder = kernels.build_kernel_folder(tmp_path / "kernel-log.yaml", tmp_path / "k", owner="alice", gpu="none")
    wrapper = tmp_path / "only_the_bundle.py"
    wrapper.write_text(ONLY_THE_BUNDLE)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "OMP_NUM_THREADS": "1",
           "KAGGLE_KERNEL_RUN_TYPE": "Batch", "KAGGLE_KIT_KERNEL_WORKDIR": str(tmp_path / "working"),
           "KAGGLE_KIT_DATA": str(shared_data), "TMPDIR": tempfile.gettempdir()}
    proc = subprocess.run([sys.executable, "-I", str(wrapper), str(folder.path / kernels.SCRIPT_NAME)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "outside the bundle: []", proc.stdout[-2000:]
    assert len(list((tmp_path / "working" / "runs").glob("*/logits_comp.npz"))) == 1


def test_a_bad_parallel_setting_stops_the_kernel_with_runs_one_line_error(tmp_path):
    """The kernel's log line read a bad $KAGGLE_KIT_PARALLEL_MEMBERS as auto ("training 2 members one after
    another") right before `run` refused it; now the line says nothing of members and `run`'s refusal is the
    kernel's one error line, exit 2, before any data is looked for."""
    two = TWO_EPOCHS + "members: [{name: a}, {name: b, set: {train.seed: 1}}]\n"
    (tmp_path / "kernel-log.yaml").write_text(two)
    folder = kernels.build_kernel_folder(tmp_path / "kernel-log.yaml", tmp_path / "k", owner="alice", gpu="none")
    rc, log = run_kernel_script(folder.path / kernels.SCRIPT_NAME, tmp_path / "working", tmp_path / "no-data",
                                KAGGLE_KIT_PARALLEL_MEMBERS="two")
    lines = log.splitlines()
    assert rc == 2 and lines[1].startswith("python ") and "members" not in lines[1], log
    assert lines[2:] == ["error: KAGGLE_KIT_PARALLEL_MEMBERS must be auto or a whole number >= 1 (1: members train "
                         "one after another), found 'two'"], log
