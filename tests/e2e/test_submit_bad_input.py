"""`kaggle-kit submit` checks all of the user's input before it predicts, writes or uploads anything.

The REAL kaggle client talks to the fake Kaggle server (as in test_fake_kaggle.py): every refusal here must
leave the server without a single call, the working folder without a new file, and stderr with one line.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from kaggle_kit import kaggle_api, ledger
from kaggle_kit.cli import main
from kaggle_kit.runs import Logits, save_logits, write_manifest
from kaggle_kit.testing import use_env
from kaggle_kit.testing.fake_kaggle import FakeKaggle, FakeKaggleConfig, write_competition

N = 30
AGAINST = ("--against", "comp/cifar_test_nolabel.pkl")


@pytest.fixture()
def comp(tmp_path):
    return write_competition(tmp_path / "comp", N)


@pytest.fixture()
def fake(comp, tmp_path, monkeypatch):
    """Credentials for the fake server, cwd = tmp_path, no CIFAR-10 anywhere (logits-only predictions)."""
    server = FakeKaggle(FakeKaggleConfig(labels_csv=comp["labels_csv"], daily_limit=3)).start()
    use_env(monkeypatch, server.sandbox_env(tmp_path / "client"))
    monkeypatch.delenv("KAGGLE_KIT_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(kaggle_api, "DEFAULT_RETRY",
                        kaggle_api.RetryPolicy(attempts=2, base_delay_s=0.01, jitter=0.0, max_delay_s=0.05))
    yield server
    server.stop()


def make_run(folder: Path, comp, classes: int = 10, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    np.save(folder / "holdout_indices.npy", np.arange(100))
    for split in ("holdout", "test"):
        labels = rng.integers(0, min(classes, 10), 100)
        logits = rng.normal(size=(100, classes)).astype(np.float32)
        logits[np.arange(80), labels[:80]] += 4.0
        save_logits(folder / f"logits_{split}.npz", Logits(np.arange(100), logits, labels, "none"))
    comp_logits = rng.normal(size=(N, classes)).astype(np.float32)
    save_logits(folder / "logits_comp.npz", Logits(comp["ids"], comp_logits, None, "none"))
    write_manifest(folder, "predict", extra={"comp_complete": True})
    (folder / "config.yaml").write_text(f"train:\n  seed: {seed}\n")
    return folder


def write_csv(path: Path, comp) -> Path:
    path.write_text("ID,Labels\n" + "".join(f"{i},{l}\n" for i, l in zip(comp["ids"], comp["labels"])))
    return path


def files_under(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


def refused(capsys, fake, before: set[Path], root: Path) -> str:
    """The refusal's one stderr line; asserts nothing was predicted, written or sent to Kaggle."""
    captured = capsys.readouterr()
    assert captured.out == ""                                  # no leaderboard prediction was computed
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err, captured.err
    assert fake.calls == [] and fake.submissions == []         # nothing reached Kaggle
    assert files_under(root) == before                         # no CSV, ledger, lock or temporary file
    return captured.err.rstrip("\n")


# ----------------------------------------------------------------------------------- 1. ledger is a folder
@pytest.mark.parametrize("upload", ["auto", "never", "always"])
def test_a_ledger_that_is_a_folder_is_refused_before_the_upload(fake, comp, tmp_path, capsys, upload):
    csv = write_csv(Path("full.csv"), comp)
    Path("L/dirledger").mkdir(parents=True)
    before = files_under(tmp_path)
    assert main(["submit", str(csv), "-m", "x", "--ledger", "L/dirledger", "--upload", upload, *AGAINST]) == 2
    assert refused(capsys, fake, before, tmp_path) == (
        "error: L/dirledger: is a folder; give a file path for the ledger")


def test_a_ledger_that_is_a_folder_is_refused_before_the_run_csv_is_written(fake, comp, tmp_path, capsys):
    make_run(Path("runs/A"), comp)
    Path("L/dirledger").mkdir(parents=True)
    before = files_under(tmp_path)
    assert main(["submit", "--from", "runs/A", "-m", "x", "--out", "subs/A2.csv", "--ledger", "L/dirledger",
                 *AGAINST]) == 2
    assert refused(capsys, fake, before, tmp_path) == (
        "error: L/dirledger: is a folder; give a file path for the ledger")


