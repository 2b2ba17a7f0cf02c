"""Credentials detection (without importing kaggle), backoff, zip extraction and the fake server's scorer."""
from __future__ import annotations

import io
import json
import os
import random
import stat
import tempfile
import zipfile
from pathlib import Path

import pytest

from kaggle_kit import kaggle_api
from kaggle_kit.errors import CredentialsError, DataFormatError
from kaggle_kit.testing.fake_kaggle import public_ids, score_submission


@pytest.fixture()
def clean_env(tmp_path, monkeypatch):
    for var in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLE_KERNEL_RUN_TYPE", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(cfg))
    return cfg


def write(path, text, mode=0o600):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def test_no_credentials_anywhere(clean_env):
    assert kaggle_api.find_credentials() is None and not kaggle_api.has_credentials()
    with pytest.raises(CredentialsError) as err:
        kaggle_api.require_credentials()
    assert str(err.value) == ("no Kaggle credentials found; create an API token at https://www.kaggle.com/settings/api"
                              f" and save kaggle.json in {clean_env} (chmod 600), or set KAGGLE_USERNAME and "
                              "KAGGLE_KEY")


def test_sources_in_the_clients_order(clean_env, tmp_path, monkeypatch):
    write(clean_env / "kaggle.json", json.dumps({"username": "u", "key": "k"}))
    assert kaggle_api.find_credentials() == kaggle_api.CredentialSource("api key", str(clean_env / "kaggle.json"))
    monkeypatch.setenv("KAGGLE_USERNAME", "u2")
    monkeypatch.setenv("KAGGLE_KEY", "k2")
    assert kaggle_api.find_credentials().where == "KAGGLE_USERNAME/KAGGLE_KEY"
    token_file = write(tmp_path / "home" / ".kaggle" / "access_token", "tok\n")
    assert kaggle_api.find_credentials() == kaggle_api.CredentialSource("access token", str(token_file))
    monkeypatch.setenv("KAGGLE_API_TOKEN", "KGAT_abc")
    assert kaggle_api.find_credentials().where == "KAGGLE_API_TOKEN"


def test_env_pair_alone_and_half_pair(clean_env, monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", "u")
    with pytest.raises(CredentialsError) as err:
        kaggle_api.find_credentials()
    assert str(err.value) == (f"KAGGLE_USERNAME is set but KAGGLE_KEY is not; set both, or use a kaggle.json "
                              f"in {clean_env}")
    monkeypatch.setenv("KAGGLE_KEY", "k")
    assert kaggle_api.has_credentials()


def test_xdg_config_folder_when_no_dot_kaggle(clean_env, tmp_path, monkeypatch):
    monkeypatch.delenv("KAGGLE_CONFIG_DIR")
    write(tmp_path / "home" / ".config" / "kaggle" / "kaggle.json", json.dumps({"username": "u", "key": "k"}))
    assert kaggle_api.find_credentials().where == str(tmp_path / "home" / ".config" / "kaggle" / "kaggle.json")


def test_a_home_that_could_not_be_found_makes_no_tilde_folder_in_the_project(clean_env, tmp_path, monkeypatch):
    """A container user without a passwd entry and no HOME: '~' stays '~', and the client's import would make
    './~/.config/kaggle' in the project (a folder a later `rm -rf ~` typo deletes HOME with). It gets a private
    config folder instead; a real config folder, absolute or relative, is left to the client."""
    monkeypatch.delenv("KAGGLE_CONFIG_DIR")
    monkeypatch.setenv("HOME", "~")
    monkeypatch.chdir(tmp_path)
    with kaggle_api._makeable_config_dir() as env:
        assert not (tmp_path / "~").exists()
        assert env["KAGGLE_CONFIG_DIR"].startswith("/") and kaggle_api.kaggle_config_dir().parts[0] == "~"
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", "own")
    (tmp_path / "own").mkdir()
    with kaggle_api._makeable_config_dir() as env:
        assert env == {}
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "new" / "cfg"))
    with kaggle_api._makeable_config_dir() as env:
        assert env == {} and (tmp_path / "new" / "cfg").is_dir()


