"""The submissions ledger: exact columns, atomic appends that survive a kill, updates by Kaggle ref."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from kaggle_kit import ledger
from kaggle_kit.errors import LedgerError

COLUMNS = ["time", "file", "sha256", "runs", "recipe", "recipe_except_smoothing", "local_holdout_acc",
           "local_test_acc", "predicted_lb_acc", "predicted_by", "estimates", "message", "competition", "kaggle_ref",
           "status", "public_score", "private_score"]


def test_columns_are_exactly_the_contract(tmp_path):
    path = tmp_path / "ledger.csv"
    assert list(ledger.read_ledger(path).columns) == COLUMNS  # no ledger yet: empty frame, all columns
    ledger.append_row(path, file="a.csv")
    assert path.read_text().splitlines()[0] == ",".join(COLUMNS)


@pytest.mark.parametrize("missing", [("recipe_except_smoothing", "recipe", "predicted_by", "estimates"),
                                     ("recipe_except_smoothing", "recipe", "estimates"),
                                     ("recipe_except_smoothing", "recipe"), ("recipe_except_smoothing",)])
def test_a_ledger_in_an_older_layout_is_read_and_upgraded_by_the_next_write(tmp_path, missing):
    path = tmp_path / "ledger.csv"
    old = [c for c in COLUMNS if c not in missing]
    cell = '"{""Shift-Gated"":0.79}"'
    recipe = "" if "recipe" in missing else "aaaa"
    row = dict(zip(COLUMNS, ["2026-01-01T00:00:00+00:00", "a.csv", "s" * 64, "r1", recipe, "", "0.9", "0.89", "0.8",
                             "Median-4-Spread", cell, "first", "c", "7", "COMPLETE", "0.81", ""]))
    path.write_text(",".join(old) + "\n" + ",".join(row[c] for c in old) + "\n")
    df = ledger.read_ledger(path)
    by = "" if "predicted_by" in missing else "Median-4-Spread"
    kept = {} if "estimates" in missing else {"Shift-Gated": 0.79}
    assert list(df.columns) == COLUMNS and df.loc[0, "predicted_by"] == by and df.loc[0, "recipe"] == recipe
    assert df.loc[0, "recipe_except_smoothing"] == ""
    assert ledger.estimates_of(df.loc[0, "estimates"]) == kept
    assert df.loc[0, "predicted_lb_acc"] == pytest.approx(0.8) and df.loc[0, "message"] == "first"
    ledger.append_row(path, file="b.csv", recipe="0a1b2c3d4e5f", recipe_except_smoothing="0b1c2d3e4f5a",
                      predicted_lb_acc=0.7, predicted_by="Median-4-Spread",
                      estimates={"Median-4-Spread": 0.7, "Shift-Gated": 2 / 3, "COTT": float("nan")})
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(COLUMNS) and lines[1].split(",")[3:6] == ["r1", recipe, ""]
    df = ledger.read_ledger(path)
    assert df["predicted_by"].tolist() == [by, "Median-4-Spread"] and df["message"].tolist() == ["first", ""]
    assert df["recipe"].tolist() == [recipe, "0a1b2c3d4e5f"]
    assert df["recipe_except_smoothing"].tolist() == ["", "0b1c2d3e4f5a"]
    assert ledger.estimates_of(df.loc[1, "estimates"]) == {"Median-4-Spread": 0.7, "Shift-Gated": 0.66667}


@pytest.mark.parametrize("column", ["recipe", "recipe_except_smoothing"])
@pytest.mark.parametrize("cell", ["not-hex", "ABCDEF", "a" * 65])
def test_a_recipe_cell_that_is_not_a_key_is_refused_naming_its_line(tmp_path, cell, column):
    path = tmp_path / "ledger.csv"
    ledger.append_row(path, file="a.csv", recipe="abc123", recipe_except_smoothing="def456")
    cells = {"recipe": [cell, ""], "recipe_except_smoothing": ["", cell]}[column]
    path.write_text(path.read_text() + "2026-01-01T00:00:00+00:00,b.csv,,," + ",".join(cells) + ",,,,,,,,,,,\n")
    with pytest.raises(LedgerError, match=rf"ledger.csv:3: column '{column}' is not a recipe key"):
        ledger.read_ledger(path)
    # refused on write too, before it could make the ledger unreadable
    clean = tmp_path / "clean.csv"
    with pytest.raises(LedgerError, match=rf"column '{column}' is not a recipe key"):
        ledger.append_row(clean, file="a.csv", **{column: cell})
    assert not clean.exists()


@pytest.mark.parametrize("cell", ['"{""a"": ""x""}"', '"[0.5]"', "not json", '"{""a"": NaN}"', '"{""a"": true}"'])
def test_an_estimates_cell_that_is_not_an_object_of_numbers_is_refused_naming_its_line(tmp_path, cell):
    path = tmp_path / "ledger.csv"
    ledger.append_row(path, file="a.csv", estimates={"M": 0.5})
    text = path.read_text()
    path.write_text(text + "2026-01-01T00:00:00+00:00,b.csv,,,,,,,,," + cell + ",,,,,,\n")
    with pytest.raises(LedgerError, match=r"ledger.csv:3: column 'estimates' is not a JSON object of numbers"):
        ledger.read_ledger(path)


def test_roundtrip_types_and_awkward_text(tmp_path):
    path = tmp_path / "submissions" / "ledger.csv"
    msg = 'seed 1, "flip" TTA\nsecond line'
    ledger.append_row(path, file="s1.csv", sha256="ab" * 32, runs=["r1", "r2"], local_holdout_acc=0.9412,
                      local_test_acc=0.9377, message=msg, competition="c", status="dry-run")
    ledger.append_row(path, file="s2.csv", kaggle_ref="40000007", status="COMPLETE", public_score="0.83440")
    df = ledger.read_ledger(path)
    assert len(df) == 2
    assert df.loc[0, "message"] == msg
    assert df.loc[0, "runs"] == "r1;r2"
    assert df.loc[0, "local_holdout_acc"] == pytest.approx(0.9412)
    assert np.isnan(df.loc[0, "public_score"]) and np.isnan(df.loc[1, "local_test_acc"])
    assert df.loc[1, "public_score"] == pytest.approx(0.8344)
    assert df.loc[1, "kaggle_ref"] == "40000007"  # refs stay strings: no float conversion
    assert df["time"].str.endswith("+00:00").all()


def test_accuracies_are_written_to_five_decimals_like_the_estimates_and_scores_as_answered(tmp_path):
    """The predicted accuracy was written as float repr (0.23127614855766296), unreadable in the CSV and a few
    digits off the same estimator's value in "estimates"; Kaggle's score is written as it answered."""
    path = tmp_path / "ledger.csv"
    predicted = 0.23127614855766296
    ledger.append_row(path, file="a.csv", local_holdout_acc=2 / 3, local_test_acc=0.9377, predicted_lb_acc=predicted,
                      predicted_by="Median-4-Spread", estimates={"Median-4-Spread": predicted}, public_score=0.123456789,
                      status="COMPLETE")
    cells = dict(zip(COLUMNS, path.read_text().splitlines()[1].split(",", len(COLUMNS) - 1)))
    assert (cells["local_holdout_acc"], cells["local_test_acc"], cells["predicted_lb_acc"]) == (
        "0.66667", "0.9377", "0.23128")
    df = ledger.read_ledger(path)
    # the recorded prediction is exactly its estimator's value in "estimates", so a correction reads one number
    assert df.loc[0, "predicted_lb_acc"] == ledger.estimates_of(df.loc[0, "estimates"])["Median-4-Spread"] == 0.23128
    assert df.loc[0, "public_score"] == 0.123456789


@pytest.mark.parametrize("msg", ["CR\ronly", "CRLF\r\ninside", "LF\nand CR\r, \"quoted\", comma\r\n"])
def test_a_message_keeps_its_carriage_returns_through_every_rewrite(tmp_path, msg):
    """Kaggle's description of a synced submission is stored as sent: reading the ledger as text translated a
    "\\r" inside a quoted cell into "\\n", and the next rewrite (a sync) saved the changed message."""
    path = tmp_path / "ledger.csv"
    ledger.append_row(path, file="a.csv", message=msg, kaggle_ref="1", status="PENDING")
    assert ledger.read_ledger(path).loc[0, "message"] == msg
    assert ledger.update_rows_by_ref(path, {"1": {"status": "COMPLETE"}}) == 1
    assert ledger.read_ledger(path).loc[0, "message"] == msg


def test_a_ledger_saved_with_windows_line_endings_still_reads(tmp_path):
    path = tmp_path / "ledger.csv"
    ledger.append_row(path, file="a.csv", message="two\nlines", status="dry-run")
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    df = ledger.read_ledger(path)
    assert df.loc[0, "file"] == "a.csv" and df.loc[0, "status"] == "dry-run"
    assert df.loc[0, "message"] == "two\r\nlines"  # as the file holds it now


def test_a_cell_the_csv_module_could_not_read_back_is_refused_before_it_is_written(tmp_path):
    """A 200,000-character message was written, and from then on every read of the ledger failed with the csv
    module's own traceback ('field larger than field limit')."""
    path = tmp_path / "ledger.csv"
    ledger.append_row(path, file="a.csv", status="dry-run")
    before = path.read_bytes()
    with pytest.raises(LedgerError, match=r"^new ledger row: column 'message' holds 200,000 characters, more than "
                                          r"the 100,000 a ledger cell may hold; shorten it$"):
        ledger.append_row(path, file="b.csv", message="x" * 200_000, status="dry-run")
    assert path.read_bytes() == before
    path.write_text(path.read_text() + ledger.render([{**ledger.make_row(), "message": "y" * 200_000}]).split(
        "\n", 1)[1])  # written by hand, or by an older version
    with pytest.raises(LedgerError, match=r"ledger.csv:3: field larger than field limit \(131072\); fix or remove "
                                          r"that line$"):
        ledger.read_ledger(path)


