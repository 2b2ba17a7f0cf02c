"""Ensemble members trained side by side (one process each, as on Kaggle's T4x2) are the members trained one after
another: same weights, same run folders, same pipeline state; they really overlap in time; a failing member stops
the run with one error and leaves the other's run; a rerun skips both. No GPU here: two CPU processes are forced
with ``parallel_members=2``, which is what the GPU count decides on a GPU machine."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from kaggle_kit.config import load_pipeline
from kaggle_kit.pipeline import run_pipeline

TWO = """name: two
stages: [data, train, predict, ensemble]
data: {holdout_size: 100, train_subset: 300, test_subset: 100, comp_subset: 100}
model: {name: tinycnn}
train: {epochs: 2, batch_size: 100, amp: false, augment: {preset: standard}}
predict: {tta: none, batch_size: 100}
members:
  - {name: a, set: {train.seed: 0}}
  - {name: b, set: {train.seed: 1}}
"""
TIMED = ("seconds", "images_per_s")


def _run(tmp_path: Path, work: str, shared_data: Path, parallel: int, *overrides: str) -> list[str]:
    (tmp_path / "two.yaml").write_text(TWO)
    lines: list[str] = []
    run_pipeline(load_pipeline(tmp_path / "two.yaml", list(overrides)), data_dir=shared_data,
                 workdir=tmp_path / work, progress=True, echo=lines.append, parallel_members=parallel)
    return lines


def _member_runs(work: Path) -> dict[str, Path]:
    state = json.loads((work / "runs" / "pipelines" / "two.json").read_text())
    return {m: work / state["stages"][f"train:{m}"]["run_dir"] for m in "ab"}


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "model.pt", map_location="cpu", weights_only=False)["state_dict"]


def test_members_trained_side_by_side_overlap_and_equal_those_trained_one_after_another(tmp_path, shared_data,
                                                                                         capfd, monkeypatch):
    import kaggle_kit.member_jobs as member_jobs

    real_popen = member_jobs.subprocess.Popen
    spawned: list[float] = []  # when the parent started each child (the parent's clock, as files' mtimes)
    alive_at_spawn: list[int] = []  # how many earlier children were still running when it started the next

    def recording_popen(command, *args, **kwargs):
        if not any("child_main" in str(part) for part in command):  # other tools the run starts (none are members)
            return real_popen(command, *args, **kwargs)
        alive_at_spawn.append(sum(p.poll() is None for p in children))
        spawned.append(time.time())
        children.append(real_popen(command, *args, **kwargs))
        return children[-1]

    children: list[subprocess.Popen] = []
    monkeypatch.setattr(member_jobs.subprocess, "Popen", recording_popen)
    par = _run(tmp_path, "par", shared_data, 2)
    monkeypatch.setattr(member_jobs.subprocess, "Popen", real_popen)
    err = capfd.readouterr().err
    seq = _run(tmp_path, "seq", shared_data, 1)
    assert any(line.startswith("training 2 members 2 at a time, each in its own process on the CPU")
               for line in par), par
    assert not any(line.startswith("training 2 members") for line in seq), seq
    # each child's epoch lines reach the log, named after their member
    for m in "ab":
        assert sum(line.startswith(f"[{m}] epoch ") for line in err.splitlines()) == 2, err

    par_runs, seq_runs = _member_runs(tmp_path / "par"), _member_runs(tmp_path / "seq")
    # (a) at the same time: the second child was started while the first ran, before either finished (its
    # manifest). Its start is the parent's Popen, not its own config.yaml: a child's torch import can outlast the
    # other's two tiny epochs on a loaded machine, which says nothing about the parent
    ends = [(par_runs[m] / "manifest_train.json").stat().st_mtime for m in "ab"]
    assert len(spawned) == 2 and alive_at_spawn == [0, 1], (spawned, alive_at_spawn)
    assert max(spawned) < min(ends), (spawned, ends)
    # (b) the very runs of the sequential path: weights to the bit, files, config, split, metrics but timings
    for m in "ab":
        p, s = par_runs[m], seq_runs[m]
        assert sorted(x.name for x in p.iterdir()) == sorted(x.name for x in s.iterdir())
        wp, ws = _weights(p), _weights(s)
        assert wp.keys() == ws.keys() and all(torch.equal(wp[k], ws[k]) for k in wp), m
        for name in ("config.yaml", "holdout_indices.npy", "logits_comp.npz"):
            assert (p / name).read_bytes() == (s / name).read_bytes(), (m, name)
        pd.testing.assert_frame_equal(pd.read_csv(p / "metrics.csv").drop(columns=list(TIMED)),
                                      pd.read_csv(s / "metrics.csv").drop(columns=list(TIMED)))
        # the same but for the run folder's path, timings and .pt files' bytes (torch.save writes a random
        # serialization id into every file, so two saves of one state differ; the weights above are compared)
        mp, ms = (json.loads((d / "manifest_train.json").read_text().replace(str(d), "RUN")) for d in (p, s))
        for man in (mp, ms):
            man.pop("created"), man.pop("timings_s"), man["metrics"].pop("images_per_s_mean")
            for name in ("model.pt", "last.pt", "metrics.csv"):
                man["outputs"].get(name, {}).pop("sha256", None)
        assert mp == ms, m
    # the same pipeline state and the same ensemble (keyed by the members' logits); predict keys hash model.pt's
    # bytes, which differ by torch's serialization id
    sp, ss = (json.loads((tmp_path / w / "runs" / "pipelines" / "two.json").read_text()) for w in ("par", "seq"))
    assert sp["runs"].keys() == ss["runs"].keys()
    for sid in ("train:a", "train:b", "predict:a", "predict:b", "ensemble"):
        for field in ("key", "finished", "holdout_acc"):
            if not (sid.startswith("predict") and field == "key"):
                assert sp["stages"][sid].get(field) == ss["stages"][sid].get(field), (sid, field)
    assert sp["stages"]["ensemble"]["dir"] == ss["stages"]["ensemble"]["dir"]

    # (d) a rerun trains nothing
    again = _run(tmp_path, "par", shared_data, 2)
    trains = [line for line in again if "] train " in line]
    assert len(trains) == 2 and all("skipped (inputs unchanged" in line for line in trains), again
    assert not any(line.startswith("training 2 members") for line in again), again


def test_a_failing_member_stops_the_run_with_one_error_and_the_other_is_kept(tmp_path, shared_data, monkeypatch,
                                                                             capsys):
    from kaggle_kit.cli import main

    monkeypatch.chdir(tmp_path)
    Path("two.yaml").write_text(TWO)
    # two GPUs seen (auto: two at a time), entries the children get as CUDA_VISIBLE_DEVICES; with no such device
    # here they train on the CPU
    monkeypatch.setattr("kaggle_kit.pipeline.visible_cuda_devices", lambda: ["7", "8"])
    # member b's weights blow up in its first epoch: its training fails, a's finishes
    rc = main(["run", "two.yaml", "--data-dir", str(shared_data), "--no-progress",
               "--set", "members=[{name: a, set: {train.seed: 0}}, {name: b, set: {train.optimizer.lr: 1.0e+30}}]"])
    out, err = capsys.readouterr()
    assert rc == 2, err  # the RunError the sequential path raises (exit 2)
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: member 'b': ") and "diverged in epoch 1" in errors[0], err
    assert "training 2 members 2 at a time, each in its own process, one per GPU of 7, 8;" in out, out
    assert " on GPU 7 ..." in out and " on GPU 8 ..." in out, out
    assert not any("Traceback" in line for line in err.splitlines()), err
    state = json.loads(Path("runs/pipelines/two.json").read_text())
    assert state["stages"]["train:a"]["finished"] is True and state["stages"]["train:b"]["finished"] is False, out
    assert (Path(state["stages"]["train:a"]["run_dir"]) / "model.pt").is_file()
    assert "predict:a" not in state["stages"]  # nothing after the train stage ran

    # fixed, the rerun keeps a's run and trains b alone (in this process: one training needs no second one)
    rc = main(["run", "two.yaml", "--data-dir", str(shared_data), "--parallel-members", "2", "--no-progress"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "train a skipped (inputs unchanged" in out and "training 2 members" not in out, out


# ------------------------------------------------------------------------------------------ interrupted parents
def _state(pid: int) -> str | None:
    """A process's state letter (Linux /proc), None once it is gone; a zombie (Z) has stopped running."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            kids.append(int(stat.parent.name))
    return kids


