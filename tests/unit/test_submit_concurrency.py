"""Two `kaggle-kit submit --from RUN` of one run at once (the command run twice, in two terminals): the second is
refused at once, before it spends minutes on its own leaderboard prediction that the ledger's duplicate check
would throw away."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
N = 30
ARGS = ["submit", "--from", "runs/A", "-m", "x", "--upload", "never", "--against", "comp/cifar_test_nolabel.pkl"]

# a real `submit --from`, paused (test-only) in its leaderboard prediction until its stdin gets a line
HOLDER = textwrap.dedent("""
    import json, sys
    import kaggle_kit.upload as upload
    from kaggle_kit.cli import main

    from kaggle_kit.testing import pause_first_call
    pause_first_call(upload, "local_scores", "scoring")  # called once per command
    print("rc", main(json.loads(sys.argv[1])), flush=True)
""")


def _run(folder: Path, ids: np.ndarray) -> None:
    from kaggle_kit.runs import Logits, save_logits, write_manifest

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    np.save(folder / "holdout_indices.npy", np.arange(100))
    for split in ("holdout", "test"):
        labels = rng.integers(0, 10, 100)
        save_logits(folder / f"logits_{split}.npz", Logits(np.arange(100), rng.normal(size=(100, 10)), labels, "none"))
    save_logits(folder / "logits_comp.npz", Logits(ids, rng.normal(size=(len(ids), 10)), None, "none"))
    write_manifest(folder, "predict", extra={"comp_complete": True})
    (folder / "config.yaml").write_text("train:\n  seed: 0\n")


def test_a_second_submit_of_the_same_run_is_refused_before_its_prediction(tmp_path, monkeypatch, capsys):
    import json

    import kaggle_kit.upload as upload
    from kaggle_kit.cli import main
    from kaggle_kit.testing.fake_kaggle import write_competition

    comp = write_competition(tmp_path / "comp", N)
    _run(tmp_path / "runs" / "A", comp["ids"])
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KAGGLE_KIT_DATA", raising=False)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, json.dumps(ARGS)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=tmp_path,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert "scoring\n" in iter(holder.stdout.readline, "")  # its notes, then it pauses
        predicted = []
        monkeypatch.setattr(upload, "local_scores", lambda *a, **k: predicted.append(a) or upload.LocalScores())
        assert main(ARGS) != 0
        assert predicted == []  # refused before the prediction, not by the ledger after it
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "another `kaggle-kit submit` of the same predictions as " in err, err
        holder.stdin.write("\n")
        holder.stdin.close()
        assert holder.stdout.read().split()[-2:] == ["rc", "0"]
    finally:
        holder.kill()
        holder.wait()
    assert (tmp_path / "submissions" / "ledger.csv").read_text().count(",dry-run,") == 1
    assert main(ARGS) == 0  # the lock went with the first (a dry run does not block another)
    assert (tmp_path / "submissions" / "ledger.csv").read_text().count(",dry-run,") == 2


def _submit_from(tmp_path, monkeypatch) -> list:
    """A run A and a competition pickle in tmp_path (the working folder); the leaderboard prediction stubbed,
    its calls noted in the list returned."""
    import kaggle_kit.upload as upload
    from kaggle_kit.testing.fake_kaggle import write_competition

    comp = write_competition(tmp_path / "comp", N)
    _run(tmp_path / "runs" / "A", comp["ids"])
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KAGGLE_KIT_DATA", raising=False)
    predicted = []
    monkeypatch.setattr(upload, "local_scores", lambda *a, **k: predicted.append(a) or upload.LocalScores())
    return predicted


def test_submit_from_refuses_a_submitted_csv_before_its_prediction_unless_forced(tmp_path, monkeypatch, capsys):
    """A skipped early duplicate check would spend the prediction's minutes before refusing; a --force still
    refused there would make re-submitting a run's CSV impossible; another default CSV name would lose .csv."""
    from kaggle_kit import ledger
    from kaggle_kit.cli import main
    from kaggle_kit.fsio import sha256_file

    predicted = _submit_from(tmp_path, monkeypatch)
    assert main(ARGS) == 0
    csv = Path("submissions") / "A.csv"
    book = Path("submissions") / "ledger.csv"
    ledger.append_row(book, file=str(csv), sha256=sha256_file(csv), message="x", kaggle_ref="7", status="COMPLETE")
    capsys.readouterr()
    assert main(ARGS) == 2 and len(predicted) == 1
    assert "was already submitted on" in capsys.readouterr().err
    assert main([*ARGS, "--force"]) == 0 and len(predicted) == 2
    assert ledger.read_ledger(book)["status"].tolist() == [ledger.DRY_RUN, "COMPLETE", ledger.DRY_RUN]