def test_a_lone_surrogate_is_kept_as_its_escape_rather_than_failing_the_write(tmp_path):
    """JSON may carry a lone surrogate ("\\udcff"), which has no UTF-8: writing the ledger raised UnicodeEncodeError."""
    path = tmp_path / "ledger.csv"
    ledger.append_row(path, file="a\udcff.csv", message="m\ud800", status="dry-run")
    row = ledger.read_ledger(path).iloc[0]
    assert (row.file, row.message) == ("a\\udcff.csv", "m\\ud800")


def test_unknown_column_and_foreign_file_are_refused(tmp_path):
    path = tmp_path / "ledger.csv"
    with pytest.raises(LedgerError, match=r"^unknown ledger column 'score' \(columns: time, file, "):
        ledger.append_row(path, score=1)
    path.write_text("ID,Labels\n1,2\n")
    with pytest.raises(LedgerError) as err:
        ledger.read_ledger(path)
    assert str(err.value) == (f"{path}: header is not a kaggle-kit ledger's (found ID, Labels); "
                              f"move the file aside and rerun")
    path.write_text(",".join(COLUMNS) + "\nx,y\n")
    with pytest.raises(LedgerError, match=r":2: wrong number of fields"):
        ledger.read_ledger(path)


def test_update_by_ref_changes_only_matching_rows_and_only_kaggle_fields(tmp_path):
    path = tmp_path / "ledger.csv"
    ledger.append_row(path, file="a.csv", kaggle_ref="11", status="PENDING")
    ledger.append_row(path, file="b.csv", kaggle_ref="12", status="PENDING")
    ledger.append_row(path, file="c.csv", status="dry-run")
    n = ledger.update_rows_by_ref(path, {"12": {"status": "COMPLETE", "public_score": "0.8"}},
                                  new_rows=[dict(file="web.csv", kaggle_ref="13", status="ERROR")])
    assert n == 2
    df = ledger.read_ledger(path)
    assert df["status"].tolist() == ["PENDING", "COMPLETE", "dry-run", "ERROR"]
    assert df.loc[1, "public_score"] == pytest.approx(0.8) and df.loc[1, "file"] == "b.csv"
    assert ledger.update_rows_by_ref(path, {"12": {"status": "COMPLETE", "public_score": "0.8"}}) == 0
    with pytest.raises(LedgerError, match="ledger column 'file' cannot be updated"):
        ledger.update_rows_by_ref(path, {"11": {"file": "x.csv"}})