def test_the_spare_client_config_folder_is_fresh_private_and_removed(clean_env, tmp_path, monkeypatch):
    """Was a fixed name, $TMPDIR/kaggle-kit-client-config-<uid>, used as found: in a shared /tmp another user could
    make it first, with a kaggle.json of theirs for the client to read. Now each client gets a new private folder,
    removed once the client is made."""
    monkeypatch.delenv("KAGGLE_CONFIG_DIR")
    monkeypatch.setenv("HOME", "~")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again
    planted = tmp_path / "tmp" / f"kaggle-kit-client-config-{os.getuid()}"
    planted.mkdir(parents=True, mode=0o777)
    (planted / "kaggle.json").write_text('{"username": "someone-else", "key": "theirs"}')
    with kaggle_api._makeable_config_dir() as env:
        spare = Path(env["KAGGLE_CONFIG_DIR"])
        assert spare != planted and spare.parent == tmp_path / "tmp" and not any(spare.iterdir())
        assert stat.S_IMODE(spare.stat().st_mode) == 0o700
    assert not spare.exists()


FIX = "download a new kaggle.json from https://www.kaggle.com/settings/api or set KAGGLE_USERNAME and KAGGLE_KEY"


@pytest.mark.parametrize("text, mode, message", [
    ("{not json", 0o600, "{path} is not valid JSON; " + FIX),
    ('{"username": "u"}', 0o600, "{path} has no 'key' field; " + FIX),
    ('["u", "k"]', 0o600, "{path} is not a JSON object with 'username' and 'key'; " + FIX),
    ('{"username": "u", "key": "k"}', 0o644, "{path} is readable by other users; run `chmod 600 {path}` and rerun"),
    ('{"username": "u", "key": "k"}', 0o640, "{path} is readable by other users; run `chmod 600 {path}` and rerun"),
])
def test_broken_kaggle_json_is_one_line_error_via_cli(clean_env, tmp_path, capsys, text, mode, message):
    from kaggle_kit.cli import main

    path = write(clean_env / "kaggle.json", text, mode)
    assert main(["sync", "--ledger", str(tmp_path / "ledger.csv")]) == 2
    assert capsys.readouterr().err == "error: " + message.format(path=path) + "\n"


def test_env_pair_overrides_a_broken_file_but_not_an_exposed_one(clean_env, monkeypatch):
    path = write(clean_env / "kaggle.json", "{not json")
    monkeypatch.setenv("KAGGLE_USERNAME", "u")
    monkeypatch.setenv("KAGGLE_KEY", "k")
    assert kaggle_api.has_credentials()
    path.chmod(0o604)
    with pytest.raises(CredentialsError, match="readable by other users"):
        kaggle_api.has_credentials()


def test_backoff_is_exponential_bounded_and_jittered():
    policy = kaggle_api.RetryPolicy(attempts=6, base_delay_s=1.0, factor=2.0, max_delay_s=5.0, jitter=0.0)
    assert kaggle_api.backoff_delays(policy) == [1.0, 2.0, 4.0, 5.0, 5.0]
    jittered = kaggle_api.backoff_delays(kaggle_api.RetryPolicy(attempts=4, base_delay_s=1.0, jitter=0.25),
                                         random.Random(1))
    assert all(0.75 * 2 ** i <= d <= 1.25 * 2 ** i for i, d in enumerate(jittered)) and len(jittered) == 3


def test_retries_stop_at_the_bound_and_honour_retry_after():
    calls, slept = [], []

    def flaky():
        calls.append(1)
        raise _http_error(429, "Too Many Requests", retry_after="7")

    target = kaggle_api.Target("competition", "c", "the probe")
    with pytest.raises(Exception) as err:
        kaggle_api.with_retries(flaky, target, kaggle_api.RetryPolicy(attempts=3, max_delay_s=5.0),
                                sleep=slept.append, log=lambda _: None)
    assert len(calls) == 3 and slept == [5.0, 5.0]  # Retry-After 7 s, capped at max_delay_s
    assert str(err.value) == ("Kaggle kept answering 429 Too Many Requests to the probe after 3 attempts; "
                              "wait a few minutes and rerun")


def test_unzip_refuses_paths_outside_the_destination(tmp_path):
    archive = tmp_path / "evil.zip"
    archive.write_bytes(_zip_bytes({"ok.txt": b"fine", "../escape.txt": b"bad"}))
    with pytest.raises(DataFormatError) as err:
        kaggle_api._safe_extract(archive, tmp_path / "dest")
    assert str(err.value) == (f"evil.zip: member '../escape.txt' would be written outside {tmp_path / 'dest'}; "
                              f"refusing to unzip it")
    assert not (tmp_path / "escape.txt").exists()



