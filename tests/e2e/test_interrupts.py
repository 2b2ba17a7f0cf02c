"""Ctrl-C (SIGINT) and ``kill`` (SIGTERM) at chosen points of the commands other than `train`.

Each case runs the CLI in a child process whose chosen function, once reached, says so in a file and then waits
for the signal: the signal lands exactly there, never by timing. Afterwards: exit 130 (SIGINT) or 143 (SIGTERM),
one stderr line and no traceback; no temporary file and no output a later command would trust; and the rerun
ends as a run never interrupted. The REAL kaggle client talks to the fake Kaggle server, as in
test_submit_bad_input.py.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from kaggle_kit.testing.fake_kaggle import FakeKaggle, FakeKaggleConfig, write_competition

ROOT = Path(__file__).resolve().parents[2]
N = 30
AGAINST = ["--against", "comp/cifar_test_nolabel.pkl"]
SIGNALS = [pytest.param(signal.SIGINT, 130, "interrupted", id="SIGINT"),
           pytest.param(signal.SIGTERM, 143, "terminated", id="SIGTERM")]

# argv: MODULE:FUNCTION, before|after|self-SIGNUM (wait there for the signal before calling it, or once it has
# returned; or send SIGNUM to itself and go on, for a step that holds signals off), the file that says the point
# was reached, a text the first argument must contain ("" = any call; "=TEXT": be), then the CLI's arguments.
# Test-only, and outside the toolkit.
BLOCK_AT = """
import importlib, os, sys, time
from pathlib import Path

target, when, reached, match = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
module_name, name = target.split(":")
module = importlib.import_module(module_name)
real = getattr(module, name)

def blocked(*args, **kwargs):
    first = str(args[0]) if args else None
    if match and not (first == match[1:] if match.startswith("=") else first is not None and match in first):
        return real(*args, **kwargs)
    if when.startswith("self-"):
        setattr(module, name, real)  # once
        reached.write_text("reached")
        os.kill(os.getpid(), int(when[5:]))
        return real(*args, **kwargs)
    if when == "after":
        real(*args, **kwargs)
    reached.write_text("reached")
    while True:  # the signal ends this wait
        time.sleep(0.01)