def test_dry_runs_do_not_count_as_submitted(tmp_path):
    path = tmp_path / "ledger.csv"
    ledger.append_row(path, file="a.csv", sha256="s1", status="dry-run")
    assert ledger.submitted_rows_with_sha(path, "s1") == []
    ledger.append_row(path, file="a.csv", sha256="s1", kaggle_ref="5", status="ERROR")
    assert [r["kaggle_ref"] for r in ledger.submitted_rows_with_sha(path, "s1")] == ["5"]


def test_failure_during_write_leaves_the_old_ledger(tmp_path, monkeypatch):
    path = tmp_path / "ledger.csv"
    ledger.append_row(path, file="a.csv")
    before = path.read_bytes()

    def crash(*_):
        raise OSError("disk gone")

    monkeypatch.setattr("kaggle_kit.fsio.os.replace", crash)
    with pytest.raises(OSError):
        ledger.append_row(path, file="b.csv")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


APPENDER = textwrap.dedent("""
    import sys
    from kaggle_kit import ledger
    path, start = sys.argv[1], int(sys.argv[2])
    for i in range(start, start + 100000):
        ledger.append_row(path, file=f"f{i}.csv", sha256=f"{i:064x}", message="m" * 8000, status="dry-run")
        print(i, flush=True)
""")