# ------------------------------------------------------------------------------------------ the fake's scorer
SOLUTION = {i: i % 10 for i in range(100, 120)}
PUBLIC = public_ids(SOLUTION, 0.5, seed=3)


def csv_of(rows, header="ID,Labels"):
    return (header + "\n" + "".join(f"{a},{b}\n" for a, b in rows)).encode()


def test_public_split_is_fixed_and_a_fraction():
    assert len(PUBLIC) == 10 and PUBLIC == public_ids(dict(reversed(list(SOLUTION.items()))), 0.5, seed=3)
    assert PUBLIC != public_ids(SOLUTION, 0.5, seed=4)


def test_scores_public_and_private_separately():
    wrong = sorted(PUBLIC)[:2] + sorted(set(SOLUTION) - PUBLIC)[:1]
    rows = [(i, (lab + 1) % 10 if i in wrong else lab) for i, lab in SOLUTION.items()]
    score = score_submission(csv_of(rows), SOLUTION, PUBLIC)
    assert (score.status, score.public_score, score.private_score) == ("COMPLETE", "0.80000", "0.90000")


@pytest.mark.parametrize("data, error", [
    (b"", "Submission file is empty."),
    (csv_of([(i, 0) for i in SOLUTION], "ID,Label"),
     "Submission must have a column named 'Labels' (found: ID, Label)."),
    (csv_of([(i, 0) for i in list(SOLUTION)[:-1]]), "Submission must have 20 rows (found 19)."),
    (csv_of([(i, "cat" if i == 105 else 0) for i in SOLUTION]),
     "Could not parse 'cat' into expected type of Int32 for column 'Labels' (row 7)."),
    (csv_of([(i if i != 119 else 7, 0) for i in SOLUTION]),
     "Submission contains ID 7 which is not in the solution file."),
    (csv_of([(i if i != 119 else 100, 0) for i in SOLUTION]), "Submission contains duplicate ID 100."),
])
def test_malformed_csvs_end_as_errors(data, error):
    assert score_submission(data, SOLUTION, PUBLIC).__dict__ == {"status": "ERROR", "public_score": "",
                                                                 "private_score": "", "error": error}


def test_timeout_setting(monkeypatch):
    from kaggle_kit.errors import UsageError

    monkeypatch.delenv(kaggle_api.TIMEOUT_ENV, raising=False)
    assert kaggle_api.timeout_s() == 60.0
    monkeypatch.setenv(kaggle_api.TIMEOUT_ENV, " 2.5 ")
    assert kaggle_api.timeout_s() == 2.5
    for bad in ("0", "-1", "nan", "inf", "soon"):
        monkeypatch.setenv(kaggle_api.TIMEOUT_ENV, bad)
        with pytest.raises(UsageError, match=f"KAGGLE_KIT_KAGGLE_TIMEOUT_S must be a number of seconds above 0, "
                                             f"found '{bad}'"):
            kaggle_api.timeout_s()