setattr(module, name, blocked)
from kaggle_kit.cli import main
sys.exit(main(sys.argv[5:]))
"""


@pytest.fixture()
def comp(tmp_path):
    return write_competition(tmp_path / "work" / "comp", N)


@pytest.fixture()
def fake(comp):
    server = FakeKaggle(FakeKaggleConfig(labels_csv=comp["labels_csv"], daily_limit=5)).start()
    yield server
    server.stop()


@pytest.fixture()
def env(fake, tmp_path):
    """The child's environment: the fake server's client sandbox, and its own TMPDIR, so a temporary folder it
    leaves is seen."""
    out = {**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(tmp_path / "tmp"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    (tmp_path / "tmp").mkdir()
    out.pop("KAGGLE_KIT_DATA", None)
    for k, v in fake.sandbox_env(tmp_path / "client").items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def cli(work: Path, env: dict, args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kaggle_kit", *args], cwd=work, env=env, capture_output=True,
                          text=True, timeout=120)


def interrupted(work: Path, env: dict, at: str, when: str, sig: int, args: list[str],
                match: str = "", prelude: str = "") -> tuple[int, str, str]:
    """Run the CLI with ``args`` until it reaches ``at``, send ``sig``; its exit code, stdout and stderr.
    ``prelude``: test-only code run first (a second point, patched before BLOCK_AT patches its own)."""
    reached = work.parent / "reached"
    reached.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", prelude + BLOCK_AT, at, when, str(reached), match, *args],
                            cwd=work,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not reached.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"{at} was not reached (exit {proc.returncode}):\n{out}\n{err}")
        time.sleep(0.01)
    if not when.startswith("self-"):
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def one_line(err: str, word: str) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"error: {word}; "), err
    return err.rstrip("\n")


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def ledger_rows(work: Path) -> list[dict]:
    path = work / "submissions" / "ledger.csv"
    return pd.read_csv(path, dtype=str, keep_default_na=False).to_dict("records") if path.exists() else []


def write_csv(path: Path, comp) -> Path:
    path.write_text("ID,Labels\n" + "".join(f"{i},{l}\n" for i, l in zip(comp["ids"], comp["labels"])))
    return path


# ------------------------------------------------------------------------------------------------ submit
SUBMIT = ["submit", "full.csv", "-m", "first", *AGAINST]


@pytest.mark.parametrize("sig, code, word", SIGNALS)
@pytest.mark.parametrize("at", ["kaggle_kit.kaggle_api:submission_limits", "kaggle_kit.kaggle_api:submit"])
def test_a_submit_stopped_before_kaggle_has_the_file_records_nothing_and_the_rerun_uploads(
        tmp_path, comp, fake, env, sig, code, word, at):
    work = tmp_path / "work"
    write_csv(work / "full.csv", comp)
    before = files_under(work)
    rc, out, err = interrupted(work, env, at, "before", sig, SUBMIT)
    line = one_line(err, word)
    assert rc == code
    if at.endswith(":submit"):  # the upload itself: Kaggle may have it, so the rerun must look first
        assert "Kaggle may have recorded it: run `kaggle-kit sync`" in line, line
    assert fake.submissions == [] and ledger_rows(work) == []
    assert files_under(work) == before  # no ledger, no lock file, no temporary file
    assert list((tmp_path / "tmp").iterdir()) == []

    again = cli(work, env, SUBMIT)
    assert again.returncode == 0, again.stderr
    (row,) = ledger_rows(work)
    (record,) = fake.submissions
    assert row["kaggle_ref"] == str(record.ref) and row["status"] == "COMPLETE"


def assert_recorded_pending_and_not_uploaded_again(work: Path, fake, env, line: str) -> None:
    """Kaggle has exactly one upload, the ledger its PENDING row (with the file's sha256), the stop's line says so,
    and a rerun is refused as already submitted rather than spending a second daily slot."""
    (record,) = fake.submissions
    (row,) = ledger_rows(work)
    assert row["kaggle_ref"] == str(record.ref) and row["status"] == "PENDING" and row["sha256"]
    assert f"as ref {record.ref} and recorded in submissions/ledger.csv as PENDING" in line, line
    again = cli(work, env, SUBMIT)
    assert again.returncode != 0 and "already" in again.stderr, again.stderr
    assert len(fake.submissions) == 1


@pytest.mark.parametrize("sig, code, word", SIGNALS)
def test_a_submit_stopped_after_the_upload_still_records_it_and_the_rerun_does_not_upload_again(
        tmp_path, comp, fake, env, sig, code, word):
    """Was: Kaggle had the file (a daily slot spent) and the ledger had no row for it, so the rerun uploaded the
    same bytes again; with SIGTERM also no word on stderr. The status read that follows the upload is where the
    signal lands."""
    work = tmp_path / "work"
    write_csv(work / "full.csv", comp)
    rc, out, err = interrupted(work, env, "kaggle_kit.kaggle_api:list_submissions", "before", sig, SUBMIT)
    line = one_line(err, word)
    assert rc == code
    assert_recorded_pending_and_not_uploaded_again(work, fake, env, line)
    assert not list((work / "submissions").glob(".*.tmp"))
    synced = cli(work, env, ["sync"])
    assert synced.returncode == 0, synced.stderr
    (row,) = ledger_rows(work)
    assert row["status"] == "COMPLETE" and row["public_score"]


@pytest.mark.parametrize("sig, code, word", SIGNALS)
def test_a_signal_while_the_ledger_row_is_written_waits_for_the_row(tmp_path, comp, fake, env, sig, code, word):
    """The row's write is held against both signals: one that comes inside it (just after its temporary file was
    made) ends the command after the row is in the ledger, with no temporary file beside it."""
    work = tmp_path / "work"
    write_csv(work / "full.csv", comp)
    rc, _, err = interrupted(work, env, "kaggle_kit.fsio:_umask", f"self-{int(sig)}", sig, SUBMIT)
    line = one_line(err, word)
    assert rc == code
    (record,) = fake.submissions
    (row,) = ledger_rows(work)
    assert row["kaggle_ref"] == str(record.ref)
    assert not list((work / "submissions").glob(".*.tmp"))
    # was the generic 'finished work is kept and a rerun resumes it': the signal, held, came out after the block
    assert (f"full.csv was submitted as ref {record.ref} and recorded in submissions/ledger.csv as "
            f"{row['status']}; ") in line, line


@pytest.mark.parametrize("sig, code, word", SIGNALS)
def test_a_submit_stopped_as_kaggles_answer_comes_back_still_records_it(tmp_path, comp, fake, env, sig, code, word):
    """Kaggle has the file and the client its ref, on the way back to the caller. Was: the ref was lost with the
    interrupt, so no row, a line saying only that Kaggle *may* have it, and a rerun that uploads again once a
    `sync` added the row without its sha256."""
    work = tmp_path / "work"
    write_csv(work / "full.csv", comp)
    rc, _, err = interrupted(work, env, "kaggle_kit.kaggle_api:_call", "after", sig, SUBMIT,
                             match="the submission of")
    line = one_line(err, word)
    assert rc == code
    assert_recorded_pending_and_not_uploaded_again(work, fake, env, line)


# ------------------------------------------------------------------------------------- submit --from RUN
def make_run(folder: Path, comp, seed: int = 0) -> Path:
    """A predicted run as `submit --from` and `ensemble` read it: logits with labels, complete comp logits."""
    import numpy as np

    from kaggle_kit.runs import Logits, save_logits, write_manifest

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    np.save(folder / "holdout_indices.npy", np.arange(100))
    for split in ("holdout", "test"):
        labels = np.random.default_rng(7).integers(0, 10, 100)
        logits = rng.normal(size=(100, 10)).astype(np.float32)
        logits[np.arange(80), labels[:80]] += 4.0
        save_logits(folder / f"logits_{split}.npz", Logits(np.arange(100), logits, labels, "none"))
    save_logits(folder / "logits_comp.npz", Logits(comp["ids"], rng.normal(size=(N, 10)).astype(np.float32), None,
                                                   "none"))
    write_manifest(folder, "predict", extra={"comp_complete": True})
    (folder / "config.yaml").write_text(f"train:\n  seed: {seed}\n")
    return folder


@pytest.mark.parametrize("sig, code, word", SIGNALS)
def test_a_submit_from_a_run_stopped_in_its_prediction_leaves_no_csv_and_no_temporary_folder(
        tmp_path, comp, fake, env, sig, code, word):
    """Was (SIGTERM): the kaggle-kit-submit-* folder holding the staged CSV stayed in the temporary folder, and
    the exit said nothing."""
    work = tmp_path / "work"
    make_run(work / "runs" / "A", comp)
    args = ["submit", "--from", "runs/A", "-m", "A", *AGAINST]
    before = files_under(work)
    rc, _, err = interrupted(work, env, "kaggle_kit.upload:local_scores", "before", sig, args)
    one_line(err, word)
    assert rc == code
    assert files_under(work) == before and fake.submissions == []
    # submit --from's one-at-a-time lock lives in the per-user lock folder on purpose (fsio.one_at_a_time): its
    # empty lock file stays, released by the OS; nothing else of the stopped command may
    left = list((tmp_path / "tmp").iterdir())
    assert [p.name for p in left if not p.name.startswith("kaggle-kit-locks-")] == []
    assert all(f.suffix == ".lock" and f.stat().st_size == 0 for d in left for f in d.iterdir())
    again = cli(work, env, args)
    assert again.returncode == 0, again.stderr
    assert [r["file"] for r in ledger_rows(work)] == ["submissions/A.csv"] and len(fake.submissions) == 1


# ------------------------------------------------------------------------------------------------- sync
@pytest.mark.parametrize("sig, code, word", SIGNALS)
@pytest.mark.parametrize("at", ["kaggle_kit.ledger:update_rows_by_ref", "kaggle_kit.fsio:_umask"])
def test_a_sync_stopped_before_or_inside_its_ledger_write_leaves_the_old_ledger_and_reruns(
        tmp_path, comp, fake, env, sig, code, word, at):
    """`_umask`: just after the ledger's temporary file was made. Was: that file stayed beside the ledger (SIGINT
    too: the temporary file was made before the block that removes it began)."""
    work = tmp_path / "work"
    write_csv(work / "full.csv", comp)
    assert cli(work, env, SUBMIT).returncode == 0
    (work / "submissions" / "ledger.csv").unlink()  # Kaggle has one submission the ledger does not know
    before = files_under(work)
    rc, _, err = interrupted(work, env, at, "before", sig, ["sync"])
    one_line(err, word)
    assert rc == code
    assert files_under(work) - {"submissions/ledger.csv.lock"} == before - {"submissions/ledger.csv.lock"}
    again = cli(work, env, ["sync"])
    assert again.returncode == 0 and "1 added" in again.stdout, again.stdout + again.stderr
    (row,) = ledger_rows(work)
    assert row["kaggle_ref"] == str(fake.submissions[0].ref) and row["status"] == "COMPLETE"


# ---------------------------------------------------------------------------------------------- validate
@pytest.mark.parametrize("sig, code, word", SIGNALS)
def test_validate_stopped_says_one_line(tmp_path, comp, env, sig, code, word):
    work = tmp_path / "work"
    write_csv(work / "full.csv", comp)
    rc, out, err = interrupted(work, env, "kaggle_kit.submission:validate_submission", "before", sig,
                               ["validate", "full.csv", *AGAINST])
    one_line(err, word)
    assert rc == code and out == ""


# ------------------------------------------------------------------------------------------------ report
# test-only: note in a file when the report's covariate thread sees its stop signal at one of its steps
SAW_STOP = """
import sys
from pathlib import Path
import kaggle_kit.gap.domain as _domain
_check = _domain.check

