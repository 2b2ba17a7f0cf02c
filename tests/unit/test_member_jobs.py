"""How many ensemble members train at once, on which GPU, and what a child's failure becomes (member_jobs.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from kaggle_kit import member_jobs as mj
from kaggle_kit.config import PipelineConfig, from_dict, load_pipeline, to_dict
from kaggle_kit.errors import ConfigError, RunError, UsageError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("text,expected", [(None, None), ("auto", None), (" AUTO ", None), ("", None), ("1", 1),
                                           ("3", 3), (2, 2)])
def test_parse_parallel_takes_auto_or_a_whole_number(text, expected):
    assert mj.parse_parallel(text) == expected


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5"])
def test_parse_parallel_refuses_anything_else_in_one_line(text):
    with pytest.raises(UsageError, match=r"^--parallel-members must be auto or a whole number >= 1"):
        mj.parse_parallel(text)


def test_auto_trains_one_member_per_gpu_and_cpus_one_after_another():
    assert mj.members_at_once(None, gpus=0, world_size=1, members=3) == 1   # CPU: sequential by default
    assert mj.members_at_once(None, gpus=1, world_size=1, members=3) == 1
    assert mj.members_at_once(None, gpus=2, world_size=1, members=3) == 2   # Kaggle's T4x2
    assert mj.members_at_once(None, gpus=8, world_size=1, members=3) == 3   # never more than there are members
    assert mj.members_at_once(None, gpus=2, world_size=1, members=1) == 1
    assert mj.members_at_once(1, gpus=2, world_size=1, members=3) == 1      # turned off
    assert mj.members_at_once(2, gpus=0, world_size=1, members=3) == 2      # forced on the CPU


def test_torchrun_keeps_members_sequential_and_refuses_asking_for_more():
    assert mj.members_at_once(None, gpus=2, world_size=2, members=3) == 1
    assert mj.members_at_once(1, gpus=2, world_size=2, members=3) == 1
    with pytest.raises(UsageError, match="cannot be combined with torchrun"):
        mj.members_at_once(2, gpus=2, world_size=2, members=3)


def test_children_get_the_parents_own_device_entries():
    assert mj.device_for_slot(0, []) is None and mj.device_for_slot(1, []) is None
    assert [mj.device_for_slot(s, ["2", "3"]) for s in range(3)] == ["2", "3", "2"]


def test_env_var_is_the_default_and_the_option_wins(monkeypatch):
    monkeypatch.setenv(mj.PARALLEL_ENV, "2")
    assert mj.requested_parallel(None) == 2 and mj.requested_parallel("1") == 1
    monkeypatch.setenv(mj.PARALLEL_ENV, "lots")
    with pytest.raises(UsageError, match=f"^{mj.PARALLEL_ENV} must be"):
        mj.requested_parallel(None)


def test_child_env_drops_torchrun_and_pins_one_gpu(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("LOCAL_RANK", "0")
    env = mj._child_env("3")
    assert env["CUDA_VISIBLE_DEVICES"] == "3" and "WORLD_SIZE" not in env and "LOCAL_RANK" not in env
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5")
    assert mj._child_env(None)["CUDA_VISIBLE_DEVICES"] == "5"


def test_a_childs_error_keeps_its_class_and_names_its_member():
    err = mj._failure("s1", 1, {"ok": False, "error": "ConfigError", "message": "bad batch"})
    assert type(err) is ConfigError and str(err) == "member 's1': bad batch" and err.exit_code == 2
    err = mj._failure("s1", 1, {"ok": False, "error": "RuntimeError", "message": "RuntimeError: CUDA out of memory"})
    assert type(err) is RunError and str(err).startswith("member 's1': training failed with RuntimeError: CUDA out")
    err = mj._failure("s1", -9, None)
    assert type(err) is RunError and "exit code -9 and no result" in str(err)


@pytest.mark.parametrize("yaml", sorted((ROOT / "pipelines").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_members_config_reaches_the_child_unchanged(yaml):
    """The child trains ``from_dict(to_dict(config))``: it must be the very config the sequential path trains."""
    from kaggle_kit.pipeline import member_configs
    from kaggle_kit.train.loop import training_key

    for _, mcfg in member_configs(load_pipeline(yaml)):
        back = from_dict(PipelineConfig, to_dict(mcfg))
        assert back == mcfg and training_key(back) == training_key(mcfg)


@pytest.mark.parametrize("args,env,message", [
    (["--parallel-members", "0"], {}, "error: --parallel-members must be auto or a whole number >= 1"),
    ([], {mj.PARALLEL_ENV: "x"}, f"error: {mj.PARALLEL_ENV} must be auto or a whole number >= 1"),
    (["--parallel-members", "2"], {"WORLD_SIZE": "2"}, "error: --parallel-members 2 (or KAGGLE_KIT_PARALLEL_MEMBERS) "
     "cannot be combined with torchrun"),
])
def test_run_refuses_a_bad_parallel_setting_before_writing_anything(tmp_path, monkeypatch, capsys, args, env, message):
    from kaggle_kit.cli import main

    monkeypatch.chdir(tmp_path)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    Path("tiny.yaml").write_text("name: tiny\nmodel: {name: tinycnn}\ntrain: {epochs: 1}\n"
                                 "members: [{name: a}, {name: b, set: {train.seed: 1}}]\n")
    assert main(["run", "tiny.yaml", "--data-dir", str(tmp_path / "nowhere"), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(message), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]


@pytest.mark.parametrize("args,env,message", [
    (["--parallel-members", "0"], {}, "error: --parallel-members must be auto or a whole number >= 1"),
    ([], {mj.PARALLEL_ENV: "two"}, f"error: {mj.PARALLEL_ENV} must be auto or a whole number >= 1"),
])
def test_demo_refuses_a_bad_parallel_setting_before_writing_anything(tmp_path, monkeypatch, capsys, args, env,
                                                                     message):
    """`demo` had no --parallel-members, and a bad $KAGGLE_KIT_PARALLEL_MEMBERS passed the demo's own checks:
    it wrote its folder and started its fake Kaggle before run_pipeline refused the value."""
    from kaggle_kit.cli import main

    monkeypatch.chdir(tmp_path)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    rc = main(["demo", "--workdir", "w", "--data-dir", str(tmp_path / "nowhere"), "--set", "model.name=tinycnn",
               "--set", "model.kwargs={}", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith(message), err
    assert list(tmp_path.iterdir()) == []


def test_demo_and_run_share_one_parallel_members_option():
    import argparse

    from kaggle_kit.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    run, demo = (next(a for a in sub.choices[c]._actions if "--parallel-members" in a.option_strings)
                 for c in ("run", "demo"))
    assert (demo.help, demo.default, demo.metavar) == (run.help, run.default, run.metavar) == (run.help, None, "N")


def _kernel_environment_line():
    """The kernel script's own ``environment_line``, from the rendered script (its main() not run)."""
    from kaggle_kit.kernels import render_script

    namespace: dict = {"__name__": "kernel_script"}
    exec(render_script("alice/k", "k", "name: k\n", [], b"", members=3), namespace)  # noqa: S102 - our own script
    return namespace["environment_line"]