def test_only_a_timeout_counts_as_silence_not_a_refused_or_dropped_connection():
    """urllib3's NewConnectionError (connection refused) subclasses ConnectTimeoutError: it must still be retried
    as before, and so must a dropped connection; a timeout, however requests and urllib3 wrap it, ends the call."""
    import requests
    from urllib3.exceptions import (ConnectTimeoutError, MaxRetryError, NewConnectionError, ProtocolError,
                                    ReadTimeoutError)

    read = ReadTimeoutError(None, "/x", "Read timed out.")
    assert kaggle_api._timed_out(requests.ConnectionError(MaxRetryError(None, "/x", read)))
    assert kaggle_api._timed_out(requests.ReadTimeout(read))
    assert kaggle_api._timed_out(ProtocolError("Connection aborted.", TimeoutError("The write operation timed out")))
    assert kaggle_api._timed_out(MaxRetryError(None, "/x", ConnectTimeoutError(None, "connect timed out")))
    refused = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    assert not kaggle_api._timed_out(requests.ConnectionError(MaxRetryError(None, "/x", refused)))
    assert not kaggle_api._timed_out(ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")))


@pytest.mark.parametrize("env", ["PROD", "LOCAL"])
def test_a_silent_request_is_named_by_its_api_method_on_kaggle_itself(env):
    """The timeout's message and submit's look for a recorded submission go by the method that went silent. On
    Kaggle itself the client's URLs are https://api.kaggle.com/v1/<service>/<Method>, with no /api/ (only the fake
    and other local setups have /api/v1/), so every silent call there was taken for a 'file download': a silent
    CreateSubmission got no look and advice to rerun, which may spend a second daily slot."""
    import requests
    from kagglesdk.kaggle_env import KaggleEnv
    from kagglesdk.kaggle_http_client import KaggleHttpClient

    url = KaggleHttpClient(env=getattr(KaggleEnv, env))._get_request_url("competitions.CompetitionApiService",
                                                                         "CreateSubmission")
    assert kaggle_api._request_name(requests.Request("POST", url).prepare()) == "CreateSubmission"
    for method, name in (("PUT", "file upload"), ("GET", "file download")):
        signed = "https://storage.googleapis.com/kaggle-competitions/v1/a.b/c.zip?X-Goog-Signature=1"
        assert kaggle_api._request_name(requests.Request(method, signed).prepare()) == name


@pytest.mark.parametrize("order", [["a/", "a"], ["a", "a/"]])
def test_a_file_and_a_folder_of_one_name_are_a_clash_in_either_order(tmp_path, order):
    """The duplicate check counted a folder entry as a copy of the file of the same name, so 'a/' then 'a' was
    'appears twice' (a file is not in the archive twice) while 'a' then 'a/' was the clash it is."""
    archive = tmp_path / "x.zip"
    archive.write_bytes(_zip_bytes({name: b"" if name.endswith("/") else b"data" for name in order}))
    (tmp_path / "dest").mkdir()
    with pytest.raises(DataFormatError, match="clashes with another member \\(a file and a folder of the same name\\)"):
        kaggle_api._safe_extract(archive, tmp_path / "dest")


def test_a_file_twice_is_refused_whatever_its_spelling(tmp_path):
    archive = tmp_path / "x.zip"
    archive.write_bytes(_zip_bytes({"d/a": b"1", "d//a": b"2"}))
    (tmp_path / "dest").mkdir()
    with pytest.raises(DataFormatError, match="member 'd//a' appears twice"):
        kaggle_api._safe_extract(archive, tmp_path / "dest")
    assert list((tmp_path / "dest").iterdir()) == []


def _fake_client(monkeypatch, **methods):
    """``_call`` on a stand-in for the kaggle client with these methods (no import of kaggle, no network)."""
    from types import SimpleNamespace

    monkeypatch.delenv(kaggle_api.TIMEOUT_ENV, raising=False)
    monkeypatch.setattr(kaggle_api, "_client", lambda: SimpleNamespace(**methods))


def _listed(ref, public="", private="", when=None, name="s.csv", description="m"):
    from datetime import datetime
    from types import SimpleNamespace

    return SimpleNamespace(ref=ref, date=when or datetime(2026, 12, 2, 7, 0), description=description,
                           file_name=name, status=SimpleNamespace(name="COMPLETE"), public_score=public,
                           private_score=private, error_description=None)


def test_the_submission_list_reads_every_page_from_one_with_scores_and_utc_dates(monkeypatch):
    """Pages counted from 0, public and private scores swapped, or the client's naive UTC dates written without
    their zone (read as local time away from UTC) would each make `sync` record something Kaggle did not say."""
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        pages = {1: [_listed(3, "0.81", "0.79"), _listed(2)], 2: [_listed(1, "0.7")], 3: [_listed(1, "0.7")]}
        _fake_client(monkeypatch, competition_submissions=lambda comp, page_number, page_size: pages.get(page_number))
        got = kaggle_api.list_submissions("comp", page_size=2)
        assert [s.ref for s in got] == ["3", "2", "1"]
        assert got[0] == kaggle_api.RemoteSubmission(ref="3", date="2026-12-02T07:00:00+00:00", description="m",
                                                     file_name="s.csv", status="COMPLETE", public_score="0.81",
                                                     private_score="0.79", error_description="")
    finally:
        monkeypatch.undo()  # the variable, and the zone that time.tzset() read from it
        time.tzset()


def test_submission_limits_keep_todays_and_the_total_count_apart(monkeypatch):
    """Swapping num_today and num_total would tell the user the wrong count in a limit refusal."""
    from types import SimpleNamespace

    answer = SimpleNamespace(num_today="2", num_total="7", num_allowed_now="3", limited_by_total=0)
    _fake_client(monkeypatch, competition_get_submission_limits=lambda comp: answer)
    assert kaggle_api.submission_limits("comp") == kaggle_api.Limits(2, 7, 3, False)


def test_a_lost_reply_is_found_only_as_the_same_file_and_message_since_the_upload():
    """Matching the file name alone would take an earlier submission of that file for the one whose reply was lost,
    and record a ref that is not this upload's."""
    from datetime import datetime, timezone
    from types import SimpleNamespace

    since = datetime(2026, 12, 2, 6, 0, tzinfo=timezone.utc)
    listed = [_listed(9, description="other"), _listed(8, when=datetime(2026, 12, 2, 5, 0)), _listed(7)]
    api = SimpleNamespace(competition_submissions=lambda comp, page_size: listed)
    assert kaggle_api._recent_ref(api, "comp", "s.csv", "m", since) == "7"
    assert kaggle_api._recent_ref(api, "comp", "s.csv", "new", since) is None


def test_an_interrupt_after_a_failed_upload_has_no_ref_to_record():
    """Taking the failed upload's reply for an accepted one would record a ref for a file Kaggle never got."""
    from types import SimpleNamespace

    assert kaggle_api._accepted_ref(SimpleNamespace(message=kaggle_api.UPLOAD_FAILED, ref=0)) is None
    assert kaggle_api._accepted_ref(SimpleNamespace(message="", ref=42)) == "42"


@pytest.mark.parametrize("code, text, kind, words", [
    (500, "boom", "KaggleError", "Kaggle answered 500 (boom) to the probe; Kaggle may be down, rerun later"),
    (400, "Submission Allowance exceeded", "SubmissionLimitError",
     "Kaggle refused the probe: Submission Allowance exceeded"),
    (400, "x" * 300, "KaggleError", f"Kaggle refused the probe (400: {'x' * 197}...)"),
])
def test_http_errors_map_to_one_line_of_the_right_kind(code, text, kind, words):
    """A 500 taken for a refusal, 'Allowance' missed for its capital, or a clipped text longer than its limit would
    each give the user the wrong line."""
    err = kaggle_api.map_error(_http_error(code, text), kaggle_api.Target("competition", "c", "the probe"))
    assert (type(err).__name__, str(err)) == (kind, words)


def test_only_a_quick_failed_upload_is_retried_and_timeouts_only_shortened():
    """Retrying an upload the client already retried for minutes would repeat them; a longer timeout kept (max for
    min) would let a silent server hold the call past KAGGLE_KIT_KAGGLE_TIMEOUT_S."""
    assert kaggle_api._is_transient(kaggle_api.UploadFailed("x", 5.0))
    assert not kaggle_api._is_transient(kaggle_api.UploadFailed("x", 120.0))
    assert (kaggle_api._capped(300, 60.0), kaggle_api._capped(5, 60.0)) == (60.0, 5)
    assert kaggle_api._capped(None, 60.0) == 60.0 and kaggle_api._capped((5, None), 60.0) == (5, 60.0)


def _http_error(code, text="no", retry_after=None):
    import requests

    response = requests.Response()
    response.status_code = code
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return requests.HTTPError(text, response=response)


@pytest.mark.parametrize("code, calls", [(429, 3), (500, 3), (502, 3), (503, 3), (504, 3), (None, 3),
                                         (400, 1), (403, 1), (404, 1)])
def test_only_429_5xx_and_a_lost_connection_are_retried_with_the_backoff(code, calls):
    """A status dropped from the retried set, a 4xx retried, a lost connection not retried, or the backoff read one
    wait ahead would each change how many times Kaggle is asked and how long the user waits."""
    import requests

    tried, slept = [], []

    def fails():
        tried.append(1)
        raise requests.ConnectionError("reset") if code is None else _http_error(code)

    policy = kaggle_api.RetryPolicy(attempts=3, base_delay_s=1.0, factor=2.0, jitter=0.0)
    with pytest.raises(Exception):
        kaggle_api.with_retries(fails, kaggle_api.Target("competition", "c", "the probe"), policy,
                                sleep=slept.append, log=lambda _: None)
    assert len(tried) == calls and slept == [1.0, 2.0][:calls - 1]


def test_a_retry_after_in_the_past_or_unreadable_is_no_wait_or_the_backoff():
    """A negative Retry-After passed on unclipped would make time.sleep raise a bare ValueError mid-retry."""
    assert kaggle_api._retry_after(_http_error(503, retry_after="-3"), 60.0) == 0.0
    assert kaggle_api._retry_after(_http_error(503, retry_after="soon"), 60.0) is None


@pytest.mark.parametrize("kind, name, make, words", [
    ("competition", "c", lambda: _http_error(403), "Kaggle refused the probe (403: no); check --competition: Kaggle "
     f"answers 403 for a competition that does not exist (this toolkit's is {kaggle_api.COMPETITION_SLUG}); if the "
     "name is right, join it and accept its rules at https://www.kaggle.com/competitions/c/rules, then rerun"),
    ("competition", kaggle_api.COMPETITION_SLUG, lambda: _http_error(403), "Kaggle refused the probe (403: no); "
     f"accept the competition's rules at https://www.kaggle.com/competitions/{kaggle_api.COMPETITION_SLUG}/rules, "
     "then rerun"),
    ("kernel", "u/k", lambda: _http_error(403), "Kaggle refused the probe (403: no); check that kernel 'u/k' exists "
     "and belongs to your account"),
    ("competition", "c", lambda: _http_error(404), "competition 'c' was not found on Kaggle (404); check "
     f"--competition (this toolkit's competition is {kaggle_api.COMPETITION_SLUG})"),
    ("kernel", "u/k", lambda: _http_error(404), "kernel 'u/k' was not found on Kaggle (404); check the name or push "
     "it first with `kaggle-kit kernel push`"),
    ("kernel", "u/k", lambda: ValueError("Kernel is private. Ask its owner."), "the probe failed: Kernel is private"),
    ("competition", "c", lambda: kaggle_api.UploadFailed(kaggle_api.UPLOAD_FAILED, 360.0), "the file upload for the "
     "probe failed (the kaggle client retried its connection for 6 min) (Kaggle: 'Could not submit to "
     "competition'); nothing was submitted, rerun the command later"),
    ("competition", "c", lambda: kaggle_api.UploadFailed(kaggle_api.UPLOAD_FAILED, 5.0), "the file upload for the "
     "probe failed (Kaggle: 'Could not submit to competition'); nothing was submitted, rerun the command later"),
])
def test_refusals_say_what_to_do_for_a_competition_or_a_kernel(kind, name, make, words):
    """A 403 or 404 worded for the wrong kind of target, the advice for the toolkit's own competition and another
    swapped, a client ValueError shown raw, or a quick upload failure said to be the client's minutes of retries."""
    assert str(kaggle_api.map_error(make(), kaggle_api.Target(kind, name, "the probe"))) == words


def test_a_half_pair_names_the_variable_that_is_set(clean_env, monkeypatch):
    """A fixed have/lack pair would tell a user who set only KAGGLE_KEY to set KAGGLE_KEY."""
    monkeypatch.setenv("KAGGLE_KEY", "k")
    with pytest.raises(CredentialsError, match="^KAGGLE_KEY is set but KAGGLE_USERNAME is not; "):
        kaggle_api.find_credentials()


def test_dot_kaggle_wins_over_the_xdg_folder_and_only_a_kernel_reads_its_token_file(clean_env, tmp_path,
                                                                                     monkeypatch):
    """Reading ~/.config/kaggle although ~/.kaggle exists, a kernel's token file taken outside a kernel, or an empty
    KAGGLE_API_TOKEN file taken for a token would each name credentials the client does not use."""
    monkeypatch.delenv("KAGGLE_CONFIG_DIR")
    legacy = write(tmp_path / "home" / ".kaggle" / "kaggle.json", json.dumps({"username": "u", "key": "k"}))
    write(tmp_path / "home" / ".config" / "kaggle" / "kaggle.json", json.dumps({"username": "x", "key": "y"}))
    assert kaggle_api.find_credentials().where == str(legacy)
    legacy.unlink()
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Batch")
    monkeypatch.delenv("KAGGLE_DATA_PROXY_URL", raising=False)
    monkeypatch.setenv("KAGGLE_API_V1_TOKEN", str(write(tmp_path / "v1_token", "tok")))
    monkeypatch.setenv("KAGGLE_API_TOKEN", str(write(tmp_path / "empty_token", "")))
    assert kaggle_api._token_source() is None


def test_a_password_protected_member_or_an_archive_larger_than_the_free_space_is_refused(tmp_path, monkeypatch):
    """Checking another flag bit would leave a password-protected member to zipfile's bare RuntimeError half way;
    summing compressed sizes would let 3 MiB of zeros (a zip bomb in small) fill a disk with 1 MiB free."""
    from types import SimpleNamespace

    from kaggle_kit.errors import KaggleError

    (tmp_path / "dest").mkdir()
    data = bytearray(_zip_bytes({"a.bin": b"x"}))
    for header, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # the encryption bit, as a password sets it
        data[data.index(header) + at] |= 0x1
    (tmp_path / "locked.zip").write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match="^locked.zip: member 'a.bin' is password-protected, "):
        kaggle_api._safe_extract(tmp_path / "locked.zip", tmp_path / "dest")
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", bytes(3 << 20))
    monkeypatch.setattr(kaggle_api.shutil, "disk_usage", lambda _: SimpleNamespace(free=1 << 20))
    with pytest.raises(KaggleError) as err:
        kaggle_api._safe_extract(tmp_path / "bomb.zip", tmp_path / "dest")
    assert str(err.value) == (f"bomb.zip: unzipping it needs 3 MiB but only 1 MiB are free where {tmp_path / 'dest'} "
                              f"is; free some space or choose another --dest")
    assert list((tmp_path / "dest").iterdir()) == []