def test_kill_during_appends_keeps_every_confirmed_row(tmp_path):
    """SIGKILL a process that keeps appending to a ~1.6 MB ledger, at random moments: writing dominates each
    append, so most kills land mid-write (a plain rewrite in place fails this test about 6 kills in 10).
    The ledger must parse and hold every row the process had confirmed, each row whole."""
    path = tmp_path / "ledger.csv"
    seeds = [dict(file=f"seed{i}.csv", sha256=f"{i:064x}", message="m" * 8000) for i in range(200)]
    ledger.update_rows_by_ref(path, {}, new_rows=seeds)
    rng = random.Random(0)
    expected = [f"seed{i}.csv" for i in range(200)]
    for rnd in range(5):
        start = 1000 * (rnd + 1)
        proc = subprocess.Popen([sys.executable, "-c", APPENDER, str(path), str(start)], stdout=subprocess.PIPE,
                                text=True)
        confirmed = [int(proc.stdout.readline()) for _ in range(2)]
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        df = ledger.read_ledger(path)
        files = df["file"].tolist()
        expected += [f"f{i}.csv" for i in confirmed]
        assert files[: len(expected)] == expected
        assert len(files) <= len(expected) + 1  # at most the append in flight, and then whole
        assert (df["message"] == "m" * 8000).all() and df["sha256"].str.len().eq(64).all()
        expected = files


