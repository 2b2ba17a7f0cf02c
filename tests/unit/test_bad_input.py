"""Bad input is one ``error: ...`` line naming the problem and the path, before anything is written or computed.

Covers logits of the wrong shape (submit/ensemble), --device, train's --run-dir/--runs-root, unusable output
paths (fsio.check_file_target/check_dir_target) and the CLI's last-resort handling of an OSError. The uploads
themselves are covered against the fake Kaggle server in tests/e2e/test_submit_bad_input.py.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from kaggle_kit import predict
from kaggle_kit.cli import main
from kaggle_kit.errors import RunError, UsageError
from kaggle_kit.fsio import check_dir_target, check_file_target
from kaggle_kit.runs import NUM_CLASSES, Logits, load_logits, save_logits, write_manifest

HOLD = np.arange(0, 200, 5, dtype=np.int64)
TEST = np.arange(30, dtype=np.int64)
COMP = np.arange(1000, 1020, dtype=np.int64)


def make_run(folder, classes: int = NUM_CLASSES, seed: int = 0, comp=COMP):
    """A predicted run folder with synthetic logits over ``classes`` classes."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    np.save(folder / "holdout_indices.npy", HOLD)
    for split, ids in (("holdout", HOLD), ("test", TEST)):
        labels = rng.integers(0, classes, len(ids))
        save_logits(folder / f"logits_{split}.npz",
                    Logits(ids, rng.normal(size=(len(ids), classes)).astype(np.float32), labels, "none"))
    save_logits(folder / "logits_comp.npz",
                Logits(comp, rng.normal(size=(len(comp), classes)).astype(np.float32), None, "none"))
    write_manifest(folder, "predict", extra={"comp_complete": True})
    return folder


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err, captured.err
    assert captured.out == ""
    return captured.err.rstrip("\n")


# --------------------------------------------------------------------------------------------- logits shape
def test_logits_with_the_wrong_number_of_classes_are_refused_naming_the_file(tmp_path):
    run = make_run(tmp_path / "bad", classes=7)
    assert load_logits(run / "logits_comp.npz").logits.shape == (len(COMP), 7)  # readable without a class count
    with pytest.raises(RunError, match=r"logits_comp\.npz: logits have 7 columns \(classes\), expected 10"):
        load_logits(run / "logits_comp.npz", NUM_CLASSES)


@pytest.mark.parametrize("arrays, message", [
    (dict(ids=np.arange(3), logits=np.zeros((4, 10), np.float32)), "inconsistent shapes ids (3,), logits (4, 10)"),
    (dict(ids=np.arange(3), logits=np.zeros(3, np.float32)), "inconsistent shapes"),
    (dict(ids=np.arange(3), logits=np.zeros((3, 10), np.float32), labels=np.array([0, 1, 12])),
     "labels outside 0..9 (found 0..12)"),
    # the bounds themselves: label C (one past the last class) and -1 are outside too
    (dict(ids=np.arange(3), logits=np.zeros((3, 10), np.float32), labels=np.array([0, 1, 10])),
     "labels outside 0..9 (found 0..10)"),
    (dict(ids=np.arange(3), logits=np.zeros((3, 10), np.float32), labels=np.array([-1, 0, 9])),
     "labels outside 0..9 (found -1..9)"),
    (dict(ids=np.arange(3) + 0.5, logits=np.zeros((3, 10), np.float32)), "ids must be integers"),
    (dict(ids=np.arange(3), logits=np.zeros((3, 10), np.float32), temperature=np.array(0.0)),
     "temperature must be a positive number"),
    (dict(ids=np.arange(3), logits=np.array([[0.0] * 10, [np.nan] * 10, [np.inf] + [0.0] * 9], np.float32)),
     "logits of 2 of 3 images are NaN or infinite (a model that diverged?)"),
    # finite in float64 but infinite once kept as float32: the estimators' softmax made NaN of it
    (dict(ids=np.arange(3), logits=np.array([[0.0] * 10, [1e39] + [0.0] * 9, [0.0] * 10])),
     "logits of 1 of 3 images are NaN or infinite"),
])
def test_inconsistent_logits_files_are_refused_naming_the_file(tmp_path, arrays, message):
    path = tmp_path / "logits_test.npz"
    np.savez(path, **arrays)
    with pytest.raises(RunError) as info:
        load_logits(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)