def test_a_server_that_ignores_the_page_number_is_read_once_more_not_forty_times(monkeypatch):
    """Stopping only at an empty page would ask a server that repeats its first page for all 40 pages."""
    asked = []

    def same_page(comp, page_number, page_size):
        asked.append(page_number)
        return [_listed(2), _listed(1)]

    _fake_client(monkeypatch, competition_submissions=same_page)
    assert [s.ref for s in kaggle_api.list_submissions("comp")] == ["2", "1"] and asked == [1, 2]


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _downloads(monkeypatch, files: dict[str, bytes]) -> None:
    """A stand-in client whose competition download writes ``files`` where it is told to."""
    def download(competition, path, force, quiet):
        for name, data in files.items():
            (Path(path) / name).write_bytes(data)

    _fake_client(monkeypatch, competition_download_files=download)


def test_a_download_moves_the_zips_files_in_and_leaves_no_staging_folder(tmp_path, monkeypatch):
    _downloads(monkeypatch, {"c.zip": _zip_bytes({"a.txt": b"A", "sub/b.bin": b"B"})})
    dest = kaggle_api.download_competition_data(tmp_path / "D")
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*")) == ["a.txt", "sub", "sub/b.bin"]
    assert (dest / "a.txt").read_bytes() == b"A" and (dest / "sub" / "b.bin").read_bytes() == b"B"