@pytest.mark.parametrize("value", [None, "auto", "1", "2", " 3 ", "+2", "5"])
def test_the_kernel_log_reports_the_choice_run_makes(monkeypatch, value):
    """The kernel script re-implemented the choice: "+2" (which `run` reads as 2) read as auto there."""
    import re

    import torch

    if value is None:
        monkeypatch.delenv(mj.PARALLEL_ENV, raising=False)
    else:
        monkeypatch.setenv(mj.PARALLEL_ENV, value)
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    line = _kernel_environment_line()(3)
    said = re.search(r"; training 3 members (one after another|(\d) at a time, )", line)
    assert said, line
    run_chooses = mj.members_at_once(mj.requested_parallel(None), gpus, 1, 3)  # as `run` does, torchrun aside
    assert (1 if said.group(1) == "one after another" else int(said.group(2))) == run_chooses, line


@pytest.mark.parametrize("value", ["two", "0", "-1", "1.5"])
def test_the_kernel_log_leaves_a_bad_value_to_runs_one_line_error(monkeypatch, value):
    """A bad value read as auto in the kernel's log line ("training 3 members one after another") while `run`,
    right after it, refuses it; now the line says nothing of members and the refusal is `run`'s own."""
    monkeypatch.setenv(mj.PARALLEL_ENV, value)
    line = _kernel_environment_line()(3)
    assert "members" not in line and line.startswith("python "), line
    with pytest.raises(UsageError, match=f"^{mj.PARALLEL_ENV} must be auto or a whole number >= 1"):
        mj.requested_parallel(None)