def test_a_submission_is_never_written_from_nan_logits(tmp_path):
    """argmax of a NaN row is 0: without the check a diverged model becomes a valid-looking all-airplane CSV."""
    from kaggle_kit.errors import SubmissionError
    from kaggle_kit.submission import write_submission

    out = tmp_path / "sub.csv"
    with pytest.raises(SubmissionError, match=r"logits of 1 of 3 images are NaN or infinite"):
        write_submission(out, np.array([10, 11, 12]), np.array([[0.0, 1.0], [np.nan, 0.0], [2.0, 0.0]]))
    assert not out.exists()


def test_submission_from_a_run_with_7_class_logits_writes_nothing(tmp_path):
    run = make_run(tmp_path / "bad", classes=7)
    out = tmp_path / "subs" / "bad.csv"
    with pytest.raises(RunError, match="logits have 7 columns"):
        predict.submission_from_run(run, out)
    assert not out.parent.exists()


def test_submission_from_logits_for_other_ids_is_refused_naming_the_file(tmp_path):
    run = make_run(tmp_path / "other", comp=COMP + 1)
    out = tmp_path / "sub.csv"
    with pytest.raises(RunError) as info:
        predict.submission_from_run(run, out, expected_ids=COMP)
    assert str(info.value).startswith(f"{run / 'logits_comp.npz'}: its 20 ids are not the competition pickle's 20 "
                                      f"(missing e.g. 1000; not in the pickle e.g. 1020)")
    assert not out.exists()


def test_ensemble_with_a_7_class_member_is_one_line_and_writes_nothing(tmp_path, capsys):
    good, bad = make_run(tmp_path / "runs" / "A"), make_run(tmp_path / "R" / "badnpz", classes=7)
    out_root = tmp_path / "ens"
    assert main(["ensemble", str(good), str(bad), "--name", "ab", "--out-root", str(out_root)]) == 2
    line = one_error_line(capsys)
    assert line == (f"error: {bad / 'logits_holdout.npz'}: logits have 7 columns (classes), expected 10; re-run "
                    f"`kaggle-kit predict` on that run")
    assert not out_root.exists()


def test_ensemble_out_root_that_is_a_file_is_refused_before_reading_members(tmp_path, capsys):
    good = make_run(tmp_path / "runs" / "A")
    (tmp_path / "ens").write_text("not a folder")
    assert main(["ensemble", str(good), "--name", "a", "--out-root", str(tmp_path / "ens")]) == 2
    assert one_error_line(capsys) == (f"error: {tmp_path / 'ens' / 'a'}: cannot write the ensemble folder there, "
                                      f"{tmp_path / 'ens'} is a file, not a folder")


# ---------------------------------------------------------------------------------------------- --device
@pytest.mark.parametrize("spec", ["gpu", "GPU", "cuda:x", "cuda:-1", "meta", "xpu", "cpu:1", ""])
def test_unknown_devices_name_the_valid_choices(spec):
    with pytest.raises(UsageError) as info:
        predict.resolve_device(spec)
    assert str(info.value) == (f"--device '{spec}' is not a device this toolkit runs on; use auto, cpu, cuda, "
                               f"cuda:N (N = GPU index) or mps")