def _noting(cancel):
    if cancel is not None and cancel.is_set():
        Path(sys.argv[3]).with_name("stopped").write_text("stopped")
    _check(cancel)

_domain.check = _noting
"""


@pytest.mark.parametrize("sig, code, word", SIGNALS)
def test_a_report_stopped_while_its_covariate_thread_computes_stops_the_thread_too(tmp_path, shared_data, env, sig,
                                                                                   code, word):
    """The report computes section 4's numbers in a thread while it loads the runs. A signal then must end the
    command as it ended before, one line and no report, with the thread stopped at its next step rather than left
    computing (or printing its own traceback) for the rest of the domain classifier."""
    work = tmp_path / "work"
    (work / "runs" / "A").mkdir(parents=True)
    rc, out, err = interrupted(work, env, "kaggle_kit.gap.report:load_run", "before", sig,
                               ["report", "--runs", "runs/A", "--data-dir", str(shared_data)],
                               prelude=SAW_STOP + "import kaggle_kit.background as _b; _b.usable_cpus = lambda: 2\n")
    one_line(err, word)
    assert rc == code and out == ""
    assert (work.parent / "stopped").read_text() == "stopped"
    assert not (work / "reports").exists()


# ---------------------------------------------------------------------------------------------- ensemble
@pytest.mark.parametrize("sig, code, word", SIGNALS)
def test_an_ensemble_stopped_between_its_logits_is_refused_until_it_is_made_again(
        tmp_path, comp, fake, env, sig, code, word):
    work = tmp_path / "work"
    make_run(work / "runs" / "A", comp, seed=0)
    make_run(work / "runs" / "B", comp, seed=1)
    args = ["ensemble", "runs/A", "runs/B", "--name", "e"]
    rc, _, err = interrupted(work, env, "kaggle_kit.ensemble:save_logits", "after", sig, args)
    one_line(err, word)
    assert rc == code
    refused = cli(work, env, ["submit", "--from", "ensembles/e", "-m", "e", *AGAINST])
    assert refused.returncode != 0 and "did not finish" in refused.stderr, refused.stderr
    assert fake.submissions == [] and not (work / "submissions" / "e.csv").exists()
    assert not list((work / "ensembles" / "e").glob(".*.tmp"))

    assert cli(work, env, args).returncode == 0
    assert cli(work, env, [*args[:-1], "whole"]).returncode == 0
    from kaggle_kit.runs import load_logits

    for split in ("holdout", "test", "comp"):
        a, b = (load_logits(work / "ensembles" / n / f"logits_{split}.npz") for n in ("e", "whole"))
        assert (a.logits == b.logits).all() and (a.ids == b.ids).all() and a.temperature == b.temperature, split


# ------------------------------------------------------------------------------------------- kernel pull
@pytest.fixture()
def kernel_fake(tmp_path):
    """A fake Kaggle whose kernel kaggle-kit-tiny-s0 leaves one run folder (with logits) as its output."""
    import numpy as np

    from kaggle_kit.runs import Logits, save_logits, write_manifest
    from kaggle_kit.testing.fake_kaggle import DEFAULT_USER

    root = tmp_path / "kernel-outputs"
    run = root / "runs" / "20250101-000000-tiny-abcdef0"
    run.mkdir(parents=True)
    np.save(run / "holdout_indices.npy", np.arange(50))
    labels = np.random.default_rng(0).integers(0, 10, 50)
    for split, ids, lab in (("holdout", np.arange(50), labels), ("test", np.arange(50), labels),
                            ("comp", np.arange(1000, 1030), None)):
        save_logits(run / f"logits_{split}.npz", Logits(ids, np.random.default_rng(1).normal(
            size=(len(ids), 10)).astype(np.float32), lab, "none"))
    write_manifest(run, "predict", extra={"comp_complete": True})
    ref = f"{DEFAULT_USER}/kaggle-kit-tiny-s0"
    server = FakeKaggle(FakeKaggleConfig(kernel_outputs={ref: root}, kernel_running_polls=0)).start()
    yield server, ref, run.name
    server.stop()


@pytest.fixture()
def kernel_env(kernel_fake, tmp_path):
    server = kernel_fake[0]
    out = {**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(tmp_path / "tmp"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    (tmp_path / "tmp").mkdir()
    for k, v in server.sandbox_env(tmp_path / "client").items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    work = tmp_path / "work"
    work.mkdir()
    (work / "tiny.yaml").write_text("name: tiny\ntrain:\n  epochs: 1\n  seed: 0\n")
    pushed = cli(work, out, ["kernel", "push", "tiny.yaml", "--seeds", "0"])
    assert pushed.returncode == 0, pushed.stderr
    server.wait_for_kernel(kernel_fake[1])
    return out


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("sig, code, word", SIGNALS)
def test_a_kernel_pull_stopped_after_its_download_leaves_no_staging_folder_and_reruns(
        tmp_path, kernel_fake, kernel_env, sig, code, word):
    """Was (SIGTERM): runs/.pull-*/ with the downloaded outputs stayed, and so did the runs/ folder it made."""
    _, ref, run_name = kernel_fake
    work = tmp_path / "work"
    before = files_under(work)
    rc, _, err = interrupted(work, kernel_env, "kaggle_kit.kernels:download_kernel_outputs", "after", sig,
                             ["kernel", "pull", ref])
    one_line(err, word)
    assert rc == code
    assert files_under(work) == before  # no runs/, no runs/.pull-*
    again = cli(work, kernel_env, ["kernel", "pull", ref])
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in (work / "runs").iterdir()) == [run_name]


def forced_pull_stopped(tmp_path: Path, kernel_fake, kernel_env: dict, sig: int, prelude: str = ""):
    """A run pulled once (with a file of the user's added), then `kernel pull --force` stopped by ``sig`` just
    after it moved the old run out of the way: (work, ref, run name, the tree before, exit code, stderr)."""
    _, ref, run_name = kernel_fake
    work = tmp_path / "work"
    assert cli(work, kernel_env, ["kernel", "pull", ref]).returncode == 0
    (work / "runs" / run_name / "mine.txt").write_text("kept")
    before = tree(work)
    rc, _, err = interrupted(work, kernel_env, "os:rename", "after", sig, ["kernel", "pull", ref, "--force"],
                             match=f"=runs/{run_name}", prelude=prelude)
    return work, ref, run_name, before, rc, err


@pytest.mark.parametrize("sig, code, word", SIGNALS)
def test_a_forced_kernel_pull_stopped_while_it_replaces_a_run_keeps_the_old_run(
        tmp_path, kernel_fake, kernel_env, sig, code, word):
    """`--force` removed the run pulled before, then moved the new one in: stopped in between, the old run was
    gone and the new one, still in the staging folder, was removed with it. Now the old run is moved aside (into
    the staging folder) and back when the new one did not take its place."""
    work, ref, run_name, before, rc, err = forced_pull_stopped(tmp_path, kernel_fake, kernel_env, sig)
    one_line(err, word)
    assert rc == code
    assert tree(work) == before and sorted(p.name for p in (work / "runs").iterdir()) == [run_name]
    again = cli(work, kernel_env, ["kernel", "pull", ref, "--force"])
    assert again.returncode == 0, again.stderr
    assert not (work / "runs" / run_name / "mine.txt").exists()
    assert (work / "runs" / run_name / "logits_comp.npz").is_file()


# a second signal to the process itself as the cleanup of the first puts the replaced run back (test-only)
SECOND_AS_IT_PUTS_BACK = """
import os, signal
real_rename, sent = os.rename, []
def rename(src, dst, *args, **kwargs):
    if "replaced-" in str(src) and not sent:
        sent.append(True)
        os.kill(os.getpid(), signal.SIGINT)
    return real_rename(src, dst, *args, **kwargs)
os.rename = rename
"""


@pytest.mark.parametrize("sig, code, word", SIGNALS)
def test_a_second_ctrl_c_while_a_stopped_forced_pull_puts_the_old_run_back_still_puts_it_back(
        tmp_path, kernel_fake, kernel_env, sig, code, word):
    """Ctrl-C pressed again while the first signal's cleanup runs. Was: the second KeyboardInterrupt cut the
    cleanup short: the old run stayed hidden in runs/.pull-*/replaced-0, the line saying finished work was kept."""
    work, _, run_name, before, rc, err = forced_pull_stopped(tmp_path, kernel_fake, kernel_env, sig,
                                                             prelude=SECOND_AS_IT_PUTS_BACK)
    one_line(err, "interrupted")  # the second signal's word: SIGINT
    assert rc == 130
    assert tree(work) == before and sorted(p.name for p in (work / "runs").iterdir()) == [run_name]


# ------------------------------------------------------------------------------------------- demo / run
DEMO_FAST = ["model.name=tinycnn", "data.train_subset=1500", "data.holdout_size=1000", "data.test_subset=1000",
             "train.epochs=1", "train.batch_size=250", "members=[{name: only}]"]


def ours(tmp: Path) -> list[Path]:
    """What the command left in the temporary folder, less what may stay there: torch's compile cache folder (removed
    at exit only while empty, so a SIGKILLed command leaves it) and the per-user folder of lock files
    (``fsio.one_at_a_time``: flocks the OS releases, which block no rerun)."""
    return [p for p in tmp.iterdir() if not p.name.startswith(("torchinductor", "kaggle-kit-locks-"))]


def demo_args(work: Path, shared_data: Path, *overrides: str) -> list[str]:
    return ["demo", "--workdir", str(work), "--data-dir", str(shared_data), "--no-progress",
            *[a for kv in [*DEMO_FAST, *overrides] for a in ("--set", kv)]]


@pytest.mark.parametrize("sig, code, word", SIGNALS)
def test_a_demo_stopped_as_its_pipeline_starts_stops_its_fake_kaggle_and_leaves_no_credentials(
        tmp_path, shared_data, env, sig, code, word):
    """Was (SIGTERM): the kaggle-kit-demo-* folder with the fake Kaggle's kaggle.json stayed in the temporary
    folder. The rerun is stopped at the same point: nothing the first one left (a lock, the server's port) is in
    its way."""
    work = tmp_path / "work"
    for attempt in range(2):
        rc, _, err = interrupted(work, env, "kaggle_kit.pipeline:run_pipeline", "before", sig,
                                 demo_args(work, shared_data))
        one_line(err, word)
        assert rc == code
        assert ours(tmp_path / "tmp") == [], attempt


@pytest.mark.parametrize("sig, code, word", SIGNALS[1:])
def test_a_pipeline_stopped_between_training_and_prediction_resumes_from_the_trained_run(
        tmp_path, shared_data, env, sig, code, word):
    """At the stage boundary: the rerun trains nothing and ends with a valid CSV. SIGTERM only: Ctrl-C in a
    pipeline is test_pipeline.py's test_killed_training_resumes_without_losing_work."""
    work = tmp_path / "work"
    args = demo_args(work, shared_data, "stages=[data, train, predict, submission]")
    rc, _, err = interrupted(work, env, "kaggle_kit.predict:predict_run", "before", sig, args)
    one_line(err, word)
    assert rc == code
    (run,) = (work / "runs").glob("*/model.pt")
    assert not list(run.parent.glob("logits_*.npz")) and ours(tmp_path / "tmp") == []
    again = cli(ROOT, env, args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "] train skipped" in again.stdout and "] predict done" in again.stdout, again.stdout
    assert len(list((work / "submissions").glob("demo-*.csv"))) == 1


def test_a_forced_pipeline_upload_stopped_after_kaggle_took_it_is_not_uploaded_again(tmp_path, shared_data, env):
    """With submit.force the pipeline uploads its CSV once, however often the ledger has it: the state file says
    whether this pipeline's upload happened. Stopped after Kaggle took the file (its row written, the state not
    yet), the rerun uploaded it again, spending a second slot."""
    import json

    from kaggle_kit.demo import FAKE_KAGGLE_SUBMISSIONS

    work = tmp_path / "work"
    args = demo_args(work, shared_data, "stages=[data, train, predict, submission, upload]", "submit.force=true",
                     "report.synthetic_per_set=0")
    rc, _, err = interrupted(work, env, "kaggle_kit.kaggle_api:list_submissions", "before", signal.SIGINT, args)
    one_line(err, "interrupted")
    assert rc == 130
    on_kaggle = lambda: json.loads((work / FAKE_KAGGLE_SUBMISSIONS).read_text())  # noqa: E731
    assert len(on_kaggle()) == 1 and len(ledger_rows(work)) == 1
    again = cli(ROOT, env, args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "] upload skipped" in again.stdout, again.stdout
    assert len(on_kaggle()) == 1 and len(ledger_rows(work)) == 1