@pytest.mark.parametrize("files, error", [
    ({"c.zip": _zip_bytes({"ok.txt": b"1", "../x.txt": b"2"})}, "c.zip: member '../x.txt' would be written outside "),
    ({"c.csv": b"1"}, "the download of deep-learning-spring-2025-project-1 did not produce a zip \\(found: c.csv\\); "
                      "rerun it"),
])
def test_a_failed_download_is_one_line_and_removes_every_folder_it_made(tmp_path, monkeypatch, files, error):
    """Removing only the data folder itself (not the highest folder made), none, or unzipping whatever the client
    wrote (not only zips) would leave folders behind or say the archive is corrupt."""
    from kaggle_kit.errors import KitError

    _downloads(monkeypatch, files)
    with pytest.raises(KitError, match=f"^{error}"):
        kaggle_api.download_competition_data(tmp_path / "new" / "D")
    assert list(tmp_path.iterdir()) == [] and not (tmp_path.parent / "x.txt").exists()


def test_the_jitter_goes_both_ways_and_a_client_valueerror_is_one_line_at_once():
    """Jitter only upwards would lengthen every wait; a ValueError of the client's own checks left out of the retry
    loop would end the command with its traceback instead of one line."""
    from types import SimpleNamespace

    from kaggle_kit.errors import KaggleError

    policy = kaggle_api.RetryPolicy(attempts=2, base_delay_s=1.0, jitter=0.25)
    assert [kaggle_api.backoff_delays(policy, SimpleNamespace(random=lambda: r))[0] for r in (0.0, 1.0)] == [0.75, 1.25]
    calls = []

    def refused():
        calls.append(1)
        raise ValueError("Kernel is private. Ask its owner.")

    with pytest.raises(KaggleError, match="^the probe failed: Kernel is private$"):
        kaggle_api.with_retries(refused, kaggle_api.Target("kernel", "u/k", "the probe"), policy, sleep=None)
    assert calls == [1]