def test_a_ledger_under_a_file_is_refused_before_the_upload(fake, comp, tmp_path, capsys):
    csv = write_csv(Path("full.csv"), comp)
    before = files_under(tmp_path)
    assert main(["submit", str(csv), "-m", "x", "--ledger", "full.csv/ledger.csv", *AGAINST]) == 2
    assert refused(capsys, fake, before, tmp_path) == (
        "error: full.csv/ledger.csv: cannot write the ledger there, full.csv is a file, not a folder")


# ---------------------------------------------------------- 2. message / ledger header before CSV and prediction
def test_a_blank_message_is_refused_before_the_prediction_and_the_csv(fake, comp, tmp_path, capsys):
    make_run(Path("runs/A"), comp)
    before = files_under(tmp_path)
    assert main(["submit", "--from", "runs/A", "-m", " ", "--out", "subs/A2.csv", *AGAINST]) == 2
    assert refused(capsys, fake, before, tmp_path) == (
        "error: a submission needs a message (-m): it is how you tell submissions apart later")


def test_a_message_longer_than_a_ledger_cell_is_refused_before_the_upload(fake, comp, tmp_path, capsys):
    """The ledger (rightly) refuses a cell the csv module could not read back, but only after Kaggle had the file:
    the slot was spent and the submission went unrecorded."""
    csv = write_csv(Path("full.csv"), comp)
    before = files_under(tmp_path)
    assert main(["submit", str(csv), "-m", "x" * 100_001, *AGAINST]) == 2
    assert refused(capsys, fake, before, tmp_path) == (
        "error: the message (-m) has 100,001 characters; the ledger keeps at most 100,000: shorten it")


def test_a_message_whose_ledger_cell_would_be_too_long_is_refused_before_the_upload(fake, comp, tmp_path, capsys):
    """A byte that is not UTF-8 in -m reaches Python as a lone surrogate, which the ledger writes as its 6-character
    escape: 99,999 characters and one such byte passed the check, were uploaded, and then the ledger refused the
    row, so the submission went unrecorded."""
    csv = write_csv(Path("full.csv"), comp)
    before = files_under(tmp_path)
    assert main(["submit", str(csv), "-m", "x" * 99_999 + "\udcff", *AGAINST]) == 2
    assert refused(capsys, fake, before, tmp_path) == (
        "error: the message (-m) has 100,005 characters as the ledger writes it (a byte that is not UTF-8 as its "
        "escape); the ledger keeps at most 100,000: shorten it")


def test_a_model_over_the_competitions_budget_is_refused_before_the_prediction_and_the_csv(fake, comp, tmp_path,
                                                                                            capsys):
    """model.max_params is capped at the 5M rule now, but a run trained before the cap (`--set
    model.max_params=100000000`), alone or in an ensemble, was still submitted; the ensemble's note even called
    its 11M-parameter member 'under the 5,000,000 budget'."""
    from kaggle_kit.ensemble import ensemble_runs

    big, small = make_run(Path("runs/A"), comp), make_run(Path("runs/B"), comp)
    write_manifest(big, "train", metrics={"params": 11_173_962})
    write_manifest(small, "train", metrics={"params": 78_042})
    ens = ensemble_runs([small, big], "mean_probs", "ab", out_root=Path("ensembles"))
    before = files_under(tmp_path)
    for folder in (big, ens):
        assert main(["submit", "--from", str(folder), "-m", "x", *AGAINST]) == 2
        assert refused(capsys, fake, before, tmp_path) == (
            "error: runs/A: its model has 11,173,962 trainable parameters (its train manifest), over the "
            "competition's 5,000,000; it cannot be submitted")


def test_a_ledger_with_a_missing_column_is_refused_before_the_prediction_and_the_csv(fake, comp, tmp_path, capsys):
    make_run(Path("runs/A"), comp)
    Path("L").mkdir()
    header = [c for c in ledger.COLUMNS if c != "message"]
    Path("L/ledger.csv").write_text(",".join(header) + "\n")
    before = files_under(tmp_path)
    assert main(["submit", "--from", "runs/A", "-m", "x", "--out", "subs/A2.csv", "--ledger", "L/ledger.csv",
                 *AGAINST]) == 2
    assert refused(capsys, fake, before, tmp_path).startswith(
        "error: L/ledger.csv: header is not a kaggle-kit ledger's (found time, file, ")