def test_concurrent_appends_lose_nothing(tmp_path):
    path = tmp_path / "ledger.csv"
    code = ("import sys\nfrom kaggle_kit import ledger\n"
            "for i in range(25): ledger.append_row(sys.argv[1], file=f'{sys.argv[2]}{i}.csv')\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), tag]) for tag in ("a", "b")]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    files = set(ledger.read_ledger(path)["file"])
    assert files == {f"{t}{i}.csv" for t in "ab" for i in range(25)}


@pytest.mark.parametrize("column, cell", [
    (column, cell) for column in ledger.NUMERIC_COLUMNS for cell in ("eighty", "nan", "inf", "-0.1", "100.5", "0,8")
    # a Kaggle score may be any number (RMSE, log loss, negative metrics); the toolkit's accuracies may not
    if column in ledger.ACCURACY_COLUMNS or cell not in ("-0.1", "100.5")])
def test_a_score_or_accuracy_cell_that_is_not_one_is_refused_naming_its_line(tmp_path, cell, column):
    """A hand-edited 'eighty' used to read as a missing score: the scoreboard showed '-' and nothing said why."""
    path = tmp_path / "ledger.csv"
    ledger.append_row(path, file="a.csv", public_score=0.8)
    row = ledger.make_row(file="b.csv")
    row[column] = cell
    path.write_text(path.read_text() + ledger.render([row]).split("\n", 1)[1])
    with pytest.raises(LedgerError, match=rf"ledger.csv:3: column '{column}' is not an? (accuracy|score)"):
        ledger.read_ledger(path)
    clean = tmp_path / "clean.csv"
    with pytest.raises(LedgerError, match=rf"new ledger row: column '{column}' is not an? (accuracy|score)"):
        ledger.append_row(clean, file="a.csv", **{column: cell})
    assert not clean.exists()


def test_scores_as_fractions_or_percentages_and_empty_cells_are_read():
    for cell in ("", "0", "0.51120", "1", "51.12", "100"):
        assert ledger.number_of(cell) == cell
    assert ledger.number_of("1234.5", column="public_score") == "1234.5"  # an RMSE competition's score
    assert ledger.number_of("-0.3", column="private_score") == "-0.3"


def test_a_sync_answer_that_is_not_a_number_is_refused_before_the_ledger_is_written(tmp_path):
    """Otherwise sync would save a ledger that every later command, sync included, refuses to read."""
    path = tmp_path / "ledger.csv"
    ledger.append_row(path, file="a.csv", kaggle_ref="1", status="PENDING")
    before = path.read_text()
    with pytest.raises(LedgerError, match=r"Kaggle's answer for submission 1: column 'public_score' is not a score"):
        ledger.update_rows_by_ref(path, {"1": {"public_score": "n/a", "status": "COMPLETE"}})
    assert path.read_text() == before
    assert ledger.update_rows_by_ref(path, {"1": {"public_score": "1234.5", "status": "COMPLETE"}}) == 1
    assert ledger.read_ledger(path)["public_score"].tolist() == [1234.5]


def test_a_submit_waiting_on_the_lock_of_a_first_submit_that_was_refused_still_writes_its_row(tmp_path, monkeypatch):
    """The first submit to a new ledger holds its lock and is refused (limit, credentials): it removes the lock
    file and the folder it made. A second submit, already waiting on that lock, must make them again, not fail
    with 'No such file or directory'."""
    import fcntl
    import threading

    path = tmp_path / "submissions" / "ledger.csv"
    second_waits, failures = threading.Event(), []
    real_flock = fcntl.flock

    def flock(fd, operation):
        if threading.current_thread().name == "second" and operation == fcntl.LOCK_EX:
            second_waits.set()  # its lock file is open: the first may now remove it
        return real_flock(fd, operation)

    def second():
        try:
            ledger.append_row(path, file="b.csv")
        except Exception as err:  # noqa: BLE001 - reported by the assertion below
            failures.append(err)

    monkeypatch.setattr(fcntl, "flock", flock)
    waiter = threading.Thread(target=second, name="second")
    with ledger.locked(path):  # the first submit, refused before it wrote a row
        waiter.start()
        assert second_waits.wait(timeout=10)
    waiter.join(timeout=10)
    assert not waiter.is_alive() and failures == []
    assert ledger.read_ledger(path)["file"].tolist() == ["b.csv"]


def test_a_sync_that_waited_for_a_submit_updates_its_row_instead_of_adding_the_ref_again(tmp_path, monkeypatch):
    """`kaggle-kit sync` during a `kaggle-kit submit`: Kaggle's list already has the new submission, the ledger
    has no row for it yet, and sync waits on the lock the submit holds until its row is written. Had sync decided
    which refs are new before it had the lock, it would add that submission a second time."""
    import fcntl
    import threading

    from kaggle_kit import upload

    path = tmp_path / "ledger.csv"
    sha = "ab" * 32
    remote = _remote("5001", "0.81")
    sync_waits, submitting = threading.Event(), threading.Event()
    real_flock = fcntl.flock

    def flock(fd, operation):
        if threading.current_thread() is threading.main_thread() and operation == fcntl.LOCK_EX:
            sync_waits.set()
        return real_flock(fd, operation)

    def submit():  # holds the lock from before sync asks for it until its row is written
        with ledger.locked(path):
            submitting.set()
            assert sync_waits.wait(timeout=10)
            ledger.append_row(path, file="s.csv", sha256=sha, message="m", competition="comp",
                              kaggle_ref="5001", status="PENDING")

    monkeypatch.setattr(upload.kaggle_api, "list_submissions", lambda *a, **k: [remote])
    monkeypatch.setattr(fcntl, "flock", flock)
    submitter = threading.Thread(target=submit)
    submitter.start()
    assert submitting.wait(timeout=10)
    result = upload.sync_ledger("comp", path)
    submitter.join(timeout=10)
    df = ledger.read_ledger(path)
    assert df["kaggle_ref"].tolist() == ["5001"] and (result.updated, result.added) == (1, 0)
    assert (df.loc[0, "sha256"], df.loc[0, "status"], df.loc[0, "public_score"]) == (sha, "COMPLETE", 0.81)


def test_a_command_that_must_wait_for_the_ledgers_lock_says_what_it_waits_for(tmp_path, monkeypatch, capsys):
    """A submit holds the lock through its upload (retries and backoff included): a `sync` or a pipeline's upload
    started meanwhile waited without a word, like a hung command."""
    import fcntl
    import threading

    path = tmp_path / "ledger.csv"
    ledger.append_row(path, file="a.csv")
    blocked = threading.Event()
    real_flock = fcntl.flock

    def flock(fd, operation):
        if threading.current_thread().name == "waiter" and operation == fcntl.LOCK_EX:
            blocked.set()  # about to wait
        return real_flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock)
    waiter = threading.Thread(target=lambda: ledger.append_row(path, file="b.csv"), name="waiter")
    with ledger.locked(path):  # a submit in the middle of its upload
        waiter.start()
        assert blocked.wait(timeout=10)
    waiter.join(timeout=10)
    assert capsys.readouterr().err == (f"waiting for {path}.lock: another kaggle-kit command is writing the ledger "
                                       f"(a submit holds it until its upload is recorded)\n")
    assert ledger.read_ledger(path)["file"].tolist() == ["a.csv", "b.csv"]


