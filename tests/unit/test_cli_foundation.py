"""CLI contract: exact error lines and exit codes, no traceback for expected errors."""
from __future__ import annotations

import contextlib
import pickle

import numpy as np
import pytest

from kaggle_kit.cli import main


@pytest.fixture()
def comp_pickle(tmp_path):
    p = tmp_path / "comp.pkl"
    p.write_bytes(pickle.dumps({b"data": np.zeros((3, 32, 32, 3), np.uint8), b"ids": np.array([0, 1, 2])}))
    return p


def test_validate_ok(tmp_path, comp_pickle, capsys):
    csv = tmp_path / "s.csv"
    csv.write_text("ID,Labels\n0,1\n1,2\n2,3\n")
    assert main(["validate", str(csv), "--against", str(comp_pickle)]) == 0
    assert "valid (3 rows" in capsys.readouterr().out


def test_validate_invalid_lists_problems_and_exits_2(tmp_path, comp_pickle, capsys):
    csv = tmp_path / "s.csv"
    csv.write_text("ID,Labels\n0,1\n0,2\n2,11\n")
    assert main(["validate", str(csv), "--against", str(comp_pickle)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"{csv}:3: duplicate ID 0 (first on line 2)",
                   f"{csv}:4: label '11' is not an integer 0-9",
                   f"{csv}: 1 competition ID missing, e.g. 1",
                   f"error: {csv}: invalid submission (3 problems)"]


def test_malicious_pickle_via_cli_is_refused(tmp_path, capsys):
    import os

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(Evil()))
    csv = tmp_path / "s.csv"
    csv.write_text("ID,Labels\n")
    assert main(["validate", str(csv), "--against", str(evil)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {evil}: unsafe pickle: refused global '") and err.count("\n") == 1
    assert "Traceback" not in err and not (tmp_path / "pwned").exists()


def test_data_verify_missing_folder(tmp_path, capsys):
    assert main(["data", "verify", "--data-dir", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no competition data found (CIFAR-10 batches; looked in: ")
    assert err.count("\n") == 1


def test_verbose_shows_traceback(tmp_path, capsys):
    assert main(["--verbose", "data", "verify", "--data-dir", str(tmp_path)]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_version_names_the_toolkit_python_and_the_pinned_libraries_on_stdout(capsys):
    """A bug report's first line: the versions that decide what a run trains and an upload sends, as installed
    (here the constraints' pins)."""
    import configparser
    import platform
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    setup = configparser.ConfigParser()
    setup.read(root / "setup.cfg")
    pins = dict(re.findall(r"^([\w-]+)==(\S+)$", (root / "constraints.txt").read_text(), re.M))
    with pytest.raises(SystemExit) as info:
        main(["--version", "sync"])  # before any command, as --help
    out, err = capsys.readouterr()
    libraries = ", ".join(f"{n} {pins[n]}" for n in ("torch", "torchvision", "timm", "numpy", "scikit-learn", "kaggle"))
    assert info.value.code == 0 and err == ""
    assert out == f"kaggle-kit {setup['metadata']['version']} (Python {platform.python_version()}; {libraries})\n"


def test_version_imports_none_of_the_libraries_it_names():
    """Read from package metadata: importing torch to print its version would take seconds."""
    import subprocess
    import sys

    code = ("import sys\nfrom kaggle_kit.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n"
            "    pass\nprint(sorted({'torch', 'timm', 'sklearn', 'kaggle'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "[]"


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["validate"])
    assert info.value.code == 2


def test_help_lists_commands_in_workflow_order_and_every_option_says_what_it_does():
    import argparse

    from kaggle_kit.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices)[:2] == ["run", "demo"] and list(sub.choices).index("train") < list(sub.choices).index(
        "submit") < list(sub.choices).index("report")

    def silent(name: str, parser: argparse.ArgumentParser) -> list[str]:
        out = []
        for a in parser._actions:
            if isinstance(a, argparse._SubParsersAction):
                out += [x for n, p in a.choices.items() for x in silent(f"{name} {n}", p)]
            elif not a.help and not isinstance(a, argparse._HelpAction):
                out.append(f"{name} {'/'.join(a.option_strings) or a.dest}")
        return out

    assert [x for n, p in sub.choices.items() for x in silent(n, p)] == []


def _options(parser, name="kaggle-kit"):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _options(sub, f"{name} {sub_name}")
        elif action.option_strings:
            yield name, action


def test_every_option_that_takes_a_value_says_its_default():
    """A newcomer reads --help: an optional value with no default named is a guess (predict's --average took the
    run's predict.average, report's --synthetic-per-set 300, kernel status's --poll-s 30 s, all unsaid)."""
    import argparse

    from kaggle_kit.cli import build_parser

    no_default = {("kaggle-kit train", "--resume"), ("kaggle-kit predict", "--views"), ("kaggle-kit submit", "--from"),
                  ("kaggle-kit kernel push", "--seeds")}  # features that are off unless given
    silent = [f"{name} {action.option_strings[-1]}" for name, action in _options(build_parser())
              if not isinstance(action, (argparse._HelpAction, argparse._StoreTrueAction, argparse._AppendAction))
              and action.nargs != 0 and not action.required and (name, action.option_strings[-1]) not in no_default
              and "default" not in (action.help or "")]
    assert silent == []


def test_demo_finds_its_pipeline_from_any_working_directory(tmp_path, monkeypatch):
    """`kaggle-kit demo` outside the project folder looked for ./pipelines/demo.yaml and failed with 'no such
    pipeline file'; without --pipeline it takes the toolkit's own."""
    from pathlib import Path

    from kaggle_kit import demo

    seen = []

    def fake_run_demo(pipeline, *args, **kwargs):
        seen.append(Path(pipeline))
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "run_demo", fake_run_demo)
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 130
    assert seen[0].is_file() and seen[0].name == "demo.yaml" and seen[0].parent.name == "pipelines"
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "demo.yaml").write_text("name: mine\n")
    assert main(["demo"]) == 130 and seen[1].resolve() == (tmp_path / "pipelines" / "demo.yaml").resolve()


@pytest.mark.parametrize("argv, line", [
    (["trian"], "error: kaggle-kit: unknown command 'trian'; did you mean train? (`kaggle-kit --help` lists them)"),
    (["data", "verfy"], "error: kaggle-kit data: unknown action 'verfy'; did you mean verify? "
                        "(`kaggle-kit data --help` lists them)"),
    (["submit", "x.csv"], "error: kaggle-kit submit: the following arguments are required: -m/--message "
                          "(`kaggle-kit submit --help` says how to use it)"),
    (["models", "--verbose"], "error: kaggle-kit: unrecognized arguments: --verbose (--verbose goes before the "
                              "command: `kaggle-kit --verbose COMMAND ...`)"),
    (["xyzzy"], "error: kaggle-kit: unknown command 'xyzzy' (`kaggle-kit --help` lists them)"),
    (["train", "p.yaml", "--epochs=3"], "error: kaggle-kit: unrecognized arguments: --epochs=3 "
                                        "(`kaggle-kit COMMAND --help` lists a command's options)"),
])
def test_usage_mistakes_are_one_error_line_with_what_to_do(argv, line, capsys):
    """README: errors print one line, `error: ...`, exit 2 for bad usage; argparse printed its usage block and
    'kaggle-kit: error: ...', and a mistyped command got no suggestion."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [line]


def test_the_run_summary_does_not_call_a_dry_runs_score_pending(tmp_path, capsys):
    """A dry run is never scored: 'public score pending' told the reader to wait for nothing."""
    from pathlib import Path

    from kaggle_kit.commands.run import _summary
    from kaggle_kit.pipeline import PipelineOutcome

    out = PipelineOutcome(run_dirs=[], final_dir=Path("runs/r"), csv=Path("submissions/s.csv"),
                          ledger_row={"status": "dry-run", "public_score": ""}, report=None, timings_s={},
                          ledger=Path("submissions/ledger.csv"))
    _summary(out)
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("ledger:"))
    assert "pending" not in line and "dry-run, not uploaded" in line


def test_a_dry_runs_upload_command_finds_the_pickle_and_ledger_it_was_given(tmp_path, comp_pickle, capsys,
                                                                              monkeypatch):
    """README: a dry run prints the exact upload command. It dropped --against (or the pipeline's --data-dir) and
    --ledger, so where ./data holds no competition pickle the printed command failed with 'no data found'."""
    import shlex

    monkeypatch.delenv("KAGGLE_KIT_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    csv = tmp_path / "s.csv"
    csv.write_text("ID,Labels\n0,1\n1,2\n2,3\n")
    ledger = tmp_path / "mine" / "ledger.csv"
    assert main(["submit", str(csv), "-m", "first try", "--against", str(comp_pickle), "--ledger", str(ledger),
                 "--upload", "never"]) == 0
    command = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("to upload it: "))
    argv = shlex.split(command.removeprefix("to upload it: "))
    assert argv[0] == "kaggle-kit" and "--against" in argv and "--ledger" in argv
    assert main([*argv[1:], "--upload", "never"]) == 0  # (without credentials here: another dry run)
    assert len(ledger.read_text().splitlines()) == 3


def test_train_says_it_trains_the_base_config_of_a_pipeline_with_members(tmp_path, monkeypatch, capsys):
    """`kaggle-kit train pipelines/default.yaml` trained one model and said nothing of the three members the
    pipeline's ensemble is made of."""
    from types import SimpleNamespace

    import kaggle_kit.data
    import kaggle_kit.datapaths
    import kaggle_kit.train

    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("model: {name: tinycnn}\nmembers:\n  - {name: s0, set: {train.seed: 0}}\n"
                        "  - {name: s1, set: {train.seed: 1}}\n")
    monkeypatch.setattr(kaggle_kit.datapaths, "reading_data",
                        lambda *a, **k: contextlib.nullcontext(SimpleNamespace(cifar_dir=tmp_path)))
    monkeypatch.setattr(kaggle_kit.data, "load_cifar10", lambda *a, **k: None)
    from kaggle_kit.train.loop import TrainResult  # the real result type, so a new field is filled in here too

    monkeypatch.setattr(kaggle_kit.train, "train_run", lambda cfg, data, folder, **k: TrainResult(
        run_dir=folder, holdout_acc=None, test_acc=None, epochs_done=1, seconds=0.0))
    assert main(["train", str(pipeline), "--runs-root", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert "members s0, s1" in out and "kaggle-kit run" in out
    folder = tmp_path / "runs" / "r"  # a resumed run names no pipeline: no note (nor 'None has members'), and
    folder.mkdir(parents=True)          # one epoch is not 'epochs'
    (folder / "config.yaml").write_text(pipeline.read_text())
    assert main(["train", "--resume", str(folder)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"run {folder}: 1 epoch in 0s, holdout -, CIFAR-10 test -"]


def test_run_says_when_a_set_is_overridden_by_every_member(tmp_path, monkeypatch, capsys):
    """default.yaml's members set train.seed: `--set train.seed=5` changed nothing, silently."""
    import kaggle_kit.pipeline

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(kaggle_kit.pipeline, "run_pipeline", stop)
    assert main(["run", "pipelines/default.yaml", "--set", "train.seed=5", "--set", "train.epochs=1"]) == 130
    out = capsys.readouterr().out.splitlines()
    assert out == ["note: --set train.seed=5 has no effect: members s0, s1, s2 set train.seed themselves"]


def test_report_flags_accept_what_the_pipelines_report_section_accepts(tmp_path, monkeypatch, capsys):
    """--domain-max-images refused 10 (at least 50) while `--set report.domain_max_images=10` ran the report."""
    from kaggle_kit.config import ReportConfig, from_dict

    monkeypatch.delenv("KAGGLE_KIT_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r").mkdir()
    assert from_dict(ReportConfig, {"domain_max_images": 10}).domain_max_images == 10
    assert main(["report", "--runs", "r", "--domain-max-images", "10"]) == 2
    assert capsys.readouterr().err.startswith("error: no competition data found")  # past the flag checks
    assert main(["report", "--runs", "r", "--domain-max-images", "4"]) == 2
    assert capsys.readouterr().err == "error: --domain-max-images: must be >= 5, found 4\n"
    assert main(["report", "--runs", "r", "--synthetic-per-set", "-1"]) == 2
    assert capsys.readouterr().err == "error: --synthetic-per-set: must be >= 0, found -1\n"


# ------------------------------------------------------------------------------- one pipeline run at a time
def test_a_second_run_of_a_pipeline_in_one_folder_is_refused_at_once_and_writes_nothing(tmp_path):
    """The lock is taken before the data is looked for; another folder or another pipeline is not held up (those
    runs go on, and fail only at the missing data), and the lock is free again once its holder lets go."""
    from kaggle_kit.config import PipelineConfig, from_dict
    from kaggle_kit.errors import DataNotFoundError, RunError
    from kaggle_kit.fsio import one_at_a_time
    from kaggle_kit.pipeline import run_pipeline

    p, q = (from_dict(PipelineConfig, {"name": n}) for n in ("p", "q"))
    work, elsewhere, nowhere = tmp_path / "work", tmp_path / "elsewhere", tmp_path / "nowhere"
    work.mkdir()
    elsewhere.mkdir()
    with one_at_a_time(f"pipeline:{work.resolve()}:p", "held"):
        with pytest.raises(RunError, match=r"another `kaggle-kit run` of pipeline 'p' is running in .*work; wait"):
            run_pipeline(p, data_dir=nowhere, workdir=work)
        assert list(work.iterdir()) == []
        with pytest.raises(DataNotFoundError):
            run_pipeline(q, data_dir=nowhere, workdir=work)
        with pytest.raises(DataNotFoundError):
            run_pipeline(p, data_dir=nowhere, workdir=elsewhere)
    with pytest.raises(DataNotFoundError):
        run_pipeline(p, data_dir=nowhere, workdir=work)


def test_a_run_with_another_temporary_folder_is_still_refused_by_the_lock_beside_the_state_file(tmp_path):
    """The first lock lives in TMPDIR: two Slurm jobs (each with its own TMPDIR) or two machines sharing the
    folder both took it and ran the same pipeline at once. The lock beside the pipeline's state file is
    shared by all of them; it is taken after the checks that refuse a run, so those still write nothing."""
    import fcntl

    from kaggle_kit.config import PipelineConfig, from_dict
    from kaggle_kit.errors import DataNotFoundError, RunError
    from kaggle_kit.pipeline import run_pipeline

    p = from_dict(PipelineConfig, {"name": "p"})
    work, nowhere = tmp_path / "work", tmp_path / "nowhere"
    (work / "runs" / "pipelines").mkdir(parents=True)
    with open(work / "runs" / "pipelines" / ".p.lock", "a") as other_job:  # held as another TMPDIR's run holds it
        fcntl.flock(other_job.fileno(), fcntl.LOCK_EX)
        with pytest.raises(RunError, match=r"another `kaggle-kit run` of pipeline 'p' is running in .*work; wait"):
            run_pipeline(p, data_dir=nowhere, workdir=work)
    with pytest.raises(DataNotFoundError):  # released: the run goes on to its data
        run_pipeline(p, data_dir=nowhere, workdir=work)


@pytest.mark.parametrize("data", ["missing", "corrupt"])
def test_a_run_refused_for_its_data_leaves_no_lock_file(tmp_path, monkeypatch, capsys, data):
    """The lock beside the state file was taken before the data stage: a run without the data (or with a batch
    that does not load) left runs/pipelines/.<name>.lock behind, an empty file of a run that never started."""
    from kaggle_kit.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.yaml").write_text("model: {name: tinycnn}\n")
    found = tmp_path / "d"
    if data == "corrupt":
        (found / "cifar-10-batches-py").mkdir(parents=True)
        for name in ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch",
                     "batches.meta"]:
            (found / "cifar-10-batches-py" / name).write_bytes(b"x")
        (found / "cifar_test_nolabel.pkl").write_bytes(b"x")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert main(["run", "p.yaml", "--data-dir", str(found), "--no-progress"]) == 2
    assert capsys.readouterr().err.startswith("error: no competition data found" if data == "missing" else
                                              f"error: {found / 'cifar-10-batches-py' / 'data_batch_1'}: ")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_the_run_lock_is_released_when_its_process_dies(tmp_path):
    import subprocess
    import sys

    from kaggle_kit.errors import RunError
    from kaggle_kit.fsio import one_at_a_time

    key = f"test:{tmp_path}"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom kaggle_kit.fsio import one_at_a_time\n"
                               f"with one_at_a_time({key!r}, 'busy'):\n    print('held', flush=True)\n"
                               "    time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunError, match="busy here"):
            with one_at_a_time(key, "busy here"):
                pass
    finally:
        holder.kill()
        holder.wait()
    with one_at_a_time(key, "busy"):  # SIGKILL ran no cleanup, yet the lock is free
        pass


def _lock_folder(tmp_path, monkeypatch, mode: int):
    """The per-user lock folder under a temporary folder of the test's own, made beforehand with ``mode``."""
    import os
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    folder = tmp_path / f"kaggle-kit-locks-{os.getuid()}"
    folder.mkdir()
    folder.chmod(mode)
    return folder


def test_a_lock_folder_others_can_write_is_refused_in_one_line_with_its_cure(tmp_path, monkeypatch, capsys):
    """A lock folder that other users can write (made first by anyone in a shared /tmp, or chmodded) was used as
    is: they could hold the locks, refusing every command, or plant links where the lock files go."""
    folder = _lock_folder(tmp_path, monkeypatch, 0o777)
    (tmp_path / "p.yaml").write_text("name: p\n")
    monkeypatch.chdir(tmp_path)
    assert main(["run", "p.yaml", "--data-dir", "nowhere"]) == 2
    assert capsys.readouterr().err == (f"error: {folder}: other users can write into it (mode 777, owned by you), so "
                                       f"they could hold or fake kaggle-kit's locks in it; `chmod 700 {folder}`\n")
    assert list(folder.iterdir()) == []  # no lock file made in it
    folder.chmod(0o700)  # the cure
    from kaggle_kit.fsio import one_at_a_time

    with one_at_a_time("k", "busy"):
        assert len(list(folder.iterdir())) == 1


def test_a_lock_folder_another_user_made_is_refused_naming_its_owner(tmp_path, monkeypatch):
    """Tests may run as root, which cannot be another user here: the folder's owner is reported as another's."""
    import os
    import pwd

    from kaggle_kit.errors import UsageError
    from kaggle_kit.fsio import one_at_a_time

    folder = _lock_folder(tmp_path, monkeypatch, 0o700)
    other = os.getuid() + 1
    real_lstat = os.lstat

    def lstat(path, *args, **kwargs):
        st = real_lstat(path, *args, **kwargs)
        if os.fspath(path) != str(folder):
            return st
        fields = list(st)
        fields[4] = other  # st_uid
        return os.stat_result(fields)

    monkeypatch.setattr(os, "lstat", lstat)
    try:
        owner = f"user {pwd.getpwuid(other).pw_name}"
    except KeyError:
        owner = f"user id {other}"
    with pytest.raises(UsageError) as info:
        with one_at_a_time("k", "busy"):
            pass
    assert str(info.value) == (f"{folder}: belongs to {owner}, not to you, who could hold or fake kaggle-kit's locks "
                               f"in it; set TMPDIR to a folder only you can write (e.g. `mkdir -m 700 ~/tmp; export "
                               f"TMPDIR=~/tmp`), or have it removed")
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("choices", ["'run', 'demo', 'train', 'predict'",  # Python 3.11 to 3.12.7
                                     "run, demo, train, predict"])  # 3.12.8 and 3.13.1 on: str(), not repr()
def test_a_mistyped_command_gets_the_nearest_one_whatever_the_python_quotes_the_choices_with(choices, capsys):
    """setup.cfg allows Python 3.11 and later; argparse 3.12.8 stopped quoting the choices it lists, and the hint
    read them from that list, so it vanished there."""
    from kaggle_kit.cli import build_parser

    with pytest.raises(SystemExit) as info:
        build_parser().error(f"argument COMMAND: invalid choice: 'trian' (choose from {choices})")
    assert info.value.code == 2
    assert capsys.readouterr().err == ("error: kaggle-kit: unknown command 'trian'; did you mean train? "
                                       "(`kaggle-kit --help` lists them)\n")


def test_the_demos_next_step_can_be_taken_from_the_folder_it_ran_in(tmp_path, monkeypatch, capsys):
    """`kaggle-kit demo` runs from any folder; its last line sent every user to `make submit`, which only the
    toolkit's own folder (with its Makefile) can run."""
    import shlex
    from pathlib import Path

    from kaggle_kit import demo
    from kaggle_kit.pipeline import PipelineOutcome

    outcome = PipelineOutcome(run_dirs=[], final_dir=Path("demo/runs/r"), csv=None, ledger_row=None, report=None,
                              timings_s={})
    monkeypatch.setattr(demo, "run_demo", lambda *a, **k: outcome)
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    (line,) = [l for l in capsys.readouterr().out.splitlines() if l.startswith("next:")]
    assert "make submit" not in line
    command = shlex.split(line.split("then `", 1)[1].split("`", 1)[0])
    assert command[:2] == ["kaggle-kit", "run"] and Path(command[2]).is_file()


def test_the_demos_next_step_is_make_submit_only_in_the_toolkits_own_folder(tmp_path, monkeypatch):
    """A flipped folder check would send a user's own folder (with a Makefile of its own) to `make submit`."""
    from pathlib import Path

    from kaggle_kit import demo

    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    assert demo.competition_command() == "make submit"
    (tmp_path / "Makefile").write_text("all:\n")
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "default.yaml").write_text("")
    monkeypatch.chdir(tmp_path)
    assert demo.competition_command() == "kaggle-kit run pipelines/default.yaml"


def _data_dir_helps() -> dict[str, str]:
    """Every --data-dir option's help, by command."""
    import argparse

    from kaggle_kit.cli import build_parser

    out: dict[str, str] = {}

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    walk(sub, f"{name} {sub_name}".strip())
            elif "--data-dir" in action.option_strings:
                out[name] = " ".join(action.help.split())
    walk(build_parser(), "")
    return out


def test_every_data_dir_help_says_a_set_kaggle_kit_data_is_the_only_folder_looked_in():
    """$KAGGLE_KIT_DATA, when set, is the only folder looked in (datapaths.given_data_dir); the help listed it as the
    first of several places ('$KAGGLE_KIT_DATA, ./data, Kaggle input'), the fall-back the change removed."""
    helps = _data_dir_helps()
    assert {"train", "predict", "submit", "report", "run", "demo", "data verify"} <= set(helps), helps
    wrong = {name: h for name, h in helps.items() if "$KAGGLE_KIT_DATA when set (only there), else ./data" not in h}
    assert wrong == {}


def test_every_commands_help_opens_by_saying_what_it_does():
    """`kaggle-kit report --help` (and demo, submit, ...) went from usage straight to the options: the one line
    `kaggle-kit --help` lists for a command was nowhere in its own help."""
    import argparse

    from kaggle_kit.cli import build_parser, subcommand_names

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in subcommand_names(parser):
        text = sub.choices[name].format_help()
        assert sub.choices[name].description, name
        assert text.split("\n\n")[1].strip(), (name, text[:200])
    report = sub.choices["report"].format_help()
    assert "\nWrite reports/gap.html and gap.md: local vs leaderboard gap, explained.\n" in report
    assert sub.choices["run"].description.startswith("Run every stage the pipeline lists")  # its own kept


@pytest.mark.parametrize("raised, code, line", [
    ("KeyboardInterrupt", 130, "error: interrupted; finished work is kept and a rerun resumes it"),
    ("Terminated", 143, "error: terminated; finished work is kept and a rerun resumes it"),
])
def test_a_kill_exits_143_and_says_terminated_a_ctrl_c_130(monkeypatch, capsys, raised, code, line):
    """One code or one word for both would report a kill (a CI timeout, a container stop) as a Ctrl-C."""
    from kaggle_kit import interrupts
    from kaggle_kit.commands import validate

    def stop(args):
        raise getattr(interrupts, raised, KeyboardInterrupt)()

    monkeypatch.setattr(validate, "run", stop)
    assert main(["validate", "a.csv", "--against", "b.pkl"]) == code
    assert capsys.readouterr().err.splitlines() == [line]


def test_a_group_writable_lock_folder_is_refused_and_a_new_one_is_made_private(tmp_path, monkeypatch):
    """Testing only the others' write bit would let a group member hold kaggle-kit's locks; a lock folder made 0755
    would show every user which pipelines and folders one is running."""
    import stat

    from kaggle_kit.errors import UsageError
    from kaggle_kit.fsio import private_folder

    folder = _lock_folder(tmp_path, monkeypatch, 0o770)
    with pytest.raises(UsageError, match=r"other users can write into it \(mode 770, owned by you\)"):
        private_folder(folder)
    assert stat.S_IMODE(private_folder(tmp_path / "new").stat().st_mode) == 0o700


@pytest.mark.parametrize("argv, line", [
    (["submit", "s.csv", "--from", "runs/r", "-m", "m"], "give either a CSV file or --from RUN (exactly one)"),
    (["submit", "-m", "m"], "give either a CSV file or --from RUN (exactly one)"),
    (["submit", "s.csv", "--out", "o.csv", "-m", "m"], "--out only applies with --from RUN"),
    (["submit", "--from", "runs/r", "-m", "m", "--synthetic-per-set", "-1"],
     "--synthetic-per-set must be 0 (off) or more"),
    (["train", "--resume", "runs/r", "--run-dir", "elsewhere"],
     "--resume takes the run's own config.yaml; drop PIPELINE and --run-dir"),
    (["train", "p.yaml", "--resume", "runs/r"],
     "--resume takes the run's own config.yaml; drop PIPELINE and --run-dir"),
    (["train", "--resume", "runs/r", "--set", "train.epochs=3"],
     "--resume takes the run's own config.yaml: 'train.epochs' would change what the run learns; only "
     "train.num_workers may be --set (or train a new run)"),
])
def test_contradictory_or_out_of_range_options_are_one_error_line_before_any_work(argv, line, tmp_path, monkeypatch,
                                                                                  capsys):
    """A dropped option check would submit a CSV while ignoring --from or --out, accept a negative
    --synthetic-per-set, or resume a run into another folder or with another recipe."""
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert capsys.readouterr().err.splitlines() == [f"error: {line}"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("upload, extra", [("never", " --set submit.upload=auto"), ("auto", "")])
def test_a_dry_run_of_run_names_the_command_that_uploads(monkeypatch, upload, extra):
    """Naming the command again without ``--set submit.upload=auto`` where the pipeline says never (or with it
    where it does not) would print an upload command that only dry-runs again."""
    import kaggle_kit.pipeline

    seen: dict = {}

    def stop(cfg, **kwargs):
        seen.update(kwargs, cfg=cfg)
        raise KeyboardInterrupt

    monkeypatch.setattr(kaggle_kit.pipeline, "run_pipeline", stop)
    assert main(["run", "pipelines/demo.yaml", "--set", "train.epochs=2", "--set", f"submit.upload={upload}"]) == 130
    assert (seen["cfg"].train.epochs, seen["cfg"].submit.upload) == (2, upload)
    assert seen["again"] == "kaggle-kit run pipelines/demo.yaml --set train.epochs=2" + extra


def test_an_os_error_of_a_rename_names_its_destination():
    """Naming the temporary file instead of a rename's destination would point the user at a file that is gone."""
    from kaggle_kit.cli import os_error_line

    err = OSError(28, "No space left on device", "out/.s.csv.tmp", None, "out/s.csv")
    assert os_error_line(err) == "out/s.csv: No space left on device (OSError)"
    assert os_error_line(OSError(13, "Permission denied", "a.csv")) == "a.csv: Permission denied (PermissionError)"


@pytest.mark.parametrize("score, shown", [("0.8123", "81.23%"), ("81.23", "81.23%"), ("", "pending")])
def test_the_run_summary_gives_a_scored_submissions_public_score_in_percent(capsys, score, shown):
    """A dropped factor of 100 would print a public score of 81.23% as 0.81%."""
    from pathlib import Path

    from kaggle_kit.commands.run import _summary
    from kaggle_kit.pipeline import PipelineOutcome

    _summary(PipelineOutcome([], Path("r"), None, {"status": "complete", "public_score": score}, None, {},
                             ledger=Path("ledger.csv")))
    assert capsys.readouterr().out.splitlines()[-1] == (f"ledger:       ledger.csv (this submission: complete, "
                                                        f"public score {shown})")