@pytest.mark.parametrize("slug", ["Bad Slug", "a/b", "-x", "a--b", ""])
def test_a_malformed_competition_is_refused_before_anything(fake, comp, tmp_path, capsys, slug):
    make_run(Path("runs/A"), comp)
    before = files_under(tmp_path)
    assert main(["submit", "--from", "runs/A", "-m", "x", f"--competition={slug}", *AGAINST]) == 2
    assert refused(capsys, fake, before, tmp_path) == (
        f"error: competition '{slug}' is not a Kaggle competition slug (letters and digits joined by single "
        f"hyphens), e.g. deep-learning-spring-2025-project-1")


def test_one_slug_rule_for_pipelines_and_submit_older_capitalised_slugs_included():
    from kaggle_kit.config import slug_problem
    from kaggle_kit.upload import check_competition

    for ok in ("deep-learning-spring-2025-project-1", "LANL-Earthquake-Prediction", "GiveMeSomeCredit"):
        assert slug_problem(ok) is None
        check_competition(ok)
    for bad in ("Bad Slug", "a--b", "-x", "x-", "", "a" * 101):
        assert slug_problem(bad) is not None


def test_upload_always_without_credentials_is_refused_before_the_prediction(fake, comp, tmp_path, capsys):
    make_run(Path("runs/A"), comp)
    (Path(os.environ["KAGGLE_CONFIG_DIR"]) / "kaggle.json").unlink()
    before = files_under(tmp_path)
    assert main(["submit", "--from", "runs/A", "-m", "x", "--upload", "always", *AGAINST]) == 2
    assert refused(capsys, fake, before, tmp_path).startswith("error: no Kaggle credentials found")


# ------------------------------------------------------------------------------- 3. logits of the wrong shape
def test_a_run_with_7_class_logits_is_refused_naming_the_file(fake, comp, tmp_path, capsys):
    make_run(Path("R/badnpz"), comp, classes=7)
    before = files_under(tmp_path)
    assert main(["submit", "--from", "R/badnpz", "-m", "x", "--out", "subs/badnpz.csv", *AGAINST]) == 2
    assert refused(capsys, fake, before, tmp_path) == (
        "error: R/badnpz/logits_holdout.npz: logits have 7 columns (classes), expected 10; re-run "
        "`kaggle-kit predict` on that run")


def test_a_run_predicted_for_other_ids_is_refused_naming_the_file(fake, comp, tmp_path, capsys):
    run = make_run(Path("runs/A"), comp)
    lg = np.random.default_rng(1).normal(size=(N, 10)).astype(np.float32)
    save_logits(run / "logits_comp.npz", Logits(comp["ids"] + 100, lg, None, "none"))
    before = files_under(tmp_path)
    assert main(["submit", "--from", "runs/A", "-m", "x", *AGAINST]) == 2
    assert refused(capsys, fake, before, tmp_path).startswith(
        f"error: runs/A/logits_comp.npz: its {N} ids are not the competition pickle's {N} (missing e.g. ")


# ------------------------------------------------------------------------------------ 5. --out is a folder
def test_out_that_is_a_folder_is_refused(fake, comp, tmp_path, capsys):
    make_run(Path("runs/A"), comp)
    Path("subsdir").mkdir()
    before = files_under(tmp_path)
    assert main(["submit", "--from", "runs/A", "-m", "x", "--out", "subsdir", *AGAINST]) == 2
    assert refused(capsys, fake, before, tmp_path) == (
        "error: subsdir: is a folder; give a file path for the submission CSV (--out)")