def test_as_fraction_keeps_exactly_one_as_a_fraction():
    """Reading 1.0 (a perfect accuracy as a fraction) as a percentage would turn it into 0.01."""
    assert ledger.as_fraction(1.0) == 1.0
    assert ledger.as_fraction(0.5) == 0.5
    assert ledger.as_fraction(51.25) == pytest.approx(0.5125)
    assert ledger.as_fraction(100.0) == 1.0


def test_rows_and_refs_are_filtered_by_competition_and_empty_refs_are_not_refs(tmp_path):
    """A dropped competition filter would block (or correct from) another competition's uploads of the same file."""
    path = tmp_path / "ledger.csv"
    ledger.append_row(path, file="a.csv", sha256="s1", competition="c1", kaggle_ref="7", status="COMPLETE")
    ledger.append_row(path, file="a.csv", sha256="s1", competition="c2", kaggle_ref="8", status="COMPLETE")
    ledger.append_row(path, file="a.csv", sha256="s1", competition="c1", status="dry-run")
    assert [r["kaggle_ref"] for r in ledger.rows_with_sha(path, "s1", "c2")] == ["8"]
    assert len(ledger.rows_with_sha(path, "s1", "c1")) == 2 and len(ledger.rows_with_sha(path, "s1")) == 3
    assert ledger.known_refs(path, "c1") == {"7"}
    assert ledger.known_refs(path) == {"7", "8"}


def test_a_nan_accuracy_is_written_as_an_empty_cell(tmp_path):
    """NaN written as 'nan' would be refused by every later read of the ledger (not a finite number)."""
    path = tmp_path / "ledger.csv"
    row = ledger.append_row(path, file="a.csv", local_test_acc=float("nan"), public_score=float("nan"))
    assert row["local_test_acc"] == "" and row["public_score"] == ""
    assert np.isnan(ledger.read_ledger(path)["local_test_acc"].tolist()[0])


def test_a_cell_of_exactly_the_limit_is_written_and_one_more_is_refused():
    """An off-by-one on MAX_CELL_CHARS would let a cell past the limit in (or refuse one at it)."""
    assert len(ledger.make_row(message="m" * 100_000)["message"]) == 100_000
    with pytest.raises(LedgerError, match=r"column 'message' holds 100,001 characters, more than the 100,000"):
        ledger.make_row(message="m" * 100_001)


def _upload_stubs(monkeypatch, limits, listed=(), uploads=None):
    """submit_csv with credentials, Kaggle's limits, and a submission list; each upload's file is noted."""
    from kaggle_kit import kaggle_api, upload

    monkeypatch.setattr(kaggle_api, "has_credentials", lambda: True)
    monkeypatch.setattr(kaggle_api, "submission_limits", lambda *a, **k: limits)
    monkeypatch.setattr(kaggle_api, "submit", lambda csv, *a, **k: (uploads.append(csv) if uploads is not None
                                                                    else None) or "5001")
    monkeypatch.setattr(kaggle_api, "list_submissions", lambda *a, **k: list(listed))
    return upload


def _csv(tmp_path):
    from kaggle_kit.submission import write_submission

    ids = np.arange(4)
    return write_submission(tmp_path / "s.csv", ids, np.array([3, 1, 4, 1])), ids


def _remote(ref, public, private="", status="COMPLETE"):
    from kaggle_kit import kaggle_api

    return kaggle_api.RemoteSubmission(ref=ref, date="2026-12-02T07:00:00+00:00", description="m", file_name="s.csv",
                                       status=status, public_score=public, private_score=private,
                                       error_description="")


def test_an_upload_records_its_own_submissions_scores_and_refuses_the_same_file_again(tmp_path, monkeypatch):
    """Taking another submission's scores, or public for private, or the local accuracies swapped, would put wrong
    numbers in the ledger; a 'left' count not less the one just spent, or no duplicate check, would mislead."""
    from kaggle_kit import kaggle_api
    from kaggle_kit.config import COMPETITION_SLUG
    from kaggle_kit.errors import DuplicateSubmissionError

    limits = kaggle_api.Limits(num_today=2, num_total=7, num_allowed_now=3, limited_by_total=False)
    upload = _upload_stubs(monkeypatch, limits, [_remote("4999", "0.5", "0.4"), _remote("5001", "0.81", "0.79")])
    csv, ids = _csv(tmp_path)
    path, lines = tmp_path / "ledger.csv", []
    upload.submit_csv(csv, "m", expected_ids=ids, ledger_path=path, echo=lines.append,
                      scores=upload.LocalScores(holdout_acc=0.9, test_acc=0.8))
    row = ledger.read_ledger(path).iloc[0]
    assert (row["kaggle_ref"], row["status"], row["public_score"], row["private_score"]) == ("5001", "COMPLETE",
                                                                                             0.81, 0.79)
    assert (row["local_holdout_acc"], row["local_test_acc"]) == (0.9, 0.8)
    assert lines == [f"submitted {csv} to {COMPETITION_SLUG}: ref 5001, status COMPLETE, public score 0.81 (81.00%) "
                     f"(2 submissions left today)"]
    with pytest.raises(DuplicateSubmissionError, match=r"was already submitted on .* as ref 5001, status COMPLETE"):
        upload.submit_csv(csv, "again", expected_ids=ids, ledger_path=path, echo=lines.append)