def test_an_oauth_login_is_used_when_kaggle_json_is_broken(clean_env, tmp_path):
    """Raising for the broken kaggle.json although the client would sign in with the OAuth login instead."""
    write(clean_env / "kaggle.json", "{not json")
    login = write(tmp_path / "home" / ".kaggle" / "credentials.json", json.dumps({"refresh_token": "r"}))
    assert kaggle_api.find_credentials() == kaggle_api.CredentialSource("oauth", str(login))


def test_a_download_whose_move_and_undo_both_fail_keeps_the_old_files_where_its_error_says(tmp_path, monkeypatch):
    """Removing the staging folder whatever happened would delete the only copy of a file the move took out of the
    data folder, which the error says to find in replaced/."""
    import errno

    from kaggle_kit.errors import KitError

    dest = tmp_path / "D"
    dest.mkdir()
    (dest / "a.txt").write_text("old")
    _downloads(monkeypatch, {"c.zip": _zip_bytes({"a.txt": b"new"})})
    real, renames = os.replace, []

    def replace(a, b):  # the old file goes aside, then the disk turns read-only
        if Path(b).name != "journal.json":
            renames.append(b)
            if len(renames) > 1:
                raise OSError(errno.EROFS, "Read-only file system")
        real(a, b)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(KitError, match="nor put back the files it replaced"):
        kaggle_api.download_competition_data(dest)
    [staging] = dest.glob(".download-*")
    assert (staging / "replaced" / "a.txt").read_text() == "old" and not (dest / "a.txt").exists()