# ----------------------------------------------------- refusals only Kaggle or the ledger can give: no CSV left
def test_a_duplicate_is_refused_before_the_prediction(fake, comp, tmp_path, capsys):
    make_run(Path("runs/A"), comp)
    assert main(["submit", "--from", "runs/A", "-m", "first", *AGAINST]) == 0
    capsys.readouterr()
    calls, before = list(fake.calls), files_under(tmp_path)
    assert main(["submit", "--from", "runs/A", "-m", "again", "--out", "subs/A2.csv", *AGAINST]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "was already submitted" in captured.err and captured.err.count("\n") == 1
    assert fake.calls == calls and len(fake.submissions) == 1 and files_under(tmp_path) == before


def test_the_daily_limit_leaves_no_csv_behind(comp, tmp_path, capsys, monkeypatch):
    server = FakeKaggle(FakeKaggleConfig(labels_csv=comp["labels_csv"], daily_limit=0)).start()
    try:
        use_env(monkeypatch, server.sandbox_env(tmp_path / "client"))
        monkeypatch.delenv("KAGGLE_KIT_DATA", raising=False)
        monkeypatch.chdir(tmp_path)
        make_run(Path("runs/A"), comp)
        before = files_under(tmp_path)
        assert main(["submit", "--from", "runs/A", "-m", "x", "--out", "subs/new/A.csv", *AGAINST]) == 1
        assert capsys.readouterr().err.startswith("error: no submissions left for ")
        assert server.submissions == []
        # the prediction's cache in the run folder may stay; the CSV, its new folders and the ledger do not
        assert {p for p in files_under(tmp_path) - before if p.parts[:2] != ("runs", "A")} == set()
    finally:
        server.stop()


def test_valid_input_still_uploads_and_records(fake, comp, tmp_path, capsys):
    make_run(Path("runs/A"), comp)
    assert main(["submit", "--from", "runs/A", "-m", "x", "--out", "subs/A2.csv", "--ledger", "L/new/ledger.csv",
                 *AGAINST]) == 0
    row = ledger.read_ledger("L/new/ledger.csv").iloc[0]
    assert (row.file, row.runs, row.status) == ("subs/A2.csv", "A", "COMPLETE")
    assert len(fake.submissions) == 1 and Path("subs/A2.csv").is_file()


def test_sync_refuses_a_ledger_folder_before_asking_kaggle(fake, comp, tmp_path, capsys):
    Path("L/dirledger").mkdir(parents=True)
    before = files_under(tmp_path)
    assert main(["sync", "--ledger", "L/dirledger"]) == 2
    assert refused(capsys, fake, before, tmp_path) == (
        "error: L/dirledger: is a folder; give a file path for the ledger")


def test_a_failed_upload_keeps_the_csv_it_may_have_sent(fake, comp, tmp_path, capsys):
    """Once the upload was attempted the file may be on Kaggle (a lost reply), so it is not removed."""
    from kaggle_kit.testing.fake_kaggle import Fault

    make_run(Path("runs/A"), comp)
    fake.faults.append(Fault(status=500, times=None, method="CreateSubmission"))
    assert main(["submit", "--from", "runs/A", "-m", "x", "--out", "subs/A2.csv", *AGAINST]) == 1
    assert capsys.readouterr().err.splitlines()[-1].startswith("error: Kaggle answered 500")
    assert Path("subs/A2.csv").is_file() and not Path("submissions/ledger.csv").exists()


def test_a_ledger_broken_after_the_upload_is_one_line_saying_how_to_record_it(fake, comp, tmp_path, capsys,
                                                                              monkeypatch):
    csv = write_csv(Path("full.csv"), comp)

    def broken(path, **fields):
        raise IsADirectoryError(21, "Is a directory", "L/.ledger.x.tmp", None, str(path))

    monkeypatch.setattr(ledger, "append_row", broken)
    assert main(["submit", str(csv), "-m", "x", "--ledger", "L/ledger.csv", *AGAINST]) == 1
    ref = fake.submissions[0].ref
    assert capsys.readouterr().err == (
        f"error: full.csv was submitted to deep-learning-spring-2025-project-1 as ref {ref}, but L/ledger.csv could "
        f"not be written (Is a directory); fix the ledger and run `kaggle-kit sync` to record it\n")


@pytest.mark.parametrize("name, message", [("nope.csv", "nope.csv: file not found"),
                                           ("subs", "subs: is a folder, expected a CSV file")])
def test_a_missing_csv_is_named_before_the_data_is_looked_for(fake, comp, tmp_path, capsys, name, message):
    """No --against and no data anywhere: the CSV is still the first thing reported, not the missing data."""
    Path("subs").mkdir()
    before = files_under(tmp_path)
    assert main(["submit", name, "-m", "x"]) == 2
    assert refused(capsys, fake, before, tmp_path) == f"error: {message}"