@pytest.mark.parametrize("limits, words", [
    ((2, 7, 0, False), "daily limit reached, 2 used today); nothing was uploaded; rerun after the limit resets at "
                       "00:00 UTC"),
    ((2, 7, 0, True), "lifetime limit reached, 7 used in all); nothing was uploaded; this limit does not reset"),
])
def test_no_submission_left_is_refused_before_the_upload_naming_the_limit(tmp_path, monkeypatch, limits, words):
    """Refusing only below zero allowed would spend an upload Kaggle refuses; the daily count for the lifetime one
    would misstate the limit."""
    from kaggle_kit import kaggle_api
    from kaggle_kit.errors import SubmissionLimitError

    uploads = []
    upload = _upload_stubs(monkeypatch, kaggle_api.Limits(*limits), uploads=uploads)
    csv, ids = _csv(tmp_path)
    with pytest.raises(SubmissionLimitError) as err:
        upload.submit_csv(csv, "m", expected_ids=ids, ledger_path=tmp_path / "ledger.csv", echo=lambda _: None)
    assert str(err.value).endswith(words) and uploads == []


def test_upload_never_is_a_dry_run_even_with_credentials_naming_its_ledger(tmp_path, monkeypatch):
    """Ignoring upload: never would spend a slot; a dry run's command without --ledger would record elsewhere."""
    from kaggle_kit import kaggle_api
    from kaggle_kit.config import COMPETITION_SLUG

    uploads = []
    upload = _upload_stubs(monkeypatch, kaggle_api.Limits(0, 0, 5, False), uploads=uploads)
    csv, ids = _csv(tmp_path)
    path, lines = tmp_path / "ledger.csv", []
    upload.submit_csv(csv, "m", expected_ids=ids, upload="never", ledger_path=path, echo=lines.append)
    assert uploads == [] and ledger.read_ledger(path)["status"].tolist() == [ledger.DRY_RUN]
    assert lines[1] == (f"to upload it: kaggle-kit submit {csv} -m m --competition {COMPETITION_SLUG} "
                        f"--ledger {path}")


def test_a_sync_adds_kaggles_newest_first_list_oldest_first_and_counts_updates_apart(tmp_path, monkeypatch):
    """Adding Kaggle's list in its own order would put the newest submission first; counting the added rows as
    updated would misreport the sync."""
    from kaggle_kit import upload

    path = tmp_path / "ledger.csv"
    ledger.append_row(path, file="a.csv", sha256="ab" * 32, message="m", competition="comp", kaggle_ref="1",
                      status="PENDING")
    remote = [_remote("3", "", status="PENDING"), _remote("2", "0.7"), _remote("1", "0.6")]
    monkeypatch.setattr(upload.kaggle_api, "list_submissions", lambda *a, **k: remote)
    result = upload.sync_ledger("comp", path)
    assert ledger.read_ledger(path)["kaggle_ref"].tolist() == ["1", "2", "3"]
    assert (result.updated, result.added, result.pending, result.remote) == (1, 2, 1, 3)


def test_a_submit_message_of_exactly_the_ledgers_limit_is_allowed_and_one_more_refused():
    """Refusing at the limit (>= for >) would turn away a message the ledger keeps."""
    from kaggle_kit.errors import SubmissionError
    from kaggle_kit.upload import check_message

    check_message("x" * ledger.MAX_CELL_CHARS)
    with pytest.raises(SubmissionError, match=f"has {ledger.MAX_CELL_CHARS + 1:,} characters"):
        check_message("x" * (ledger.MAX_CELL_CHARS + 1))