# Epochs of the members the interrupted-parent tests stop: enough that neither finishes before the other's first
# epoch is done. With 5 (under a second of training each) a loaded CI machine once started one child's training
# seconds after the other's had finished, and the test stopped a run with one member already done.
SIDE_EPOCHS = 40


@pytest.fixture
def side_by_side(tmp_path, shared_data):
    """Starts `kaggle-kit run` of two members in two processes, in a session of its own (so a signal to its group
    reaches no test process), and returns it with its children's ids once both have finished their first epoch
    (last.pt) of SIDE_EPOCHS. Whatever is left of that group is killed at the end of the test, whatever its outcome."""
    started: list[subprocess.Popen] = []

    def start() -> tuple[subprocess.Popen, list[int]]:
        (tmp_path / "two.yaml").write_text(TWO.replace("epochs: 2", f"epochs: {SIDE_EPOCHS}")
                                           .replace(", predict, ensemble]", "]"))
        with open(tmp_path / "run.log", "w") as log:  # stdout: a file, which cannot fill up as a pipe can
            proc = subprocess.Popen(
                [sys.executable, "-m", "kaggle_kit", "run", "two.yaml", "--data-dir", str(shared_data),
                 "--no-progress", "--parallel-members", "2"], cwd=tmp_path, stdout=log, stderr=subprocess.PIPE,
                text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
        started.append(proc)
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if len(list((tmp_path / "runs").glob("*/last.pt"))) == 2:
                break
            time.sleep(0.02)
        kids = _children(proc.pid)
        if proc.poll() is not None or len(kids) != 2:
            proc.kill()
            pytest.fail(f"not two members training: {kids}, {proc.communicate()[1]}")
        return proc, kids

    yield start
    for proc in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _gone_within(pids: list[int], seconds: float) -> list[int]:
    """The processes of ``pids`` still running after ``seconds``."""
    deadline = time.time() + seconds
    while time.time() < deadline and any(_state(p) not in (None, "Z") for p in pids):
        time.sleep(0.05)
    return [p for p in pids if _state(p) not in (None, "Z")]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the children through Linux /proc")
@pytest.mark.parametrize("to", ["parent", "group"])
def test_ctrl_c_stops_the_members_in_one_line_and_a_rerun_resumes_them(tmp_path, shared_data, side_by_side,
                                                                        to):
    """SIGINT to the parent alone (`kill -INT`) or to its whole group (Ctrl-C in a terminal) while both members
    train: no child trains on, unrecorded; one error line, exit 130; neither member is recorded finished, so
    nothing a rerun would trust is half done; a rerun (after Ctrl-C; one after another, which spares starting
    two processes) resumes both from their last epoch and finishes."""
    proc, kids = side_by_side()
    if to == "parent":
        proc.send_signal(signal.SIGINT)
    else:
        os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert _gone_within(kids, 5) == [], err
    assert proc.returncode == 130, err
    errors = [line for line in err.splitlines() if line.startswith("error:") or "Traceback" in line]
    assert errors == ["error: interrupted; finished work is kept and a rerun resumes it"], err
    state = json.loads((tmp_path / "runs" / "pipelines" / "two.json").read_text())
    runs = {m: tmp_path / state["stages"][f"train:{m}"]["run_dir"] for m in "ab"}
    assert [state["stages"][f"train:{m}"]["finished"] for m in "ab"] == [False, False], state
    assert not [p for p in (tmp_path / "runs").glob("*/manifest_train.json")], state
    if to == "parent":
        return

    again = subprocess.run([sys.executable, "-m", "kaggle_kit", "run", "two.yaml", "--data-dir", str(shared_data),
                            "--no-progress", "--parallel-members", "1"], cwd=tmp_path, capture_output=True,
                           text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}, timeout=300)
    assert again.returncode == 0, again.stderr
    for m in "ab":
        assert f"train {m} (resuming {state['stages'][f'train:{m}']['run_dir']})" in again.stdout, again.stdout
        assert pd.read_csv(runs[m] / "metrics.csv")["epoch"].tolist() == list(range(1, SIDE_EPOCHS + 1)), m


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the children through Linux /proc")
def test_members_stop_when_their_parent_is_killed(side_by_side):
    """SIGKILL (out of memory, a kernel's time limit) runs no cleanup in the parent: the children must notice on
    their own and stop, or they train on with no one to record them, and a rerun would train beside them."""
    proc, kids = side_by_side()
    specs = list(Path(tempfile.gettempdir()).glob("kaggle-kit-members-*"))  # the parent's folder for its children
    proc.kill()
    proc.communicate(timeout=30)
    assert _gone_within(kids, 5) == [], kids
    # no cleanup ran in the parent: its temporary folder (the children's specs) was left behind on every kill
    assert len(specs) == 1 and not specs[0].exists(), specs