def test_cuda_without_a_gpu_says_cuda_is_not_available(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for spec in ("cuda", "cuda:7"):
        with pytest.raises(UsageError, match=rf"^--device {spec}: CUDA is not available on this machine"):
            predict.resolve_device(spec)
    assert predict.resolve_device("auto") == predict.resolve_device(None) == torch.device("cpu")


def test_a_gpu_index_past_the_last_gpu_names_the_valid_ones(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(UsageError, match=r"^--device cuda:7: this machine has 2 CUDA devices, so use "
                                         r"cuda:0\.\.cuda:1, cuda or auto$"):
        predict.resolve_device("cuda:7")
    assert predict.resolve_device("cuda:1") == torch.device("cuda", 1)
    assert predict.resolve_device(" cpu ") == torch.device("cpu")


def test_predict_run_refuses_a_bad_device_before_reading_the_run(tmp_path):
    with pytest.raises(UsageError, match="--device 'gpu'"):
        predict.predict_run(tmp_path / "no-run", None, None, None, device="gpu")


@pytest.mark.parametrize("device", ["gpu", "cuda:7"])
def test_cli_predict_refuses_a_bad_device_before_loading_data(tmp_path, capsys, monkeypatch, device):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    missing = str(tmp_path / "no-data")
    assert main(["predict", str(tmp_path / "no-run"), "--device", device, "--data-dir", missing]) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"error: --device {device}" if device != "gpu" else "error: --device 'gpu'")
    assert ("CUDA is not available" in line) == (device == "cuda:7")


# --------------------------------------------------------------------------------------- train's folders
@pytest.fixture()
def pipeline(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: p\nmodel: {name: tinycnn}\n")
    return path


def test_train_run_dir_that_is_a_file_is_refused(tmp_path, pipeline, capsys):
    ok = tmp_path / "ok.csv"
    ok.write_text("ID,Labels\n")
    missing = str(tmp_path / "no-data")
    assert main(["train", str(pipeline), "--run-dir", str(ok), "--data-dir", missing]) == 2
    assert one_error_line(capsys) == f"error: {ok}: is a file, not a folder; give a folder path for the run folder " \
                                     f"(--run-dir)"
    assert main(["train", str(pipeline), "--run-dir", str(ok / "run"), "--data-dir", missing]) == 2
    assert one_error_line(capsys) == (f"error: {ok / 'run'}: cannot write the run folder (--run-dir) there, {ok} is "
                                      f"a file, not a folder")
    assert main(["train", str(pipeline), "--runs-root", str(ok), "--data-dir", missing]) == 2
    assert one_error_line(capsys) == (f"error: {ok}: is a file, not a folder; give a folder path for the runs root "
                                      f"(--runs-root)")
    assert ok.read_text() == "ID,Labels\n"


def test_train_with_usable_folders_gets_as_far_as_the_data(tmp_path, pipeline, capsys):
    assert main(["train", str(pipeline), "--runs-root", str(tmp_path / "new" / "runs"),
                 "--data-dir", str(tmp_path / "no-data")]) == 2
    assert "no competition data found" in one_error_line(capsys)
    assert not (tmp_path / "new").exists()


# ------------------------------------------------------------------------------------------- fsio checks
def test_check_file_target(tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("x")
    assert check_file_target(tmp_path / "file") == tmp_path / "file"          # an existing file may be replaced
    assert check_file_target(tmp_path / "new" / "deeper" / "x.csv")           # folders can be made
    with pytest.raises(UsageError, match=r"dir: is a folder; give a file path for the ledger$"):
        check_file_target(tmp_path / "dir", "ledger")
    with pytest.raises(UsageError, match=r"file/x\.csv: cannot write the output file there, .*file is a file"):
        check_file_target(tmp_path / "file" / "x.csv")
    assert not (tmp_path / "new").exists()                                    # the checks create nothing


def test_check_dir_target(tmp_path):
    (tmp_path / "file").write_text("x")
    assert check_dir_target(tmp_path) == tmp_path
    assert check_dir_target(tmp_path / "a" / "b")
    with pytest.raises(UsageError, match=r"file: is a file, not a folder"):
        check_dir_target(tmp_path / "file")
    with pytest.raises(UsageError, match=r"file/a: cannot write the output folder there"):
        check_dir_target(tmp_path / "file" / "a")
    assert not (tmp_path / "a").exists()


def test_a_fifo_is_no_output_file_and_a_dangling_link_is_not_ours_to_remove(tmp_path):
    """Accepting a FIFO as an output file would hang the write; counting a dangling link among the paths a command
    made would have a failed command delete the user's link, and accepting it as a folder would fail after the work."""
    import os

    from kaggle_kit.fsio import new_paths

    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(UsageError, match=r"pipe: is not a regular file; give a file path for the output file$"):
        check_file_target(tmp_path / "pipe")
    (tmp_path / "link").symlink_to(tmp_path / "missing")
    assert new_paths(tmp_path / "link") == []
    with pytest.raises(UsageError, match=r"link: is a link to .*missing, which does not exist; create that folder "):
        check_dir_target(tmp_path / "link")


def test_atomic_writes_name_the_users_file_get_opens_permissions_and_leave_only_their_own_temporaries(tmp_path):
    """Renaming an error about another file (or keeping the hidden temporary's name), writing 0600 whatever the
    umask, or counting any hidden file beside an output as a leftover temporary (a later run deletes those)."""
    import os
    import stat

    from kaggle_kit.fsio import atomic_path, atomic_write_text, leftover_temporaries

    out, other = tmp_path / "x.csv", tmp_path / "other.csv"
    for named, shown in ((None, out), (other, other)):
        with pytest.raises(PermissionError) as err:
            with atomic_path(out) as tmp:
                raise PermissionError(13, "Permission denied", str(named or tmp))
        assert err.value.filename == str(shown)
    old = os.umask(0o022)
    try:
        atomic_write_text(out, "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    for name in (".x.csv.abc123.tmp", ".x.csv.swp", ".x.csv.abc.tmp.bak"):
        (tmp_path / name).write_text("")
    assert leftover_temporaries(out) == [tmp_path / ".x.csv.abc123.tmp"]


# -------------------------------------------------------------------------------- OSError at the CLI's edge
def test_an_os_error_is_one_line_naming_the_path_and_verbose_shows_the_traceback(tmp_path, capsys, monkeypatch):
    from kaggle_kit.commands import validate

    def boom(args):
        raise IsADirectoryError(21, "Is a directory", str(tmp_path / ".x.tmp"), None, str(tmp_path / "x"))

    monkeypatch.setattr(validate, "run", boom)
    assert main(["validate", "a.csv", "--against", "b.pkl"]) == 1
    assert capsys.readouterr().err == f"error: {tmp_path / 'x'}: Is a directory (IsADirectoryError)\n"
    assert main(["--verbose", "validate", "a.csv", "--against", "b.pkl"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.endswith(f"error: {tmp_path / 'x'}: Is a directory (IsADirectoryError)\n")


def test_the_report_refuses_logits_of_another_class_count_naming_the_file(tmp_path, capsys):
    from kaggle_kit.gap.report_runs import load_run

    run = make_run(tmp_path / "bad", classes=7)
    with pytest.raises(RunError, match=r"logits_holdout\.npz: logits have 7 columns \(classes\), expected 10"):
        load_run(run)


def test_a_sync_that_changes_nothing_says_the_ledger_was_up_to_date():
    from kaggle_kit.upload import SyncResult

    assert SyncResult(0, 0, 0, 1).describe() == ("1 submission on Kaggle: 0 ledger rows updated, 0 added, "
                                                 "0 still pending; the ledger was already up to date")
    assert SyncResult(1, 0, 0, 1).describe().endswith("0 still pending")


def test_a_pipeline_that_uploads_checks_its_ledger_before_the_data_and_training(tmp_path):
    from kaggle_kit.config import load_pipeline
    from kaggle_kit.errors import LedgerError
    from kaggle_kit.pipeline import run_pipeline

    (tmp_path / "submissions").mkdir()
    (tmp_path / "submissions" / "ledger.csv").write_text("not,a,ledger\n")
    cfg = load_pipeline("pipelines/demo.yaml")
    with pytest.raises(LedgerError, match=r"ledger.csv: header is not a kaggle-kit ledger's"):
        run_pipeline(cfg, data_dir=tmp_path / "no-data-here", workdir=tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["submissions"]  # no runs/, nothing trained


def test_an_unreadable_ensemble_summary_is_an_error_and_missing_members_keep_their_names(tmp_path):
    """A broken ensemble.json used to make the report treat a submitted ensemble as a new run (corrected by its
    own score); members not on disk still name the submission as the ledger recorded it."""
    import json

    from kaggle_kit.gap.report_runs import load_run, member_folders, member_names

    ens = make_run(tmp_path / "ensembles" / "e")
    (ens / "ensemble.json").write_text("{not json")
    with pytest.raises(RunError, match=r"e/ensemble.json: not an ensemble summary"):
        load_run(ens)
    (ens / "ensemble.json").write_text(json.dumps({"members": [{"path": "runs/m0"}, {"path": "runs/gone"}]}))
    make_run(tmp_path / "runs" / "m0")
    assert member_names(ens) == ["m0", "gone"] and member_folders(ens) == []
    assert load_run(ens).members == ["m0", "gone"]


def test_report_out_that_is_a_file_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    assert main(["report", "--out", "afile"]) == 2
    assert one_error_line(capsys) == ("error: afile: is a file, not a folder; give a folder path for the report "
                                      "folder (--out)")


def test_report_with_a_ledger_path_that_does_not_exist_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    """A mistyped --ledger read as an empty ledger: the report said 'No submissions in the ledger yet'."""
    monkeypatch.chdir(tmp_path)
    make_run(tmp_path / "runs" / "m0")
    assert main(["report", "--runs", "m0", "--ledger", "submisions/ledger.csv"]) == 2
    assert one_error_line(capsys) == ("error: submisions/ledger.csv: no such ledger file; give the path of a "
                                      "submissions ledger.csv, or leave --ledger out")


def test_report_reads_the_ledger_it_was_given_and_else_the_default(tmp_path):
    """Dropping the given path would read submissions/ledger.csv in place of the ledger named by --ledger."""
    from kaggle_kit.commands.report import _ledger_arg

    (tmp_path / "mine.csv").write_text("")
    assert (_ledger_arg(str(tmp_path / "mine.csv")), _ledger_arg(None)) == (str(tmp_path / "mine.csv"),
                                                                            "submissions/ledger.csv")


def test_report_without_runs_or_a_ledger_naming_some_is_one_error_line_before_the_data(tmp_path, monkeypatch, capsys):
    """A dropped 'no runs' check would read the data (or fail on it) and report on nothing."""
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--data-dir", "no-data-here"]) == 2
    assert one_error_line(capsys) == ("error: no runs to report on: pass --runs RUN..., or submit first so "
                                      "submissions/ledger.csv names some")


def test_new_paths_lists_what_creating_a_path_adds_and_remove_created_takes_back_only_that(tmp_path):
    from kaggle_kit.fsio import new_paths, remove_created

    (tmp_path / "old").mkdir()
    target = tmp_path / "old" / "a" / "b" / "f.csv"
    made = new_paths(target)
    assert made == [target, target.parent, target.parent.parent]  # deepest first; "old" existed
    target.parent.mkdir(parents=True)
    target.write_text("x")
    (tmp_path / "old" / "a" / "other.txt").write_text("written since")  # "a" is no longer ours to remove
    remove_created(made)
    assert not target.parent.exists() and (tmp_path / "old" / "a" / "other.txt").is_file()
    assert new_paths(tmp_path) == []


@pytest.mark.parametrize("name, why", [("", "has an empty or invalid name"), ("a\x00b", "has an empty or invalid name"),
                                       ("/etc/x", "is an absolute path"), ("\\x", "is an absolute path"),
                                       ("C:x", "is an absolute path"), ("a/../../x", "contains '..'"),
                                       ("a\\..\\x", "contains '..'"), ("ok/file.txt", None), ("dir/", None)])
def test_escape_problem_is_the_one_rule_for_names_from_archives_and_kernel_outputs(tmp_path, name, why):
    from kaggle_kit.fsio import escape_problem

    assert escape_problem(name, tmp_path) == why
    (tmp_path / "link").symlink_to(tmp_path.parent)
    assert escape_problem("link/x", tmp_path) == "resolves outside the destination"


def test_a_pipeline_with_upload_always_and_no_credentials_fails_before_the_data_and_training(tmp_path, monkeypatch):
    """`--set submit.upload=always` without credentials trained every member (hours for default.yaml) and only
    then said so; `kaggle-kit submit --upload always` already checks first."""
    from kaggle_kit.config import load_pipeline
    from kaggle_kit.errors import CredentialsError
    from kaggle_kit.pipeline import run_pipeline

    for var in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "cfg").mkdir()
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "cfg"))
    work = tmp_path / "work"
    cfg = load_pipeline("pipelines/demo.yaml", ["submit.upload=always"])
    with pytest.raises(CredentialsError, match="no Kaggle credentials found"):
        run_pipeline(cfg, data_dir=tmp_path / "no-data-here", workdir=work, progress=False)
    assert not work.exists()  # no runs/, nothing trained


@pytest.mark.parametrize("message,why", [
    ("x" * 100_001, "submit.message has 100,001 characters; the ledger keeps at most 100,000: shorten it"),
    ("'   '", "a submission needs a message (submit.message): it is how you tell submissions apart later")])
def test_a_pipeline_message_the_upload_would_refuse_fails_before_the_data_and_training(tmp_path, message, why):
    """The ledger's cell limit (and a blank message) was checked only by the upload stage, after every member
    had trained; `kaggle-kit submit -m` checks it first."""
    from kaggle_kit.config import load_pipeline
    from kaggle_kit.errors import SubmissionError
    from kaggle_kit.pipeline import run_pipeline

    work = tmp_path / "work"
    cfg = load_pipeline("pipelines/demo.yaml", ["submit.upload=never", f"submit.message={message}"])
    with pytest.raises(SubmissionError) as err:
        run_pipeline(cfg, data_dir=tmp_path / "no-data-here", workdir=work, progress=False)
    assert str(err.value) == why
    assert not work.exists()  # no runs/, nothing trained


def test_competition_logits_are_matched_to_the_pickles_images_by_id_and_unknown_ids_refused():
    """Without the id check, logits naming an image the pickle lacks would silently take a neighbour's statistics."""
    from kaggle_kit.gap.report_runs import _positions

    all_ids = np.array([30, 10, 20], dtype=np.int64)
    assert _positions(all_ids, np.array([20, 30, 10])).tolist() == [2, 0, 1]
    with pytest.raises(RunError, match="ids that are not in the competition pickle"):
        _positions(all_ids, np.array([20, 25]))


def test_an_ensembles_member_agreement_is_holdout_first_then_competition(tmp_path):
    """Swapped, section 2 would say the members' competition agreement was their holdout one."""
    import json

    from kaggle_kit.gap.report_runs import load_run

    ens = make_run(tmp_path / "ensembles" / "e")
    (ens / "ensemble.json").write_text(json.dumps({"members": [{"path": "runs/m0"}, {"path": "runs/m1"}]}))
    members = [make_run(tmp_path / "runs" / f"m{k}", seed=k + 1) for k in range(2)]
    agree = [np.mean(load_logits(members[0] / f, NUM_CLASSES).logits.argmax(1)
                     == load_logits(members[1] / f, NUM_CLASSES).logits.argmax(1))
             for f in ("logits_holdout.npz", "logits_comp.npz")]
    assert agree[0] != agree[1]  # 40 holdout and 20 competition images: the two shares differ
    assert load_run(ens, with_test=False).member_agreement == pytest.approx(tuple(agree))


def test_a_competition_id_past_the_pickles_largest_is_refused_by_name():
    """Without the clip, an id above every pickle id raised a bare IndexError instead of the RunError."""
    from kaggle_kit.gap.report_runs import _positions

    with pytest.raises(RunError, match="ids that are not in the competition pickle"):
        _positions(np.array([30, 10, 20], dtype=np.int64), np.array([40]))


def test_an_empty_holdout_is_refused_naming_the_run(tmp_path):
    """Checking only for missing labels let a holdout of no images through to the estimators."""
    from kaggle_kit.gap.report_runs import load_run

    run = make_run(tmp_path / "r")
    save_logits(run / "logits_holdout.npz", Logits(HOLD[:0], np.zeros((0, NUM_CLASSES), np.float32), HOLD[:0], "none"))
    with pytest.raises(RunError, match=r"r: the holdout logits have no labels"):
        load_run(run)


def test_the_sanity_check_estimates_the_test_logits_and_only_when_asked(tmp_path):
    """Estimating the competition logits there would compare the competition prediction with the test accuracy."""
    from kaggle_kit.gap.estimators import estimate_all
    from kaggle_kit.gap.report_runs import load_run

    run = make_run(tmp_path / "r")
    hold, test = (load_logits(run / f"logits_{s}.npz", NUM_CLASSES) for s in ("holdout", "test"))
    want = estimate_all(hold.logits, hold.labels, test.logits)["estimates"]
    assert load_run(run).test_result["estimates"] == pytest.approx(want, nan_ok=True)
    assert load_run(run, with_test=False).test_result is None


@pytest.mark.parametrize("call", ["predict_leaderboard", "leaderboard_prediction"])
def test_the_leaderboard_prediction_passes_the_synthetic_count_on(monkeypatch, call):
    """A hard-coded 300 would silently ignore ``report.synthetic_per_set`` (0 turns CC-Synth off), and looking the
    data up anew the images passed in."""
    from kaggle_kit.config import ReportConfig
    from kaggle_kit.gap import report_runs

    seen = []

    def fake(run_dir, data=None, comp=None, synthetic_per_set=300, with_test=True):
        seen.append((data, comp, synthetic_per_set, with_test))
        raise RunError("stop")

    monkeypatch.setattr(report_runs, "load_run", fake)
    kwargs = {"cfg": ReportConfig(synthetic_per_set=7)} if call == "predict_leaderboard" else {"synthetic_per_set": 7}
    data, comp = object(), object()
    with pytest.raises(RunError, match="stop"):
        getattr(report_runs, call)("r", data, comp, **kwargs)
    assert seen == [(data, comp, 7, False)]


def test_predict_leaderboard_recommends_the_preferred_estimators_value(monkeypatch):
    """'recommended' is Median-5-Spread's value when computed, neither the highest nor the lowest estimate, nor the
    one with the lowest benchmark error (Median-4)."""
    from kaggle_kit.gap import report_runs

    est = {"AC": 0.9, "Median-4": 0.75, "Median-5-Spread": 0.71, "COTT": 0.6}
    monkeypatch.setattr(report_runs, "load_run", lambda *a, **k: report_runs.RunView(
        None, "r", None, None, None, {"estimates": est}, None))
    assert report_runs.predict_leaderboard("r", object(), object()) == {**est, "recommended": 0.71}


@pytest.mark.parametrize("missing", ["logits_comp.npz", "logits_holdout.npz"])
def test_a_member_without_one_of_its_logits_drops_the_agreement_estimate_not_the_report(tmp_path, missing):
    """Accepting a member by one of its two logits files made load_run fail reading the missing one."""
    import json

    from kaggle_kit.gap.report_runs import load_run, member_folders

    ens = make_run(tmp_path / "ensembles" / "e")
    (ens / "ensemble.json").write_text(json.dumps({"members": [{"path": "runs/m0"}, {"path": "runs/m1"}]}))
    for k in range(2):
        make_run(tmp_path / "runs" / f"m{k}", seed=k + 1)
    (tmp_path / "runs" / "m1" / missing).unlink()
    assert member_folders(ens) == [] and load_run(ens, with_test=False).member_agreement is None