def test_a_forced_submit_uploads_the_same_file_again_but_not_past_the_limit(tmp_path, monkeypatch):
    """force ignored would refuse a re-upload the user asked for; force skipping the limit check would spend an
    upload Kaggle refuses (and record nothing for it)."""
    from kaggle_kit import kaggle_api
    from kaggle_kit.errors import SubmissionLimitError

    uploads = []
    upload = _upload_stubs(monkeypatch, kaggle_api.Limits(1, 1, 4, False), [_remote("5001", "0.8")], uploads)
    csv, ids = _csv(tmp_path)
    path = tmp_path / "ledger.csv"
    for _ in range(2):
        upload.submit_csv(csv, "m", expected_ids=ids, ledger_path=path, force=True, echo=lambda _: None)
    assert uploads == [csv, csv] and ledger.read_ledger(path)["kaggle_ref"].tolist() == ["5001", "5001"]
    monkeypatch.setattr(kaggle_api, "submission_limits", lambda *a, **k: kaggle_api.Limits(5, 5, 0, False))
    with pytest.raises(SubmissionLimitError):
        upload.submit_csv(csv, "m", expected_ids=ids, ledger_path=path, force=True, echo=lambda _: None)
    assert len(uploads) == 2 and len(ledger.read_ledger(path)) == 2


@pytest.mark.parametrize("force", [False, True])
def test_the_pipelines_upload_returns_the_latest_earlier_row_of_a_submitted_csv_unless_forced(tmp_path, monkeypatch,
                                                                                              force):
    """Ignoring submit.force would never re-upload (or always spend a slot); the first earlier row instead of the
    latest would report a stale ref and score."""
    from dataclasses import replace

    from kaggle_kit import kaggle_api
    from kaggle_kit.config import PipelineConfig
    from kaggle_kit.fsio import sha256_file

    uploads = []
    upload = _upload_stubs(monkeypatch, kaggle_api.Limits(1, 1, 4, False), [_remote("5001", "0.8")], uploads)
    monkeypatch.setattr(upload, "local_scores", lambda *a, **k: upload.LocalScores())
    csv, ids = _csv(tmp_path)
    path = tmp_path / ledger.DEFAULT_LEDGER
    for ref in ("3", "4"):
        ledger.append_row(path, file=str(csv), sha256=sha256_file(csv), message="m", kaggle_ref=ref, status="COMPLETE")
    cfg = PipelineConfig()
    cfg = replace(cfg, submit=replace(cfg.submit, force=force, upload="auto"))
    lines = []
    row = upload.submit_pipeline_csv(csv, cfg, tmp_path / "runs" / "m", [tmp_path / "runs" / "m"], workdir=tmp_path,
                                     echo=lines.append, expected_ids=ids)
    assert row["kaggle_ref"] == ("5001" if force else "4") and uploads == ([csv] if force else [])
    assert ledger.read_ledger(path)["kaggle_ref"].tolist() == ["3", "4", "5001"][:3 if force else 2]
    if not force:
        assert lines == [f"{csv} was already submitted (ref 4); not spending a slot on it again"]


def test_an_upload_under_a_lifetime_cap_counts_what_is_left_in_all(tmp_path, monkeypatch):
    """'left today' under a lifetime cap would promise submissions that reset at midnight."""
    from kaggle_kit import kaggle_api
    from kaggle_kit.config import COMPETITION_SLUG

    upload = _upload_stubs(monkeypatch, kaggle_api.Limits(2, 9, 3, True), [_remote("5001", "")])
    csv, ids = _csv(tmp_path)
    lines = []
    upload.submit_csv(csv, "m", expected_ids=ids, ledger_path=tmp_path / "ledger.csv", echo=lines.append)
    assert lines == [f"submitted {csv} to {COMPETITION_SLUG}: ref 5001, status COMPLETE (2 submissions left in all)"]


@pytest.mark.parametrize("credentials, answer, said", [
    (False, None, "skipped (no Kaggle credentials)"),
    (True, "boom", "failed (boom); rerun `kaggle-kit sync` later"),
])
def test_the_pipelines_sync_skips_without_credentials_and_reports_a_kaggle_failure(tmp_path, monkeypatch, credentials,
                                                                                   answer, said):
    """A sync tried without credentials, or a Kaggle failure raised, would fail a run whose submission is recorded."""
    from kaggle_kit import kaggle_api, upload
    from kaggle_kit.errors import KaggleError

    def listed(*a, **k):
        raise KaggleError(answer or "asked without credentials")

    monkeypatch.setattr(kaggle_api, "has_credentials", lambda: credentials)
    monkeypatch.setattr(kaggle_api, "list_submissions", listed)
    assert upload.sync_ledger_if_possible("comp", workdir=tmp_path) == said
