"""Submissions through the REAL kaggle client (CLI and Python API, unmodified) to the fake Kaggle server.

The client reaches the server only through its environment: KAGGLE_API_ENVIRONMENT=LOCALHOST plus
HTTP_PROXY=http://127.0.0.1:PORT, credentials from a temporary KAGGLE_CONFIG_DIR. Nothing in kaggle is patched.
"""
from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kaggle_kit import kaggle_api, ledger, upload
from kaggle_kit.cli import main
from kaggle_kit.config import COMPETITION_SLUG
from kaggle_kit.testing.fake_kaggle import (DEFAULT_USER, FakeKaggle, FakeKaggleConfig, Fault, Score,
                                            SubmissionRecord, public_ids, write_competition)
from kaggle_kit.testing import use_env

N = 40
SLUG = COMPETITION_SLUG
KAGGLE_CLI = str(Path(sys.executable).parent / "kaggle")


@pytest.fixture()
def comp(tmp_path):
    """A small competition: a pickle in the competition format and its hidden labels."""
    return write_competition(tmp_path / "comp", N)


def add_website_submissions(server: FakeKaggle, first_ref: int, entries: list[tuple[str, str]], score: str) -> None:
    """Scored submissions made on Kaggle's website (``(description, file name)`` each, an hour apart): the ledger
    has no row for them until a sync."""
    start = datetime.datetime(2025, 3, 1, tzinfo=datetime.timezone.utc)
    with server.state.lock:
        server.state.submissions.extend(
            SubmissionRecord(ref=first_ref + i, user=DEFAULT_USER, date=start + datetime.timedelta(hours=i),
                             description=text, file_name=name, size=10, score=Score("COMPLETE", score), polls_left=0)
            for i, (text, name) in enumerate(entries))


def start_fake(comp, **settings) -> FakeKaggle:
    return FakeKaggle(FakeKaggleConfig(labels_csv=comp["labels_csv"], **settings)).start()


@pytest.fixture()
def fake(comp, tmp_path, monkeypatch):
    server = start_fake(comp, daily_limit=3)
    use_env(monkeypatch, server.sandbox_env(tmp_path / "client"))
    monkeypatch.chdir(tmp_path)
    fast = kaggle_api.RetryPolicy(attempts=4, base_delay_s=0.01, jitter=0.0, max_delay_s=0.05)
    monkeypatch.setattr(kaggle_api, "DEFAULT_RETRY", fast)  # our own module's default; kaggle is untouched
    yield server
    server.stop()


def write_csv(path: Path, ids, labels) -> Path:
    path.write_text("ID,Labels\n" + "".join(f"{i},{l}\n" for i, l in zip(ids, labels)))
    return path


def with_errors(comp, n_wrong: int):
    labels = comp["labels"].copy()
    labels[:n_wrong] = (labels[:n_wrong] + 1) % 10
    return labels


def submit(csv, *extra):
    return main(["submit", str(csv), "-m", f"msg {Path(csv).name}", "--against", "comp/cifar_test_nolabel.pkl",
                 *extra])


def methods(server):
    return [m for m, _ in server.calls]


# ------------------------------------------------------------------------------------------ upload + ledger
def test_submit_scores_public_now_and_keeps_private(fake, comp, capsys):
    csv = write_csv(Path("sub.csv"), comp["ids"], with_errors(comp, 3))
    assert submit(csv) == 0
    out = capsys.readouterr().out
    row = ledger.read_ledger("submissions/ledger.csv").iloc[0]
    assert out == (f"submitted sub.csv to {SLUG}: ref {row.kaggle_ref}, status COMPLETE, public score "
                   f"{row.public_score:.5f} ({100 * row.public_score:.2f}%) (2 submissions left today)\n")
    public = public_ids(comp["ids"].tolist(), 0.5, 0)
    wrong = set(comp["ids"][:3].tolist())
    assert row.public_score == pytest.approx(1 - len(wrong & public) / len(public))
    assert np.isnan(row.private_score)  # private stays hidden until the competition ends
    assert (row.status, row.file, row.message, row.competition) == ("COMPLETE", "sub.csv", "msg sub.csv", SLUG)
    assert row.runs == "" and row.recipe == ""  # a bare CSV has no run, so no recipe
    assert row.sha256 == __import__("hashlib").sha256(csv.read_bytes()).hexdigest()
    assert methods(fake) == ["GetSubmissionLimits", "StartSubmissionUpload", "upload", "CreateSubmission",
                             "ListSubmissions"]
    assert fake.submissions[0].description == "msg sub.csv"