# a member's child (the real child_main) that says, once a checkpoint's temporary file is made, where it is and
# waits there for the signal (test-only)
PAUSED_CHILD = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
import kaggle_kit.checkpoint as checkpoint, kaggle_kit.fsio as fsio
from kaggle_kit.member_jobs import child_main
real_write, real_umask, saving = checkpoint.atomic_write_bytes, fsio._umask, []
def write(*args, **kwargs):
    saving.append(True)
    return real_write(*args, **kwargs)
def umask():
    if saving:
        print("checkpointing", os.getpid(), flush=True)
        while True:  # the signal ends this wait
            time.sleep(0.01)
    return real_umask()
checkpoint.atomic_write_bytes, fsio._umask = write, umask
sys.exit(child_main(sys.argv[2]))
"""


def test_a_member_killed_while_it_writes_a_checkpoint_cleans_up_and_its_parent_says_so_in_one_line(
        tmp_path, cifar_dir, monkeypatch):
    """`kill` of a member's training process (or the parent's own SIGTERM to it as the parent stops). Was: the child
    died at once, no cleanup ran: the checkpoint's temporary file stayed in the run folder, and the parent said
    'exit code -15 and no result (killed? out of memory?)'."""
    import kaggle_kit.member_jobs as member_jobs
    from kaggle_kit.config import PipelineConfig, from_dict
    from kaggle_kit.errors import RunError

    monkeypatch.setattr(member_jobs, "_child_command",
                        lambda spec: [sys.executable, "-c", PAUSED_CHILD, str(Path(member_jobs.__file__).parents[1]),
                                      str(spec)])
    cfg = from_dict(PipelineConfig, {"name": "m", "model": {"name": "tinycnn"},
                                     "data": {"holdout_size": 100, "train_subset": 300, "test_subset": 100},
                                     "train": {"epochs": 1, "batch_size": 100, "amp": False}})
    run = tmp_path / "runs" / "a"
    lines: list[str] = []

    class Out:  # the parent copies the child's lines here, from its reading thread
        def write(self, text: str) -> None:
            lines.append(text)
            if "] checkpointing " in text:
                os.kill(int(text.split()[-1]), signal.SIGTERM)

        def flush(self) -> None:
            pass

    with pytest.raises(RunError) as info:
        member_jobs.train_members([member_jobs.MemberJob("a", cfg, run, resume=False)], cifar_dir, at_once=1,
                                  devices=[], progress=False, on_start=lambda job, device: None,
                                  on_done=lambda job, result: pytest.fail("no member finished"), out=Out())
    assert any("] checkpointing " in line for line in lines), lines
    assert str(info.value) == ("member 'a': its training process was stopped by a kill (SIGTERM) (exit code 143) "
                               "before it finished; a rerun resumes it from its last finished epoch")
    assert not [line for line in lines if "Traceback" in line], lines
    assert run.is_dir() and not list(run.glob(".*.tmp")), sorted(p.name for p in run.iterdir())
    assert not list(Path(tempfile.gettempdir()).glob("kaggle-kit-members-*"))