def test_a_child_refuses_batches_other_than_the_ones_the_parent_fingerprinted(tmp_path, monkeypatch):
    """A member's child loads CIFAR-10 itself when its slot frees, maybe hours after the pipeline read the data: a
    download since had it train on other batches than its training key and the pipeline's report say."""
    import json
    from types import SimpleNamespace

    import kaggle_kit.train
    from test_data_concurrency import _data

    from kaggle_kit.datapaths import locate_data
    from kaggle_kit.pipeline import cifar_fingerprint

    _data(tmp_path / "D", seed=1)
    parents = cifar_fingerprint(locate_data(tmp_path / "D"))
    trained, codes = [], []
    monkeypatch.setattr(mj, "_exit_with_parent", lambda *a: None)
    monkeypatch.setattr(kaggle_kit.train, "train_run", lambda cfg, data, *a, **k: trained.append(data) or
                        SimpleNamespace(holdout_acc=None, test_acc=None, epochs_done=1, seconds=0.0,
                                        stopped_epoch=None))

    def child(fp: str) -> dict:
        spec = tmp_path / "spec.json"
        spec.write_text(json.dumps({"config": {"name": "u"}, "data_dir": str(tmp_path / "D"), "cifar_fp": fp,
                                    "run_dir": str(tmp_path / "run"), "resume": False, "progress": False,
                                    "threads": 1, "result": str(tmp_path / "result.json"), "parent": 0}))
        codes.append(mj.child_main(str(spec)))  # the parent reads the result; the exit code agrees with it
        return json.loads((tmp_path / "result.json").read_text())

    assert child(parents)["ok"] and len(trained) == 1
    assert child("0" * 16) == {"ok": False, "error": "RunError", "message": (
        f"{tmp_path / 'D' / 'cifar-10-python' / 'cifar-10-batches-py'}: the CIFAR-10 batches changed after this "
        f"pipeline read them (a download since?); rerun it to train every member on the new ones")}
    assert len(trained) == 1  # before: trained on them
    assert codes == [0, 1]


def test_visible_devices_are_the_listed_entries_cuda_can_see(monkeypatch):
    """Dropping the cut to torch's count would hand a child a listed GPU that CUDA cannot see."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5, 3,7")
    assert mj.visible_cuda_devices() == ["5", "3"]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert mj.visible_cuda_devices() == ["0", "1"]


@pytest.mark.parametrize("code,says", [(130, "stopped by Ctrl-C (SIGINT) (exit code 130)"),
                                       (143, "stopped by a kill (SIGTERM) (exit code 143)")])
def test_a_stopped_child_says_which_signal_stopped_it(code, says):
    """Swapped exit codes in STOPPED_BY would blame Ctrl-C for a kill and a kill for Ctrl-C."""
    err = mj._failure("s1", code, None)
    assert type(err) is RunError and says in str(err) and str(err).startswith("member 's1': ")


@pytest.mark.parametrize("raised,code", [("KeyboardInterrupt", 130), ("Terminated", 143)])
def test_a_stopped_child_exits_as_the_cli_does(monkeypatch, raised, code):
    """Returning one code for both would report a kill as Ctrl-C (130 is SIGINT's, 143 SIGTERM's)."""
    from kaggle_kit import interrupts

    def stop(spec):
        raise getattr(interrupts, raised, KeyboardInterrupt)()

    monkeypatch.setattr(mj, "_train_member", stop)
    assert mj.child_main("unused.json") == code


def test_planned_at_once_refuses_a_hand_set_local_rank(monkeypatch):
    """Not reading LOCAL_RANK would let a kernel's log line report a plan that `run` then refuses."""
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setenv("LOCAL_RANK", "first")
    with pytest.raises(UsageError, match="LOCAL_RANK='first' must be a whole number"):
        mj.planned_at_once("2", 2, 3)
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert mj.planned_at_once("2", 2, 3) == 2