def test_same_file_is_refused_unless_forced(fake, comp, capsys):
    csv = write_csv(Path("sub.csv"), comp["ids"], comp["labels"])
    assert submit(csv) == 0
    ref = ledger.read_ledger("submissions/ledger.csv").kaggle_ref[0]
    capsys.readouterr()
    n_calls = len(fake.calls)
    assert submit(csv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: sub.csv (sha256 ") and err.endswith(
        f"as ref {ref}, status COMPLETE; pass --force to spend a submission on it again\n")
    assert len(fake.calls) == n_calls  # refused before talking to Kaggle
    assert submit(csv, "--force") == 0
    assert ledger.read_ledger("submissions/ledger.csv").status.tolist() == ["COMPLETE", "COMPLETE"]


def test_two_submits_of_one_file_at_once_spend_one_slot(fake, comp):
    """Both commands checked the ledger for the file before either had written its row, so both uploaded it:
    the duplicate check, the upload and the row must happen under the ledger's lock."""
    csv = write_csv(Path("sub.csv"), comp["ids"], comp["labels"])
    fake.faults.append(Fault(status=None, times=2, method="StartSubmissionUpload", delay_s=3.0))
    cmd = [sys.executable, "-m", "kaggle_kit", "submit", str(csv), "-m", "same", "--against",
           "comp/cifar_test_nolabel.pkl"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = sorted((p.wait(timeout=120), p.stderr.read()) for p in procs)
    assert len(fake.submissions) == 1
    assert results[0][0] == 0 and results[1][0] == 2 and "was already submitted" in results[1][1], results
    assert len(ledger.read_ledger("submissions/ledger.csv")) == 1


def test_invalid_csv_is_refused_before_upload(fake, comp, capsys):
    csv = write_csv(Path("bad.csv"), comp["ids"][:-1], comp["labels"][:-1])
    assert submit(csv) == 2
    assert capsys.readouterr().err.startswith("error: bad.csv: 1 competition ID missing")
    assert fake.calls == []


def test_daily_limit_is_asked_first(fake, comp, capsys):
    for n in range(3):
        assert submit(write_csv(Path(f"s{n}.csv"), comp["ids"], with_errors(comp, n))) == 0
    capsys.readouterr()
    assert submit(write_csv(Path("s3.csv"), comp["ids"], with_errors(comp, 3))) == 1
    assert capsys.readouterr().err == (f"error: no submissions left for {SLUG} (daily limit reached, 3 used today); "
                                       f"nothing was uploaded; rerun after the limit resets at 00:00 UTC\n")
    assert methods(fake)[-1] == "GetSubmissionLimits"
    assert len(ledger.read_ledger("submissions/ledger.csv")) == 3


def test_a_lifetime_limit_is_not_said_to_reset_at_midnight(fake, comp, capsys):
    fake.config.total_limit = 1
    assert submit(write_csv(Path("s0.csv"), comp["ids"], comp["labels"])) == 0
    assert "(0 submission(s) left in all)" in capsys.readouterr().out  # not "today": it never resets
    assert submit(write_csv(Path("s1.csv"), comp["ids"], with_errors(comp, 1))) == 1
    assert capsys.readouterr().err == (f"error: no submissions left for {SLUG} (lifetime limit reached, 1 used in "
                                       f"all); nothing was uploaded; this limit does not reset\n")
    assert methods(fake)[-1] == "GetSubmissionLimits" and len(fake.submissions) == 1


def test_transient_failures_are_retried(fake, comp, capsys):
    fake.faults.extend([
        Fault(status=429, times=2, method="GetSubmissionLimits", retry_after_s=0),
        Fault(status=503, times=1, method="upload"),  # the client says "Could not submit to competition"
        Fault(status=0, times=1, method="ListSubmissions"),  # connection dropped without a reply
        Fault(status=500, times=1, method="CreateSubmission"),
        Fault(status=None, times=1, method="StartSubmissionUpload", delay_s=0.3),  # slow reply
    ])
    t0 = time.perf_counter()
    assert submit(write_csv(Path("sub.csv"), comp["ids"], comp["labels"])) == 0
    assert time.perf_counter() - t0 >= 0.3
    # each retry of the upload first checks that Kaggle did not record the submission after all
    assert fake.calls == [("GetSubmissionLimits", 429), ("GetSubmissionLimits", 429), ("GetSubmissionLimits", 200),
                          ("StartSubmissionUpload", 200), ("upload", 503),
                          ("ListSubmissions", 0),
                          ("ListSubmissions", 200), ("StartSubmissionUpload", 200), ("upload", 200),
                          ("CreateSubmission", 500),
                          ("ListSubmissions", 200), ("StartSubmissionUpload", 200), ("upload", 200),
                          ("CreateSubmission", 200), ("ListSubmissions", 200)]
    assert len(fake.submissions) == 1
    assert capsys.readouterr().err.splitlines() == [
        "kaggle: the submission-limits request: HTTP 429; retrying in 0.0 s (attempt 2/4)",
        "kaggle: the submission-limits request: HTTP 429; retrying in 0.0 s (attempt 3/4)",
        "kaggle: the submission of sub.csv: UploadFailed; retrying in 0.0 s (attempt 2/4)",
        "kaggle: the submission of sub.csv: ProxyError; retrying in 0.0 s (attempt 3/4)",  # the dropped connection
        "kaggle: the submission of sub.csv: HTTP 500; retrying in 0.0 s (attempt 4/4)"]
    assert ledger.read_ledger("submissions/ledger.csv").status.tolist() == ["COMPLETE"]


def test_a_lost_reply_does_not_cost_a_second_slot(fake, comp, capsys):
    """Kaggle recorded the submission but the reply was lost (502 on the way back): the retry finds it
    among the recent submissions instead of uploading again."""
    fake.faults.append(Fault(status=502, times=1, method="CreateSubmission", after=True))
    assert submit(write_csv(Path("sub.csv"), comp["ids"], comp["labels"])) == 0
    assert len(fake.submissions) == 1
    assert methods(fake) == ["GetSubmissionLimits", "StartSubmissionUpload", "upload", "CreateSubmission",
                             "ListSubmissions", "ListSubmissions"]
    row = ledger.read_ledger("submissions/ledger.csv").iloc[0]
    assert (row.kaggle_ref, row.status) == (str(fake.submissions[0].ref), "COMPLETE")


def test_a_reply_lost_on_the_last_attempt_is_found_too(fake, comp, capsys):
    """Three CreateSubmissions fail before taking effect, the fourth (the last attempt) takes effect but its reply
    is lost: the submission is on Kaggle, so the command must record it, not end in an error that invites a
    rerun spending a second slot on the same file."""
    fake.faults.extend([Fault(status=500, times=3, method="CreateSubmission"),
                        Fault(status=502, times=1, method="CreateSubmission", after=True)])
    assert submit(write_csv(Path("sub.csv"), comp["ids"], comp["labels"])) == 0
    assert len(fake.submissions) == 1
    row = ledger.read_ledger("submissions/ledger.csv").iloc[0]
    assert (row.kaggle_ref, row.status) == (str(fake.submissions[0].ref), "COMPLETE")


@pytest.mark.parametrize("fault, line", [
    (Fault(status=429, times=None, method="GetSubmissionLimits"),
     "Kaggle kept answering 429 Too Many Requests to the submission-limits request after 4 attempts; "
     "wait a few minutes and rerun"),
    (Fault(status=500, times=None, method="CreateSubmission"),
     "Kaggle answered 500 (Internal Server Error) to the submission of sub.csv after 4 attempts; "
     "Kaggle may be down, rerun later"),
    (Fault(status=503, times=None, method="upload"),
     "the file upload for the submission of sub.csv failed after 4 attempts (Kaggle: 'Could not submit to "
     "competition'); nothing was submitted, rerun the command later"),
])
def test_persistent_failures_end_in_one_line(fake, comp, capsys, fault, line):
    fake.faults.append(fault)
    assert submit(write_csv(Path("sub.csv"), comp["ids"], comp["labels"])) == 1
    assert capsys.readouterr().err.splitlines()[-1] == "error: " + line
    assert sum(m == fault.method for m in methods(fake)) == 4
    assert fake.submissions == [] and not Path("submissions/ledger.csv").exists()


def test_bad_key_is_401(fake, comp, capsys, monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", DEFAULT_USER)
    monkeypatch.setenv("KAGGLE_KEY", "wrong-key")
    assert submit(write_csv(Path("sub.csv"), comp["ids"], comp["labels"])) == 2
    assert capsys.readouterr().err == (
        "error: Kaggle rejected the credentials from KAGGLE_USERNAME/KAGGLE_KEY (401 Unauthorized); create a new "
        "API token at https://www.kaggle.com/settings/api and update KAGGLE_USERNAME/KAGGLE_KEY\n")
    assert fake.calls == [("GetSubmissionLimits", 401)]  # not retried


def test_rules_not_accepted_is_403(fake, comp, capsys):
    fake.config.rules_accepted = False
    assert submit(write_csv(Path("sub.csv"), comp["ids"], comp["labels"])) == 1
    assert capsys.readouterr().err == (
        f"error: Kaggle refused the submission of sub.csv (403: You must accept this competition's rules before "
        f"you'll be able to submit.); accept the competition's rules at "
        f"https://www.kaggle.com/competitions/{SLUG}/rules, then rerun\n")
    assert main(["data", "download", "--dest", "data"]) == 1
    assert capsys.readouterr().err.startswith(
        f"error: Kaggle refused the download of {SLUG}'s data (403: You must accept this competition's rules "
        f"before you'll be able to download files.); accept the competition's rules at")


def test_unknown_competition_is_403_as_on_kaggle_and_the_line_says_to_check_the_name(fake, comp, capsys):
    """Kaggle answers a misspelt competition with 403 'competitions.participate', the same status as rules not
    accepted: the line must not send the user only to the rules page of a competition that does not exist."""
    assert submit(write_csv(Path("sub.csv"), comp["ids"], comp["labels"]), "--competition", "no-such-comp") == 1
    assert capsys.readouterr().err == (
        "error: Kaggle refused the submission-limits request (403: Permission 'competitions.participate' "
        "was denied); check --competition: Kaggle answers 403 for a competition that does not exist (this "
        f"toolkit's is {SLUG}); if the name is right, join it and accept its rules at "
        "https://www.kaggle.com/competitions/no-such-comp/rules, then rerun\n")
    assert fake.calls == [("GetSubmissionLimits", 403)] and fake.submissions == []


def test_unknown_competition_is_404(fake, comp, capsys):
    fake.config.unknown_competition_status = 404  # what Kaggle answered in the past (kaggle-cli issue #21)
    assert submit(write_csv(Path("sub.csv"), comp["ids"], comp["labels"]), "--competition", "no-such-comp") == 1
    assert capsys.readouterr().err == ("error: competition 'no-such-comp' was not found on Kaggle (404); check "
                                       f"--competition (this toolkit's competition is {SLUG})\n")


def test_dry_run_without_credentials_then_real_upload(fake, comp, capsys, monkeypatch):
    config_dir = Path(os.environ["KAGGLE_CONFIG_DIR"])
    (config_dir / "kaggle.json").rename(config_dir / "kept.json")
    csv = write_csv(Path("sub.csv"), comp["ids"], comp["labels"])
    assert submit(csv) == 0
    assert capsys.readouterr().out == (
        "dry run (no Kaggle credentials found): sub.csv is valid and recorded in submissions/ledger.csv as dry-run\n"
        "to upload it: kaggle-kit submit sub.csv -m 'msg sub.csv' --against comp/cifar_test_nolabel.pkl\n")
    assert fake.calls == []
    assert ledger.read_ledger("submissions/ledger.csv").status.tolist() == ["dry-run"]
    (config_dir / "kept.json").rename(config_dir / "kaggle.json")
    assert submit(csv) == 0  # a dry run does not count as submitted
    assert ledger.read_ledger("submissions/ledger.csv").status.tolist() == ["dry-run", "COMPLETE"]
    assert submit(csv, "--upload", "never", "--force") == 0
    out = capsys.readouterr().out
    assert "dry run (upload: never)" in out  # the command again, without the setting that made it a dry run
    assert out.endswith("to upload it: kaggle-kit submit sub.csv -m 'msg sub.csv' --against "
                        "comp/cifar_test_nolabel.pkl --force\n")


def test_sync_fills_pending_scores_and_imports_unknown_submissions(comp, tmp_path, monkeypatch, capsys):
    server = start_fake(comp, pending_polls=1)
    try:
        use_env(monkeypatch, server.sandbox_env(tmp_path / "client"))
        monkeypatch.chdir(tmp_path)
        assert submit(write_csv(Path("sub.csv"), comp["ids"], with_errors(comp, 4))) == 0
        assert ledger.read_ledger("submissions/ledger.csv").status.tolist() == ["PENDING"]
        # a malformed file uploaded with the plain Python API (no validation): Kaggle marks it ERROR
        bad = write_csv(Path("bad.csv"), comp["ids"][:5], comp["labels"][:5])
        kaggle_api.submit(bad, "from elsewhere")
        capsys.readouterr()
        assert main(["sync"]) == 0
        assert capsys.readouterr().out == ("submissions/ledger.csv: 2 submission(s) on Kaggle: 1 ledger row(s) "
                                           "updated, 1 added, 1 still pending\n")
        assert ledger.read_ledger("submissions/ledger.csv").status.tolist() == ["COMPLETE", "PENDING"]
        assert main(["sync"]) == 0
        assert capsys.readouterr().out == ("submissions/ledger.csv: 2 submission(s) on Kaggle: 1 ledger row(s) "
                                           "updated, 0 added, 0 still pending\n")
        df = ledger.read_ledger("submissions/ledger.csv")
        assert df.status.tolist() == ["COMPLETE", "ERROR"]
        assert df.file.tolist() == ["sub.csv", "bad.csv"] and df.message[1] == "from elsewhere"
        assert df.public_score[0] > 0 and np.isnan(df.private_score[0]) and np.isnan(df.public_score[1])
        errors = [s.error_description for s in kaggle_api.list_submissions() if s.status == "ERROR"]
        assert errors == [f"Submission must have {N} rows (found 5)."]
        server.config.private_visible = True  # the competition ended
        assert main(["sync"]) == 0
        df = ledger.read_ledger("submissions/ledger.csv")
        wrong, public = set(comp["ids"][:4].tolist()), public_ids(comp["ids"].tolist(), 0.5, 0)
        assert df.private_score[0] == pytest.approx(1 - len(wrong - public) / (N - len(public)))
    finally:
        server.stop()


def test_sync_with_another_accounts_credentials_says_the_ledger_refs_are_missing(comp, tmp_path, monkeypatch,
                                                                                  capsys):
    """Kaggle lists only the signed-in team's submissions: with a second account's kaggle.json, the ledger's
    submission is not in the list, and 'already up to date' would hide that."""
    server = start_fake(comp, users={DEFAULT_USER: "k" * 32, "someone-else": "e" * 32})
    try:
        env = server.sandbox_env(tmp_path / "client")
        use_env(monkeypatch, env)
        monkeypatch.chdir(tmp_path)
        assert submit(write_csv(Path("sub.csv"), comp["ids"], with_errors(comp, 4))) == 0
        capsys.readouterr()
        before = Path("submissions/ledger.csv").read_bytes()
        kaggle_api.write_kaggle_json(env["KAGGLE_CONFIG_DIR"], "someone-else", "e" * 32)
        assert main(["sync"]) == 0
        assert capsys.readouterr().out == (
            "submissions/ledger.csv: 0 submission(s) on Kaggle: 0 ledger row(s) updated, 0 added, 0 still pending; "
            "1 of the ledger's submission(s) to this competition are not in Kaggle's list: are these credentials "
            "another account's than the one that submitted them?\n")
        assert Path("submissions/ledger.csv").read_bytes() == before
    finally:
        server.stop()


def test_sync_sees_every_submission_when_kaggle_pages_are_shorter_than_asked(comp, tmp_path, monkeypatch, capsys):
    """Kaggle's server sets the largest page it returns: a page shorter than the toolkit asked for is not the
    last one, so submission 21 and later must still reach the ledger."""
    server = start_fake(comp, max_page_size=20)
    try:
        use_env(monkeypatch, server.sandbox_env(tmp_path / "client"))
        monkeypatch.chdir(tmp_path)
        add_website_submissions(server, 50_000_000, [(f"website {i}", f"s{i}.csv") for i in range(23)], "0.81000")
        listed = kaggle_api.list_submissions()
        assert [s.ref for s in listed] == [str(50_000_000 + i) for i in reversed(range(23))]
        assert main(["sync"]) == 0
        assert capsys.readouterr().out == ("submissions/ledger.csv: 23 submission(s) on Kaggle: 0 ledger row(s) "
                                           "updated, 23 added, 0 still pending\n")
        assert len(ledger.read_ledger("submissions/ledger.csv")) == 23
    finally:
        server.stop()


def test_sync_keeps_descriptions_and_file_names_from_kaggle_exactly(comp, tmp_path, monkeypatch, capsys):
    """A description set on Kaggle's website is remote text: one holding a lone carriage return was written to the
    ledger unquoted, and from then on every command reading the ledger failed with 'wrong number of fields'; one
    over the csv module's cell limit failed every read too, and a lone surrogate failed the write."""
    server = start_fake(comp)
    texts = ["first\rsecond", "a, \"b\"\r\nc\nd", "| **x** <b>&amp;</b> \x1b[31m", "שלום 日本", "lone \udcff",
             "x" * 150_000]
    try:
        use_env(monkeypatch, server.sandbox_env(tmp_path / "client"))
        monkeypatch.chdir(tmp_path)
        add_website_submissions(server, 60_000_000, [(text, f"{text}.csv") for text in texts], "0.8")
        assert main(["sync"]) == 0
        assert main(["sync"]) == 0  # reads the ledger the first wrote
        assert capsys.readouterr().out.endswith("0 added, 0 still pending; the ledger was already up to date\n")
        df = ledger.read_ledger("submissions/ledger.csv")
        # a lone surrogate has no UTF-8: kept as its escape; a description longer than a ledger cell: cut to one
        kept = [*texts[:4], "lone \\udcff", "x" * ledger.MAX_CELL_CHARS]
        assert df.message.tolist() == kept and df.file.tolist()[:5] == [f"{t}.csv" for t in kept[:5]]
    finally:
        server.stop()


def test_sync_cuts_a_long_description_to_a_ledger_cell_after_escaping_it(comp, tmp_path, monkeypatch, capsys):
    """A description cut to 100,000 characters grew past the ledger's cell limit when its lone surrogate was written
    as a 6-character escape: every sync then stopped with 'shorten it', which only an edit on Kaggle could do."""
    server = start_fake(comp)
    try:
        use_env(monkeypatch, server.sandbox_env(tmp_path / "client"))
        monkeypatch.chdir(tmp_path)
        with server.state.lock:
            server.state.submissions.append(SubmissionRecord(
                ref=60_000_100, user=DEFAULT_USER, date=datetime.datetime(2025, 3, 1, tzinfo=datetime.timezone.utc),
                description="x" * 99_998 + "\udcff", file_name="a.csv", size=10, score=Score("COMPLETE", "0.8"),
                polls_left=0))
        assert main(["sync"]) == 0, capsys.readouterr().err
        assert ledger.read_ledger("submissions/ledger.csv").message.tolist() == ["x" * 99_998 + "\\u"]
    finally:
        server.stop()


def test_kaggles_words_in_an_error_reach_the_terminal_as_one_line_without_escape_sequences(comp, tmp_path,
                                                                                           monkeypatch, capsys):
    """The error line quotes Kaggle's reply: its escape sequences (clear the screen, recolour) reached the terminal
    as they came, and a line break in it could start a line that looks like the toolkit's own."""
    reply = "Denied\x1b[2J\x1b[32m all fine\x1b[0m\x07\x9b\nerror: not ours\r\u202eevil"
    server = start_fake(comp, faults=[Fault(status=400, times=None, method="ListSubmissions", message=reply)])
    try:
        use_env(monkeypatch, server.sandbox_env(tmp_path / "client"))
        monkeypatch.chdir(tmp_path)
        capsys.readouterr()
        assert main(["sync"]) == 1
        assert capsys.readouterr().err == ("error: Kaggle refused the submission list (400: Denied\\x1b[2J\\x1b[32m "
                                           "all fine\\x1b[0m\\x07\\x9b error: not ours \\u202eevil)\n")
    finally:
        server.stop()


def test_kaggles_words_in_the_pipelines_sync_line_reach_the_terminal_without_escape_sequences(comp, tmp_path,
                                                                                                 monkeypatch):
    """The sync stage reports a Kaggle failure in its progress line, not through the CLI's error line: Kaggle's
    reply reached the terminal with its escape sequences (and so did submit's warning on a failed status read)."""
    reply = "Denied\x1b[2J\x1b[32m all fine\x1b[0m\x07\x9b \u202eevil"
    server = start_fake(comp, faults=[Fault(status=400, times=None, method="ListSubmissions", message=reply)])
    try:
        use_env(monkeypatch, server.sandbox_env(tmp_path / "client"))
        line = upload.sync_ledger_if_possible(workdir=tmp_path)
        assert line == ("failed (Kaggle refused the submission list (400: Denied\\x1b[2J\\x1b[32m all "
                        "fine\\x1b[0m\\x07\\x9b \\u202eevil)); rerun `kaggle-kit sync` later")
    finally:
        server.stop()


def test_a_submissions_file_keeps_the_teams_submissions_across_restarts(comp, tmp_path, monkeypatch):
    kept = tmp_path / "fake" / "submissions.json"
    monkeypatch.chdir(tmp_path)
    refs = []
    for attempt in range(2):
        server = start_fake(comp, submissions_file=kept)
        try:
            use_env(monkeypatch, server.sandbox_env(tmp_path / f"client{attempt}"))
            refs.append(kaggle_api.submit(write_csv(Path(f"s{attempt}.csv"), comp["ids"], comp["labels"]), "m"))
            listed = kaggle_api.list_submissions()
            assert [s.ref for s in listed] == refs[::-1] and all(float(s.public_score) == 1.0 for s in listed)
        finally:
            server.stop()
    assert int(refs[1]) == int(refs[0]) + 1
    kept.write_text("not json")
    server = start_fake(comp, submissions_file=kept)  # an unreadable file starts afresh
    try:
        use_env(monkeypatch, server.sandbox_env(tmp_path / "client2"))
        assert kaggle_api.list_submissions() == []
    finally:
        server.stop()


# ------------------------------------------------------------------------------------------ data download
def test_data_download_unzips_the_competition_files(comp, tmp_path, monkeypatch):
    files = {"cifar_test_nolabel.pkl": comp["pickle"], "cifar-10-python/cifar-10-batches-py/readme.html":
             comp["labels_csv"]}
    server = start_fake(comp, data_files=files)
    try:
        use_env(monkeypatch, server.sandbox_env(tmp_path / "client"))
        dest = kaggle_api.download_competition_data(tmp_path / "data")
        for name, src in files.items():
            assert (dest / name).read_bytes() == Path(src).read_bytes()
        assert sorted(p.name for p in dest.iterdir()) == ["cifar-10-python", "cifar_test_nolabel.pkl"]
        assert [m for m, _ in server.calls] == ["DownloadDataFiles", "file"]
    finally:
        server.stop()


# ------------------------------------------------------------------------------------------ the client itself
def run_kaggle(args, env, cwd):
    return subprocess.run([KAGGLE_CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_official_cli_and_python_api_against_the_fake(comp, tmp_path):
    files = {"cifar_test_nolabel.pkl": comp["pickle"]}
    with FakeKaggle(labels_csv=comp["labels_csv"], data_files=files) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAGGLE_")}
        for k, v in server.sandbox_env(tmp_path / "client").items():
            env.pop(k, None) if v is None else env.__setitem__(k, v)
        csv = write_csv(tmp_path / "sub.csv", comp["ids"], comp["labels"])

        r = run_kaggle(["competitions", "submit", "-c", SLUG, "-f", str(csv), "-m", "from the CLI"], env, tmp_path)
        assert r.returncode == 0, r.stderr
        assert "Successfully submitted" in r.stdout and "4 submissions remaining today." in r.stdout
        r = run_kaggle(["competitions", "submissions", "-c", SLUG, "-v"], env, tmp_path)
        assert r.returncode == 0, r.stderr
        header, row = r.stdout.splitlines()
        assert header == "ref,fileName,date,description,status,publicScore,privateScore"
        assert row.startswith(f"{server.submissions[0].ref},sub.csv,")
        assert row.endswith(",from the CLI,SubmissionStatus.COMPLETE,1.00000,")  # the 2.2.4 CLI prints enum reprs
        r = run_kaggle(["competitions", "leaderboard", "-c", SLUG, "-s", "-v"], env, tmp_path)
        assert r.returncode == 0 and f",{DEFAULT_USER}," in r.stdout and "1.00000" in r.stdout, r.stdout + r.stderr
        r = run_kaggle(["competitions", "files", "-c", SLUG, "-v"], env, tmp_path)
        assert r.returncode == 0 and "cifar_test_nolabel.pkl" in r.stdout, r.stderr
        r = run_kaggle(["competitions", "download", "-c", SLUG, "-p", str(tmp_path / "dl")], env, tmp_path)
        assert r.returncode == 0 and (tmp_path / "dl" / f"{SLUG}.zip").is_file(), r.stdout + r.stderr
        r = run_kaggle(["competitions", "download", "-c", SLUG, "-f", "cifar_test_nolabel.pkl", "-p",
                        str(tmp_path / "one")], env, tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        assert (tmp_path / "one" / "cifar_test_nolabel.pkl").read_bytes() == comp["pickle"].read_bytes()

        api_script = (
            "from kaggle.api.kaggle_api_extended import KaggleApi\n"
            "import sys\n"
            "api = KaggleApi(); api.authenticate()\n"
            f"r = api.competition_submit(sys.argv[1], 'from the API', '{SLUG}')\n"
            "print('message', r.message, r.ref)\n"
            f"lim = api.competition_get_submission_limits('{SLUG}')\n"
            "print('left', lim.num_allowed_now)\n"
            f"print('statuses', [s.status.name for s in api.competition_submissions('{SLUG}')])\n")
        r = subprocess.run([sys.executable, "-c", api_script, str(csv)], env=env, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        assert f"message Successfully submitted to {SLUG}" in r.stdout
        assert "left 3" in r.stdout and "statuses ['COMPLETE', 'COMPLETE']" in r.stdout

        env_bad = {**env, "KAGGLE_USERNAME": DEFAULT_USER, "KAGGLE_KEY": "nope"}
        r = run_kaggle(["competitions", "submissions", "-c", SLUG], env_bad, tmp_path)
        assert "Authentication required" in r.stdout and r.returncode == 1
        assert [s.description for s in server.submissions] == ["from the CLI", "from the API"]


# ------------------------------------------------------------------------------------------ submit --from RUN
def make_run(folder: Path, comp, seed: int, wrong: int) -> Path:
    """A predicted run: holdout/test logits with labels; competition logits confidently wrong on the first
    ``wrong`` ids and right on the rest."""
    from kaggle_kit.runs import Logits, save_logits, write_manifest

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    np.save(folder / "holdout_indices.npy", np.arange(200))
    for i, split in enumerate(("holdout", "test")):
        labels = np.random.default_rng(100 + i).integers(0, 10, 200)  # the same images' labels for every run
        logits = rng.normal(size=(200, 10)).astype(np.float32)
        logits[np.arange(150), labels[:150]] += 4.0  # about 75 % + chance right
        save_logits(folder / f"logits_{split}.npz", Logits(np.arange(200), logits, labels, "none"))
    comp_logits = rng.normal(size=(N, 10)).astype(np.float32)
    target = comp["labels"].copy()
    target[:wrong] = (target[:wrong] + 1) % 10
    comp_logits[np.arange(N), target] += np.where(np.arange(N) < wrong, 20.0, 10.0)
    save_logits(folder / "logits_comp.npz", Logits(comp["ids"], comp_logits, None, "none"))
    write_manifest(folder, "predict", extra={"comp_complete": True})
    (folder / "config.yaml").write_text(f"train:\n  seed: {seed}\n")  # one recipe, two seeds
    return folder


def test_submit_from_run_records_runs_and_local_scores(fake, comp, capsys, monkeypatch):
    from kaggle_kit.ensemble import ensemble_runs
    from kaggle_kit.runs import load_logits

    monkeypatch.delenv("KAGGLE_KIT_DATA", raising=False)  # no CIFAR-10 here: the prediction uses logits alone
    run_a = make_run(Path("runs/20250101-000000-a-1111111"), comp, 0, wrong=0)
    run_b = make_run(Path("runs/20250101-000001-b-2222222"), comp, 1, wrong=N // 2)
    assert main(["submit", "--from", str(run_a), "-m", "run a", "--against", "comp/cifar_test_nolabel.pkl"]) == 0
    csv = Path("submissions/20250101-000000-a-1111111.csv")
    assert csv.read_text().splitlines()[1:] == [f"{i},{l}" for i, l in zip(comp["ids"], comp["labels"])]
    row = ledger.read_ledger("submissions/ledger.csv").iloc[0]
    assert (row.file, row.runs, row.status, row.public_score) == (str(csv), run_a.name, "COMPLETE", 1.0)
    from kaggle_kit.runs import recipe_key, recipe_keys
    assert row.recipe == recipe_key(run_a) == recipe_key(run_b) and len(row.recipe) == 12  # seeds share a recipe
    assert row.recipe_except_smoothing == recipe_keys(run_a).except_smoothing != row.recipe
    assert row.local_holdout_acc == pytest.approx(load_logits(run_a / "logits_holdout.npz").accuracy)
    assert row.local_test_acc == pytest.approx(load_logits(run_a / "logits_test.npz").accuracy)
    # without CIFAR-10 the prediction is the logits-only recommended estimator's, and the row names it
    from kaggle_kit.gap.estimators import LOGITS_ONLY, estimate_all, recommended_estimator
    hold, comp_lg = load_logits(run_a / "logits_holdout.npz"), load_logits(run_a / "logits_comp.npz")
    upload_est = recommended_estimator(available=LOGITS_ONLY)
    expected = estimate_all(hold.logits, hold.labels, comp_lg.logits)["estimates"][upload_est]
    assert row.predicted_lb_acc == pytest.approx(expected, abs=1e-6) and row.predicted_by == upload_est
    out = capsys.readouterr().out
    assert "note: CIFAR-10 not found, so the leaderboard prediction uses the competition logits alone" in out
    assert f"{run_a.name}: predicted leaderboard accuracy {100 * expected:.1f}% ({upload_est}; expect " in out

    ens = ensemble_runs([run_a, run_b], "mean_probs", "ab", out_root=Path("ensembles"))
    assert main(["submit", "--from", str(ens), "-m", "ensemble", "--against", "comp/cifar_test_nolabel.pkl"]) == 0
    assert ledger.read_ledger("submissions/ledger.csv").runs[1] == f"{run_a.name};{run_b.name}"
    assert ledger.read_ledger("submissions/ledger.csv").recipe[1] == recipe_key(ens) != recipe_key(run_a)
    assert ledger.read_ledger("submissions/ledger.csv").recipe_except_smoothing[1] == recipe_keys(ens).except_smoothing
    capsys.readouterr()
    # the CSV exists now: the same predictions reuse it (and the ledger refuses the duplicate) ...
    assert main(["submit", "--from", str(run_a), "-m", "again", "--against", "comp/cifar_test_nolabel.pkl"]) == 2
    assert "was already submitted" in capsys.readouterr().err
    # ... different predictions under the same name are never overwritten
    assert main(["submit", "--from", str(run_b), "--out", str(csv), "-m", "b",
                 "--against", "comp/cifar_test_nolabel.pkl"]) == 2
    assert capsys.readouterr().err == (f"error: {csv} exists with different predictions; pass --out NEW.csv to "
                                       f"keep both\n")
    assert main(["submit", str(csv), "--from", str(run_b), "-m", "x", "--against", "comp/x.pkl"]) == 2
    assert capsys.readouterr().err == "error: give either a CSV file or --from RUN (exactly one)\n"


def test_data_download_command_with_the_competition_layout(shared_data, tmp_path, monkeypatch, capsys):
    """`kaggle-kit data download`: the competition zip (the official batches + the pickle) through the client,
    unzipped into data/ and verified by `data verify`."""
    batches = shared_data / "cifar-10-python" / "cifar-10-batches-py"
    files = {f"cifar-10-python/cifar-10-batches-py/{p.name}": p for p in sorted(batches.iterdir()) if p.is_file()}
    files["cifar_test_nolabel.pkl"] = shared_data / "standin" / "cifar_test_nolabel.pkl"
    with FakeKaggle(data_files=files) as server:
        use_env(monkeypatch, server.sandbox_env(tmp_path / "client"))
        monkeypatch.chdir(tmp_path)
        assert main(["data", "download"]) == 0
    out = capsys.readouterr().out
    assert "md5: 7/7 official files match" in out and out.endswith("data OK\n")
    assert sorted(p.name for p in Path("data").iterdir()) == ["cifar-10-python", "cifar_test_nolabel.pkl"]


# ------------------------------------------------------------------------------------------ credentials
def test_access_tokens_are_introspected(comp, tmp_path, monkeypatch, capsys):
    server = start_fake(comp, tokens={"KGAT_good": DEFAULT_USER})
    try:
        use_env(monkeypatch, server.sandbox_env(tmp_path / "client", credentials=False))
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("KAGGLE_API_TOKEN", "KGAT_good")
        assert kaggle_api.submission_limits().num_allowed_now == 5
        calls = methods(server)  # the first `import kaggle` in a process introspects the token once more
        assert calls[-1] == "GetSubmissionLimits" and set(calls[:-1]) == {"IntrospectToken"}
        monkeypatch.setenv("KAGGLE_API_TOKEN", "KGAT_revoked")
        assert main(["sync"]) == 2
        assert capsys.readouterr().err == ("error: Kaggle did not accept the credentials from KAGGLE_API_TOKEN; "
                                           "create a new API token at https://www.kaggle.com/settings/api\n")
    finally:
        server.stop()


def test_without_credentials_always_and_sync_refuse(fake, comp, capsys):
    (Path(os.environ["KAGGLE_CONFIG_DIR"]) / "kaggle.json").unlink()
    assert submit(write_csv(Path("sub.csv"), comp["ids"], comp["labels"]), "--upload", "always") == 2
    line = capsys.readouterr().err
    assert line.startswith("error: no Kaggle credentials found; create an API token at")
    assert main(["sync"]) == 2 and capsys.readouterr().err == line
    assert fake.calls == [] and not Path("submissions/ledger.csv").exists()


def test_kaggle_env_points_the_client_and_restores(comp, tmp_path, monkeypatch):
    monkeypatch.setenv("KAGGLE_API_TOKEN", "users-real-token")
    monkeypatch.setenv("HTTP_PROXY", "http://corp-proxy:3128")
    with FakeKaggle(labels_csv=comp["labels_csv"]) as server:
        with kaggle_api.kaggle_env(server, tmp_path / "cfg", DEFAULT_USER, "kit-fake-key-0123456789abcdef") as env:
            assert "KAGGLE_API_TOKEN" not in os.environ and env["HTTP_PROXY"] == server.url
            assert kaggle_api.submission_limits().num_today == 0
        assert server.calls == [("GetSubmissionLimits", 200)]
    assert os.environ["KAGGLE_API_TOKEN"] == "users-real-token" and os.environ["HTTP_PROXY"] == "http://corp-proxy:3128"
    assert "KAGGLE_API_ENVIRONMENT" not in os.environ


def test_standalone_server_for_demos(comp, tmp_path, monkeypatch):
    proc = subprocess.Popen([sys.executable, "-m", "kaggle_kit.testing.fake_kaggle", "--labels",
                             str(comp["labels_csv"]), "--daily-limit", "2"], stdout=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith("fake Kaggle server on http://127.0.0.1:")
        port = int(first.split("http://127.0.0.1:")[1].split()[0])
        monkeypatch.chdir(tmp_path)
        with kaggle_api.kaggle_env(port, tmp_path / "cfg", DEFAULT_USER, "kit-fake-key-0123456789abcdef"):
            assert kaggle_api.submission_limits().num_allowed_now == 2
    finally:
        proc.send_signal(__import__("signal").SIGINT)
        assert proc.wait(timeout=10) == 0
        proc.stdout.close()


def test_pipeline_upload_and_sync_stages(comp, tmp_path, monkeypatch):
    """The functions `kaggle-kit run` calls for its upload and sync stages, with the environment the demo
    passes (kaggle_env) rather than one set by the test."""
    from kaggle_kit.config import load_pipeline
    from kaggle_kit.upload import submit_pipeline_csv, sync_ledger_if_possible

    monkeypatch.chdir(tmp_path)
    run = make_run(Path("work/runs/20250101-000000-p-3333333"), comp, 0, wrong=2)
    Path("work/submissions").mkdir()
    csv = write_csv(Path("work/submissions/p.csv"), comp["ids"], with_errors(comp, 2))
    Path("p.yaml").write_text("name: p\nsubmit: {message: pipeline p}\n")
    cfg = load_pipeline("p.yaml")
    for var in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with FakeKaggle(labels_csv=comp["labels_csv"], pending_polls=1) as server:
        with kaggle_api.kaggle_env(server, tmp_path / "cfg", DEFAULT_USER, "kit-fake-key-0123456789abcdef") as env:
            pass  # the pipeline re-applies env around each stage itself
        lines = []
        row = submit_pipeline_csv(csv, cfg, run, [run], workdir="work", env=env, echo=lines.append,
                                  expected_ids=comp["ids"])
        assert (row["status"], row["runs"], row["message"]) == ("PENDING", run.name, "pipeline p")
        assert sync_ledger_if_possible(workdir="work", env=env) == (
            "1 submission(s) on Kaggle: 1 ledger row(s) updated, 0 added, 0 still pending")
        again = submit_pipeline_csv(csv, cfg, run, [run], workdir="work", env=env, echo=lines.append)
        assert again["kaggle_ref"] == row["kaggle_ref"] and len(server.submissions) == 1
        assert lines[-1] == f"{csv} was already submitted (ref {row['kaggle_ref']}); not spending a slot on it again"
    assert "KAGGLE_API_ENVIRONMENT" not in os.environ
    df = ledger.read_ledger("work/submissions/ledger.csv")
    assert df.status.tolist() == ["COMPLETE"] and df.public_score[0] < 1.0
    assert sync_ledger_if_possible(workdir="work") == "skipped (no Kaggle credentials)"


def test_files_kaggle_serves_that_fail_the_md5_check_are_not_answered_with_download_them_again(
        shared_data, tmp_path, monkeypatch, capsys):
    """Right after a download, 'fetch them again' would fetch the same files: the error says what they are."""
    batches = shared_data / "cifar-10-python" / "cifar-10-batches-py"
    files = {f"cifar-10-python/cifar-10-batches-py/{p.name}": p for p in sorted(batches.iterdir()) if p.is_file()}
    changed = tmp_path / "test_batch"
    changed.write_bytes(batches.joinpath("test_batch").read_bytes() + b"\n")  # still a loadable pickle
    files["cifar-10-python/cifar-10-batches-py/test_batch"] = changed
    files["cifar_test_nolabel.pkl"] = shared_data / "standin" / "cifar_test_nolabel.pkl"
    with FakeKaggle(data_files=files) as server:
        use_env(monkeypatch, server.sandbox_env(tmp_path / "client"))
        monkeypatch.chdir(tmp_path)
        assert main(["data", "download"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("error: data: 1 problem found; these are the files Kaggle serves, and they differ "
                              "from the official CIFAR-10 batches; `kaggle-kit data verify --no-md5`")
    assert "kaggle-kit data download" not in err[-1]


def test_a_dry_run_of_submit_from_names_submit_from_again_so_the_upload_keeps_the_runs(fake, comp, capsys,
                                                                                       monkeypatch):
    """The plain `submit FILE.csv` it printed before recorded no runs, recipe or prediction for the upload, which
    the report's corrections need; the command as typed, without its upload setting, records them."""
    import shlex

    monkeypatch.delenv("KAGGLE_KIT_DATA", raising=False)
    run = make_run(Path("runs/20250101-000000-a-1111111"), comp, 0, wrong=3)
    typed = ["submit", "--from", str(run), "-m", "run a", "--against", "comp/cifar_test_nolabel.pkl"]
    assert main([*typed, "--upload", "never"]) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    assert line == "to upload it: kaggle-kit " + shlex.join(typed)
    assert main(shlex.split(line.removeprefix("to upload it: "))[1:]) == 0
    rows = ledger.read_ledger("submissions/ledger.csv")
    assert rows.status.tolist() == ["dry-run", "COMPLETE"] and rows.runs.tolist() == [run.name] * 2
    assert rows.recipe.iloc[1] and rows.recipe.iloc[1] == rows.recipe.iloc[0]


def test_again_command_drops_only_the_upload_setting():
    from kaggle_kit.upload import again_command

    assert again_command(["submit", "a b.csv", "-m", "x", "--upload", "never", "--force"]) == \
        "kaggle-kit submit 'a b.csv' -m x --force"
    assert again_command(["submit", "s.csv", "-m", "x", "--upload=never"]) == "kaggle-kit submit s.csv -m x"
    assert again_command(["run", "p.yaml", "--set", "submit.upload=never", "--set", "train.epochs=2"],
                         ["--set", "submit.upload=auto"]) == \
        "kaggle-kit run p.yaml --set train.epochs=2 --set submit.upload=auto"
    assert again_command(["run", "p.yaml", "--set=submit.upload=never"]) == "kaggle-kit run p.yaml"


def test_an_upload_the_client_already_retried_for_minutes_is_not_retried_again(fake, comp, capsys, monkeypatch):
    """kaggle 2.2.4 retries a dropped PUT itself (10 times with backoff, about 6 minutes) before it answers 'Could
    not submit'; retrying that 5 times more took half an hour. A quick failure (a 503) is still retried."""
    fake.faults.append(Fault(status=503, times=None, method="upload"))
    monkeypatch.setattr(kaggle_api, "CLIENT_RETRIED_S", 0.0)  # every failure here counts as a long one
    assert submit(write_csv(Path("sub.csv"), comp["ids"], comp["labels"])) == 1
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith("error: the file upload for the submission of sub.csv failed (the kaggle client retried "
                          "its connection for 0 min)")
    assert sum(m == "upload" for m in methods(fake)) == 1 and fake.submissions == []


# ------------------------------------------------------------------------------------------ silent servers
STALL_S = 1.0  # the request timeout in these tests (KAGGLE_KIT_KAGGLE_TIMEOUT_S); the default is a minute


@pytest.fixture()
def quick_timeout(fake, monkeypatch):
    monkeypatch.setenv(kaggle_api.TIMEOUT_ENV, f"{STALL_S:g}")
    return fake


def test_a_file_upload_the_server_never_answers_fails_in_seconds_and_records_nothing(quick_timeout, comp, capsys):
    """kaggle 2.2.4 PUTs the file without a timeout: a server that accepted the PUT and went silent held `submit`
    forever. Now the PUT times out, is not retried by the client's own retries (10, over 6 minutes) nor by ours, and
    the command ends in one line naming it; the client's printed error does not reach the terminal."""
    fake = quick_timeout
    fake.faults.append(Fault(stall=True, times=None, method="upload"))
    csv = write_csv(Path("sub.csv"), comp["ids"], comp["labels"])
    t0 = time.monotonic()
    assert submit(csv) == 1
    assert time.monotonic() - t0 < 10 * STALL_S
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "error: the file upload for the submission of sub.csv got no answer in 1 s (the connection stayed open and "
        "silent); nothing was submitted; rerun the command later (KAGGLE_KIT_KAGGLE_TIMEOUT_S sets the wait)"]
    assert fake.calls == [("GetSubmissionLimits", 200), ("StartSubmissionUpload", 200), ("upload", None)]
    assert fake.submissions == [] and not Path("submissions/ledger.csv").exists()
    assert csv.exists()


@pytest.mark.parametrize("method, line", [
    ("GetSubmissionLimits", "Kaggle's GetSubmissionLimits call for the submission-limits request got no answer in "
                            "1 s (the connection stayed open and silent); check the network and Kaggle's status, "
                            "then rerun (KAGGLE_KIT_KAGGLE_TIMEOUT_S sets the wait)"),
    ("StartSubmissionUpload", "Kaggle's StartSubmissionUpload call for the submission of sub.csv got no answer in 1 s "
                              "(the connection stayed open and silent); nothing was submitted; rerun the command "
                              "later (KAGGLE_KIT_KAGGLE_TIMEOUT_S sets the wait)"),
])
def test_an_api_call_the_server_never_answers_fails_in_seconds(quick_timeout, comp, capsys, method, line):
    fake = quick_timeout
    fake.faults.append(Fault(stall=True, times=None, method=method))
    t0 = time.monotonic()
    assert submit(write_csv(Path("sub.csv"), comp["ids"], comp["labels"])) == 1
    assert time.monotonic() - t0 < 10 * STALL_S
    assert capsys.readouterr().err.splitlines() == ["error: " + line]
    assert fake.calls[-1] == (method, None) and sum(m == method for m in methods(fake)) == 1  # not retried
    assert fake.submissions == [] and not Path("submissions/ledger.csv").exists()


def test_a_silent_create_submission_that_took_effect_is_found_and_recorded(quick_timeout, comp, capsys):
    """Kaggle recorded the submission but never answered: the look among the recent submissions finds it, so the
    ledger gets its row (a rerun would spend a second slot on the same file)."""
    fake = quick_timeout
    fake.faults.append(Fault(stall=True, times=1, method="CreateSubmission", after=True))
    assert submit(write_csv(Path("sub.csv"), comp["ids"], comp["labels"])) == 0
    assert methods(fake) == ["GetSubmissionLimits", "StartSubmissionUpload", "upload", "CreateSubmission",
                             "ListSubmissions", "ListSubmissions"]
    row = ledger.read_ledger("submissions/ledger.csv").iloc[0]
    assert (row.kaggle_ref, row.status) == (str(fake.submissions[0].ref), "COMPLETE")


def test_a_silent_create_submission_that_lands_later_is_not_claimed_and_sync_records_it(quick_timeout, comp,
                                                                                       capsys):
    """Kaggle records the submission only after the command gave up on it (and looked for it): no ledger row claims
    it, the error says it may still arrive and to sync, and the sync then records it."""
    fake = quick_timeout
    fake.faults.append(Fault(status=None, times=1, method="CreateSubmission", delay_s=4 * STALL_S))
    csv = write_csv(Path("sub.csv"), comp["ids"], comp["labels"])
    assert submit(csv) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: Kaggle's CreateSubmission call for the submission of sub.csv got no answer in 1 s (the connection "
        "stayed open and silent); Kaggle may still record it: run `kaggle-kit sync` in a few minutes to see whether "
        "it arrived before submitting the file again (KAGGLE_KIT_KAGGLE_TIMEOUT_S sets the wait)"]
    assert not Path("submissions/ledger.csv").exists() and csv.exists()
    deadline = time.monotonic() + 30
    while not fake.submissions and time.monotonic() < deadline:
        time.sleep(0.1)
    assert main(["sync"]) == 0
    row = ledger.read_ledger("submissions/ledger.csv").iloc[0]
    assert (row.kaggle_ref, row.file, row.status) == (str(fake.submissions[0].ref), "sub.csv", "COMPLETE")


def test_a_silent_status_read_after_the_upload_keeps_the_row_pending(quick_timeout, comp, capsys):
    fake = quick_timeout
    fake.faults.append(Fault(stall=True, times=None, method="ListSubmissions"))
    assert submit(write_csv(Path("sub.csv"), comp["ids"], comp["labels"])) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("warning: could not read the new submission's status (Kaggle's ListSubmissions call for the "
                      "submission list got no answer in 1 s (the connection stayed open and silent); check the "
                      "network and Kaggle's status, then rerun (KAGGLE_KIT_KAGGLE_TIMEOUT_S sets the wait)); run "
                      "`kaggle-kit sync` later")
    row = ledger.read_ledger("submissions/ledger.csv").iloc[0]
    assert (row.kaggle_ref, row.status) == (str(fake.submissions[0].ref), "PENDING")
    t0 = time.monotonic()
    assert main(["sync"]) == 1
    assert time.monotonic() - t0 < 10 * STALL_S
    assert capsys.readouterr().err.startswith("error: Kaggle's ListSubmissions call for the submission list got no "
                                              "answer in 1 s")


def test_a_bad_timeout_setting_is_refused_before_any_call(fake, comp, capsys, monkeypatch):
    monkeypatch.setenv(kaggle_api.TIMEOUT_ENV, "soon")
    assert submit(write_csv(Path("sub.csv"), comp["ids"], comp["labels"])) == 2
    assert capsys.readouterr().err == ("error: KAGGLE_KIT_KAGGLE_TIMEOUT_S must be a number of seconds above 0, "
                                       "found 'soon'\n")
    assert fake.calls == []