def test_the_fakes_credentials_set_a_real_token_aside_and_every_variable_comes_back(tmp_path, monkeypatch):
    """Keeping KAGGLE_API_TOKEN would make the client send the user's real token to the fake; leaving a variable the
    block set (a spare KAGGLE_CONFIG_DIR, since deleted) would point every later call elsewhere."""
    monkeypatch.setenv("KAGGLE_API_TOKEN", "real")
    for var in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR", "KAGGLE_API_ENVIRONMENT"):
        monkeypatch.delenv(var, raising=False)
    with kaggle_api.kaggle_env(1234, tmp_path, "u", "k"):
        assert "KAGGLE_API_TOKEN" not in os.environ and os.environ["KAGGLE_USERNAME"] == "u"
        assert os.environ["HTTP_PROXY"] == "http://127.0.0.1:1234"
    assert os.environ["KAGGLE_API_TOKEN"] == "real"
    assert not {"KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR", "KAGGLE_API_ENVIRONMENT"} & set(os.environ)


def test_sync_prints_the_ledger_and_what_changed_and_exits_0(clean_env, tmp_path, monkeypatch, capsys):
    """A dropped ledger path in the line, or a non-zero exit after a good sync, would mislead a script or a user."""
    from types import SimpleNamespace

    from kaggle_kit import upload
    from kaggle_kit.cli import main

    monkeypatch.setenv("KAGGLE_USERNAME", "u")
    monkeypatch.setenv("KAGGLE_KEY", "k")
    monkeypatch.setattr(upload, "sync_ledger", lambda comp, ledger: SimpleNamespace(describe=lambda: f"{comp} synced"))
    assert main(["sync", "--ledger", "L.csv", "--competition", "c-1"]) == 0
    assert capsys.readouterr().out == "L.csv: c-1 synced\n"