def test_submit_from_refuses_to_reuse_a_csv_of_other_predictions(tmp_path, monkeypatch, capsys):
    """Reusing an existing submissions/A.csv without comparing its bytes would upload the old predictions under
    the run's new name."""
    from kaggle_kit.cli import main
    from kaggle_kit.runs import Logits, load_logits, save_logits

    _submit_from(tmp_path, monkeypatch)
    assert main(ARGS) == 0
    csv = tmp_path / "submissions" / "A.csv"
    before = csv.read_bytes()
    comp = load_logits(tmp_path / "runs" / "A" / "logits_comp.npz")
    save_logits(tmp_path / "runs" / "A" / "logits_comp.npz", Logits(comp.ids, -comp.logits, None, "none"))
    capsys.readouterr()
    assert main(ARGS) == 2
    assert capsys.readouterr().err == (f"error: {Path('submissions') / 'A.csv'} exists with different predictions; "
                                       f"pass --out NEW.csv to keep both\n")
    assert csv.read_bytes() == before
    assert (tmp_path / "submissions" / "ledger.csv").read_text().count(",dry-run,") == 1


@pytest.mark.parametrize("attempted", [False, True])
def test_submit_from_keeps_its_new_csv_only_when_the_upload_was_attempted(tmp_path, monkeypatch, attempted):
    """Flipping the attempted check would leave a refused submission's CSV behind, or delete the one Kaggle may
    hold."""
    import kaggle_kit.upload as upload
    from kaggle_kit.cli import main
    from kaggle_kit.errors import KaggleError

    def refused(*a, **k):
        err = KaggleError("refused")
        if attempted:
            setattr(err, upload.UPLOAD_ATTEMPTED, True)
        raise err

    _submit_from(tmp_path, monkeypatch)
    monkeypatch.setattr(upload, "submit_csv", refused)
    assert main(ARGS) != 0
    assert (tmp_path / "submissions" / "A.csv").is_file() == attempted


def test_submit_from_an_ensemble_over_the_budget_in_all_prints_the_total_before_its_prediction(tmp_path, monkeypatch,
                                                                                               capsys):
    """Each member is under 5M, together they are not: the user hears it before the upload, with the command that
    submits one member instead (the note was computed and tested, but its line in `submit` was not)."""
    from kaggle_kit.cli import main
    from kaggle_kit.ensemble import ensemble_runs
    from kaggle_kit.runs import write_manifest

    predicted = _submit_from(tmp_path, monkeypatch)
    comp_ids = np.load(tmp_path / "runs" / "A" / "logits_comp.npz")["ids"]
    _run(tmp_path / "runs" / "B", comp_ids)
    for name in "AB":
        write_manifest(tmp_path / "runs" / name, "train", metrics={"params": 4_893_566})
    ensemble_runs([Path("runs/A"), Path("runs/B")], "mean_probs", "ab", out_root=Path("ensembles"))
    capsys.readouterr()

    def scoring(*a, **k):
        predicted.append(capsys.readouterr().out)  # what the user had read when the prediction began
        from kaggle_kit.upload import LocalScores
        return LocalScores()

    monkeypatch.setattr("kaggle_kit.upload.local_scores", scoring)
    assert main(["submit", "--from", "ensembles/ab", *ARGS[3:]]) == 0
    assert predicted[0].splitlines()[0] == (
        "note: these predictions come from 2 models with 9,787,132 trainable parameters in all (each at most "
        "4,893,566, under the 5,000,000 budget); if the competition's limit covers everything behind a submission, "
        f"submit one model, e.g. `kaggle-kit submit --from {Path('runs/A')} -m MSG`")