# a stand-in for a member's training process: prints a line, then writes its result by its member's name
_FAKE_CHILD = """
import json, os, sys, time
spec = json.load(open(sys.argv[1]))
name = spec["config"]["name"]
print("epoch 1 of " + name + " on " + os.environ.get("CUDA_VISIBLE_DEVICES", "cpu"))
if name == "late":  # fails only after the member before it has failed
    first = os.path.join(os.path.dirname(sys.argv[1]), "0.result.json")
    while not os.path.exists(first):
        time.sleep(0.01)
    time.sleep(0.2)
ok = not name.startswith(("bad", "late"))
json.dump({"ok": True, "holdout_acc": 0.5, "test_acc": 0.25, "epochs_done": 3, "seconds": 1.5,
           "stopped_epoch": None} if ok else {"ok": False, "error": "ConfigError", "message": name + " broke"},
          open(spec["result"], "w"))
sys.exit(0 if ok else 1)
"""


def _train_fakes(monkeypatch, tmp_path, names, at_once, devices=()):
    """Run train_members on fake children; returns (started [(name, device)], done [(name, result)], out, echoed)."""
    import io
    import sys

    monkeypatch.setattr(mj, "_child_command", lambda spec: [sys.executable, "-c", _FAKE_CHILD, str(spec)])
    jobs = [mj.MemberJob(n, from_dict(PipelineConfig, {"name": n}), tmp_path / n, False) for n in names]
    started, done, echoed, out = [], [], [], io.StringIO()
    error = None
    try:
        mj.train_members(jobs, tmp_path, at_once=at_once, devices=list(devices), progress=False,
                         on_start=lambda job, device: started.append((job.name, device)),
                         on_done=lambda job, result: done.append((job.name, result)), echo=echoed.append, out=out)
    except ConfigError as err:
        error = err
    return started, done, out.getvalue(), echoed, error


def test_train_members_prefixes_each_childs_lines_and_hands_back_its_result(monkeypatch, tmp_path):
    """Unprefixed lines, or holdout and test accuracy swapped, would misreport which member did what."""
    started, done, out, _, error = _train_fakes(monkeypatch, tmp_path, ["s0", "s1"], 2, ["4", "6"])
    assert error is None and sorted(started) == [("s0", "4"), ("s1", "6")]
    assert sorted(out.splitlines()) == ["[s0] epoch 1 of s0 on 4", "[s1] epoch 1 of s1 on 6"]
    (name, result), _ = sorted(done, key=lambda d: d[0])
    assert (name, result.run_dir, result.holdout_acc, result.test_acc, result.epochs_done, result.seconds) == (
        "s0", tmp_path / "s0", 0.5, 0.25, 3, 1.5)


def test_train_members_starts_no_member_after_a_failure(monkeypatch, tmp_path):
    """Starting the next member after one failed would spend hours of GPU on a pipeline that already failed."""
    started, done, _, _, error = _train_fakes(monkeypatch, tmp_path, ["bad", "s1"], 1)
    assert started == [("bad", None)] and done == [] and str(error) == "member 'bad': bad broke"


def test_train_members_raises_the_first_failure_and_waits_for_the_others(monkeypatch, tmp_path):
    """Raising the last failure instead of the first would name the wrong member as the cause."""
    started, _, _, echoed, error = _train_fakes(monkeypatch, tmp_path, ["bad", "late"], 2)
    assert [s[0] for s in started] == ["bad", "late"] and str(error) == "member 'bad': bad broke"
    assert echoed == ["member 'bad' failed; waiting for late to finish before stopping (their runs are kept)"]
