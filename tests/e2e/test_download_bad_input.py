"""`kaggle-kit data download` on bad input: a corrupt or hostile competition zip, a refused download, a file
as --dest. Each ends in one `error:` line and leaves nothing behind (D is removed when the command made it).

The fake server hands out whatever zip its state's archive points to; the real kaggle client downloads it.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from kaggle_kit import kaggle_api
from kaggle_kit.cli import main
from kaggle_kit.config import COMPETITION_SLUG
from kaggle_kit.testing import unprivileged, use_env
from kaggle_kit.testing.fake_kaggle import Fault, FakeKaggle, FakeKaggleConfig, write_competition

SLUG = COMPETITION_SLUG


@pytest.fixture()
def fake(tmp_path, monkeypatch):
    comp = write_competition(tmp_path / "comp", 20)
    server = FakeKaggle(FakeKaggleConfig(labels_csv=comp["labels_csv"],
                                         data_files={"cifar_test_nolabel.pkl": comp["pickle"]})).start()
    use_env(monkeypatch, server.sandbox_env(tmp_path / "client"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    fast = kaggle_api.RetryPolicy(attempts=2, base_delay_s=0.01, jitter=0.0, max_delay_s=0.02)
    monkeypatch.setattr(kaggle_api, "DEFAULT_RETRY", fast)
    yield server
    server.stop()


def serve_zip(server: FakeKaggle, path: Path) -> None:
    server.state._archive = path  # the archive the server answers DownloadDataFiles with


def make_zip(path: Path, members: list[tuple[str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(name), data)
    return path


def bad_crc_zip(path: Path) -> Path:
    make_zip(path, [("good.txt", b"good data\n"), ("bad.txt", b"PAYLOAD-TO-BREAK\n")])
    raw = path.read_bytes()
    at = raw.index(b"PAYLOAD-TO-BREAK")
    path.write_bytes(raw[:at] + b"X" + raw[at + 1:])  # same length, wrong CRC-32
    return path


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    return lines[0]


def test_corrupt_member_is_one_line_and_leaves_nothing(fake, tmp_path, capsys):
    serve_zip(fake, bad_crc_zip(tmp_path / "bad.zip"))
    assert main(["data", "download", "--dest", "D"]) == 1
    line = one_error_line(capsys)
    assert "the downloaded archive is corrupt; download it again" in line and "Bad CRC-32" in line
    assert sorted(p.name for p in Path.cwd().iterdir()) == []  # no D, no D/good.txt, no staging folder


def test_corrupt_archive_keeps_an_existing_dest_as_it_was(fake, tmp_path, capsys):
    serve_zip(fake, bad_crc_zip(tmp_path / "bad.zip"))
    Path("D").mkdir()
    Path("D/mine.txt").write_text("kept")
    assert main(["data", "download", "--dest", "D"]) == 1
    one_error_line(capsys)
    assert sorted(p.name for p in Path("D").iterdir()) == ["mine.txt"]
    assert sorted(p.name for p in Path.cwd().iterdir()) == ["D"]


def test_not_a_zip_is_corrupt(fake, tmp_path, capsys):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 this is not really a zip")
    serve_zip(fake, junk)
    assert main(["data", "download", "--dest", "D"]) == 1
    assert "the downloaded archive is corrupt; download it again" in one_error_line(capsys)
    assert list(Path.cwd().iterdir()) == []


def test_truncated_zip_is_corrupt(fake, tmp_path, capsys):
    full = make_zip(tmp_path / "full.zip", [("a.txt", b"a" * 5000), ("b.txt", b"b" * 5000)]).read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(full[:3000])
    serve_zip(fake, cut)
    assert main(["data", "download", "--dest", "D"]) == 1
    assert "the downloaded archive is corrupt; download it again" in one_error_line(capsys)
    assert list(Path.cwd().iterdir()) == []


@pytest.mark.parametrize("evil", ["../../slip_data.txt", "/tmp/abs_slip_data.txt", "sub/../../slip.txt",
                                  "..\\slip.txt"])
def test_unsafe_member_refuses_the_whole_archive(fake, tmp_path, capsys, evil):
    serve_zip(fake, make_zip(tmp_path / "evil.zip", [("good.txt", b"first member\n"), (evil, b"escaped\n")]))
    assert main(["data", "download", "--dest", "D"]) == 2
    line = one_error_line(capsys)
    assert evil in line and "refusing to unzip" in line
    assert list(Path.cwd().iterdir()) == []  # not even the first (good) member was extracted
    assert not (tmp_path / "slip_data.txt").exists() and not Path("/tmp/abs_slip_data.txt").exists()


def test_good_archive_merges_into_an_existing_dest(fake, tmp_path, capsys):
    serve_zip(fake, make_zip(tmp_path / "ok.zip", [("sub/a.txt", b"a"), ("b.txt", b"b")]))
    Path("D").mkdir()
    Path("D/mine.txt").write_text("kept")
    main(["data", "download", "--dest", "D"])  # `data verify` then reports the missing batches
    capsys.readouterr()
    assert sorted(str(p.relative_to("D")) for p in Path("D").rglob("*")) == ["b.txt", "mine.txt", "sub",
                                                                             "sub/a.txt"]
    assert sorted(p.name for p in Path.cwd().iterdir()) == ["D"]


def test_download_without_dest_unpacks_where_kaggle_kit_data_points(fake, tmp_path, capsys, monkeypatch):
    """Every other command reads only $KAGGLE_KIT_DATA when it is set, so `data download` puts the files there too
    (into ./data, the next `kaggle-kit run` would not have found them)."""
    serve_zip(fake, make_zip(tmp_path / "ok.zip", [("b.txt", b"b")]))
    monkeypatch.setenv("KAGGLE_KIT_DATA", "kdata")
    main(["data", "download"])  # `data verify` then reports the missing batches
    capsys.readouterr()
    assert sorted(p.name for p in Path.cwd().iterdir()) == ["kdata"] and Path("kdata/b.txt").read_bytes() == b"b"


def test_refused_download_removes_the_dest_it_made(fake, capsys):
    fake.config.rules_accepted = False
    assert main(["data", "download", "--dest", "D/nested"]) == 1
    assert one_error_line(capsys).startswith(f"error: Kaggle refused the download of {SLUG}'s data (403")
    assert list(Path.cwd().iterdir()) == []


@pytest.mark.parametrize("status", [403, 404])
def test_unknown_competition_removes_the_dest_it_made(fake, capsys, status):
    fake.config.unknown_competition_status = status
    assert main(["data", "download", "--dest", "D", "--competition", "no-such-comp"]) == 1
    line = one_error_line(capsys)
    assert ("check --competition" in line) and (f"({status}" in line), line
    assert list(Path.cwd().iterdir()) == []


def test_refused_download_keeps_an_existing_dest(fake, capsys):
    fake.config.rules_accepted = False
    Path("D").mkdir()
    assert main(["data", "download", "--dest", "D"]) == 1
    one_error_line(capsys)
    assert Path("D").is_dir() and list(Path("D").iterdir()) == []


def test_dest_that_is_a_file_is_a_usage_error_before_any_call(fake, capsys):
    Path("afile").write_text("not a folder")
    assert main(["data", "download", "--dest", "afile"]) == 2
    line = one_error_line(capsys)
    assert line.startswith("error: afile: is a file, not a folder")
    assert fake.calls == []
    assert Path("afile").read_text() == "not a folder"


def test_dest_under_a_file_is_a_usage_error_before_any_call(fake, capsys):
    Path("afile").write_text("x")
    assert main(["data", "download", "--dest", "afile/D"]) == 2
    assert "afile" in one_error_line(capsys)
    assert fake.calls == []


@pytest.fixture()
def no_client_backoff(monkeypatch):
    """The kaggle client sleeps 2, 4, 8 ... s between its own retries of a cut-off file download (through
    ``time.sleep``: its module cannot be imported before the client is configured)."""
    import time

    real_sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda s: real_sleep(min(s, 0.01)))


def test_download_cut_off_half_way_is_resumed_to_the_whole_file(fake, no_client_backoff, tmp_path, capsys):
    big = tmp_path / "big.bin"  # over the client's 1 MiB chunk, so that the cut-off part reaches the disk
    big.write_bytes(np.random.default_rng(0).integers(0, 256, 3 << 20, dtype=np.uint8).tobytes())
    fake.config.data_files = {**fake.config.data_files, "big.bin": big}
    fake.config.faults.append(Fault(body_bytes=(3 << 20) // 2, times=1, method="file"))
    main(["data", "download", "--dest", "D"])  # `data verify` then reports the missing batches
    capsys.readouterr()
    assert Path("D/big.bin").read_bytes() == big.read_bytes()
    assert [c for c in fake.calls if c[0] == "file"] == [("file", 200), ("file", 206)]  # the client resumed it
    assert sorted(p.name for p in Path.cwd().iterdir()) == ["D"]  # no partial file or staging folder


def test_download_cut_off_every_time_is_one_line_and_leaves_nothing(fake, no_client_backoff, capsys):
    fake.config.faults.append(Fault(body_bytes=1000, times=None, method="file"))
    assert main(["data", "download", "--dest", "D"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith(f"error: could not reach Kaggle for the download of {SLUG}'s data"), err
    assert "Traceback" not in "\n".join(err)
    assert list(Path.cwd().iterdir()) == []


def test_a_resumed_download_that_goes_silent_ends_after_the_timeout(fake, no_client_backoff, capsys, monkeypatch):
    """The client resumes a cut-off download with its own timeout of 300 s per read, which the silence limit left
    alone: a server that then said nothing held `data download` for 5 x 300 s, not KAGGLE_KIT_KAGGLE_TIMEOUT_S."""
    import time

    monkeypatch.setenv(kaggle_api.TIMEOUT_ENV, "1")
    fake.config.faults.append(Fault(body_bytes=1000, times=1, method="file"))
    fake.config.faults.append(Fault(stall=True, times=None, method="file"))
    t0 = time.monotonic()
    assert main(["data", "download", "--dest", "D"]) == 1
    assert time.monotonic() - t0 < 30
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("error: ") and "Traceback" not in "\n".join(err), err
    assert list(Path.cwd().iterdir()) == []


def encrypted_zip(path: Path) -> Path:
    """A zip whose second member is flagged as password-protected (ZipCrypto), as `zip -e` writes it."""
    make_zip(path, [("good.txt", b"first member\n"), ("secret.txt", b"locked\n")])
    raw = bytearray(path.read_bytes())
    local = raw.index(b"PK\x03\x04", 1)  # the second member's local header
    central = raw.index(b"PK\x01\x02", raw.index(b"PK\x01\x02") + 1)  # and its central-directory entry
    raw[local + 6] |= 1
    raw[central + 8] |= 1
    path.write_bytes(bytes(raw))
    return path


def test_password_protected_member_refuses_the_whole_archive(fake, tmp_path, capsys):
    serve_zip(fake, encrypted_zip(tmp_path / "locked.zip"))
    assert main(["data", "download", "--dest", "D"]) == 2
    line = one_error_line(capsys)  # was a RuntimeError traceback from zipfile
    assert "member 'secret.txt' is password-protected" in line and "refusing to unzip" in line, line
    assert list(Path.cwd().iterdir()) == []


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_member_named_twice_refuses_the_whole_archive(fake, tmp_path, capsys):
    serve_zip(fake, make_zip(tmp_path / "twice.zip", [("a.txt", b"first"), ("b.txt", b"b"), ("a.txt", b"second")]))
    assert main(["data", "download", "--dest", "D"]) == 2
    line = one_error_line(capsys)  # was: the last copy silently won (another unzip tool may keep the first)
    assert "member 'a.txt' appears twice" in line and "refusing to unzip" in line, line
    assert list(Path.cwd().iterdir()) == []


def test_archive_larger_than_the_free_space_is_refused_before_unzipping(fake, tmp_path, capsys, monkeypatch):
    """A zip bomb: 64 MiB of zeros in a 64 KiB zip, on a disk with 16 MiB free (the free space is all that is
    simulated: filling a real disk would fill it for everyone)."""
    import shutil

    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("zeros.bin", "w") as out:
        for _ in range(64):
            out.write(bytes(1 << 20))
    assert bomb.stat().st_size < 1 << 17
    serve_zip(fake, bomb)
    real_usage = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real_usage(p)._replace(free=16 << 20))
    assert main(["data", "download", "--dest", "D"]) == 1
    line = one_error_line(capsys)
    assert line == (f"error: {SLUG}.zip: unzipping it needs 64 MiB but only 16 MiB are free where D is; "
                    "free some space or choose another --dest"), line
    assert list(Path.cwd().iterdir()) == []


def cifar_members(folder: str, n: int = 10) -> list[tuple[str, bytes]]:
    """Tiny CIFAR-10 batches under ``folder`` in the archive (their md5s are not the official ones)."""
    import pickle

    rng = np.random.default_rng(n)
    return [(f"{folder}/{name}", pickle.dumps({b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                                               b"labels": list(range(n))}, protocol=2))
            for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]]


def test_download_of_another_layout_over_an_older_one_is_not_silently_ignored(fake, tmp_path, capsys):
    serve_zip(fake, make_zip(tmp_path / "old.zip", cifar_members("cifar-10-python/cifar-10-batches-py")))
    main(["data", "download", "--dest", "D"])  # md5s differ: `data verify` reports them
    capsys.readouterr()
    serve_zip(fake, make_zip(tmp_path / "new.zip", cifar_members("cifar-10-batches-py", n=20)))
    assert main(["data", "download", "--dest", "D"]) == 2
    line = one_error_line(capsys)  # was: the md5 lines of the old batches, and later commands used them
    assert line == ("error: D: holds CIFAR-10 batches in two places, D/cifar-10-python/cifar-10-batches-py and "
                    "D/cifar-10-batches-py; keep the one you want (the other may be from an older download) and "
                    "remove the other"), line


def test_dest_that_is_a_broken_link_is_a_usage_error_before_any_call(fake, tmp_path, capsys):
    Path("D").symlink_to(tmp_path / "unmounted")
    assert main(["data", "download", "--dest", "D"]) == 2
    line = one_error_line(capsys)  # was: "D: File exists (FileExistsError)", exit 1, after the download
    assert line == (f"error: D: is a link to {tmp_path / 'unmounted'}, which does not exist; create that folder "
                    f"or give another data folder"), line
    assert fake.calls == []
    assert Path("D").is_symlink() and not (tmp_path / "unmounted").exists()


def test_disk_full_while_downloading_names_the_download_and_leaves_nothing(fake, no_client_backoff, tmp_path,
                                                                         capsys):
    """Files over 1 MiB cannot be written (RLIMIT_FSIZE, as a full disk or quota fails a write)."""
    import resource
    import signal

    big = tmp_path / "big.bin"
    big.write_bytes(bytes(3 << 20))
    fake.config.data_files = {**fake.config.data_files, "big.bin": big}
    fake.state.archive_path()  # the server's zip is made before the limit
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, hard))
    try:
        rc = main(["data", "download", "--dest", "D"])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)
    assert rc == 1
    line = one_error_line(capsys)  # was: "error: File too large (OSError)"
    assert line == (f"error: could not save the download of {SLUG}'s data in D (File too large); free some "
                    f"space or choose another --dest"), line
    assert list(Path.cwd().iterdir()) == []


@pytest.mark.parametrize("slug", ["", "a/b", "../etc", "Deep Learning"])
def test_malformed_competition_is_a_usage_error_before_any_call(fake, capsys, slug):
    assert main(["data", "download", "--dest", "D", "--competition", slug]) == 2
    line = one_error_line(capsys)  # was: a download request, then "Kaggle refused the download of 's data (403"
    assert line.startswith(f"error: competition '{slug}' is not a Kaggle competition slug"), line
    assert fake.calls == [] and list(Path.cwd().iterdir()) == []


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


EXDEV = OSError(18, "Invalid cross-device link")


@pytest.mark.parametrize("failure, step", [(KeyboardInterrupt(), "in"), (EXDEV, "in"), (EXDEV, "aside")])
def test_a_move_that_fails_half_way_leaves_the_old_files_exactly(fake, tmp_path, capsys, monkeypatch, failure, step):
    """Ctrl-C (or any failure) while the new files were moved into an existing folder left some old and some new
    ones; `data verify` cannot tell a mixed competition pickle (it has no official md5). The move is now all or
    nothing: here it fails at the fourth file moved in (or moved aside, out of D), and D holds exactly its old
    files. EXDEV is what a rename across a mount point inside D raises."""
    old_pickle = Path(fake.config.data_files["cifar_test_nolabel.pkl"]).read_bytes()
    serve_zip(fake, make_zip(tmp_path / "old.zip", [*cifar_members("cifar-10-batches-py"),
                                                    ("cifar_test_nolabel.pkl", old_pickle)]))
    main(["data", "download", "--dest", "D"])  # md5s differ: `data verify` reports them
    Path("D/mine.txt").write_text("kept")
    before = _tree(Path("D"))
    serve_zip(fake, make_zip(tmp_path / "new.zip", [*cifar_members("cifar-10-batches-py", n=20),
                                                    ("cifar_test_nolabel.pkl", b"new pickle"), ("sub/new.txt", b"n")]))
    import os

    real_replace, moved = os.replace, []

    def replace_then_fail(src, dst):  # the new files come from the staging folder's files/, the old go to replaced/
        if "files" in Path(src).parts if step == "in" else "replaced" in Path(dst).parts:
            if len(moved) == 3:
                raise failure
            moved.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_fail)
    capsys.readouterr()
    rc = main(["data", "download", "--dest", "D"])
    line = one_error_line(capsys)
    if isinstance(failure, KeyboardInterrupt):
        assert (rc, line) == (130, "error: interrupted; finished work is kept and a rerun resumes it")
    else:
        assert (rc, line) == (1, "error: could not move the downloaded files into D (Invalid cross-device link); "
                                 "D holds what it held before")
    assert len(moved) == 3
    assert _tree(Path("D")) == before
    assert sorted(p.name for p in Path("D").iterdir()) == ["cifar-10-batches-py", "cifar_test_nolabel.pkl",
                                                           "mine.txt"]  # no new sub/ either
    assert sorted(p.name for p in Path.cwd().iterdir()) == ["D"]  # and no staging folder


# Runs the CLI with kill -9 sent to itself at the move's rename number argv[1] (0 = the first): the renames out of
# D into the staging folder's replaced/ and out of its files/ into D. Test-only, and outside the toolkit.
KILLED_AT_RENAME = """
import os, signal, sys
from pathlib import Path

at, seen, real_replace = int(sys.argv[1]), [], os.replace

def replace(src, dst):
    if {"files", "replaced"} & {*Path(src).parts, *Path(dst).parts}:
        if len(seen) == at:
            os.kill(os.getpid(), signal.SIGKILL)
        seen.append(dst)
    real_replace(src, dst)

os.replace = replace
from kaggle_kit.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("at, then", [(0, "download"), (3, "download"), (7, "download"), (8, "download"),
                                      (14, "download"), (3, "verify"), (8, "verify"), (14, "verify")])
def test_a_move_killed_half_way_is_undone_by_the_next_command(fake, tmp_path, capsys, at, then):
    """kill -9 while a download moved its files into D (7 old files moved aside, then 8 new moved in: rename
    ``at`` never happens) left D without the old files it was replacing, their only copies in the staging
    folder; the next download removed that folder as stale, and when that download failed D held neither the
    old files nor the new. The next command that reads D (a download that then fails, or `data verify`) now
    undoes the move first, says so in one line, and D holds exactly its old files."""
    import os
    import subprocess
    import sys
    import time

    old_pickle = Path(fake.config.data_files["cifar_test_nolabel.pkl"]).read_bytes()
    serve_zip(fake, make_zip(tmp_path / "old.zip", [*cifar_members("cifar-10-batches-py"),
                                                    ("cifar_test_nolabel.pkl", old_pickle)]))
    main(["data", "download", "--dest", "D"])  # md5s differ: `data verify` reports them
    before = _tree(Path("D"))
    serve_zip(fake, make_zip(tmp_path / "new.zip", [*cifar_members("cifar-10-batches-py", n=20),
                                                    ("cifar_test_nolabel.pkl", b"new pickle"), ("sub/new.txt", b"n")]))
    env = {**os.environ, "PYTHONPATH": str(Path(kaggle_api.__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, "-c", KILLED_AT_RENAME, str(at), "data", "download", "--dest", "D"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    if at:
        assert {k: v for k, v in _tree(Path("D")).items() if ".download-" not in k} != before  # left half-moved
    for folder in [*Path.cwd().glob(".D.download-*"), *_staging_folders()]:  # the next command comes an hour later
        os.utime(folder, (time.time() - 3600,) * 2)
    capsys.readouterr()
    if then == "download":
        serve_zip(fake, bad_crc_zip(tmp_path / "bad.zip"))
        assert main(["data", "download", "--dest", "D"]) == 1
    else:
        assert main(["data", "verify", "--data-dir", "D"]) == 2  # the old files' md5s are not the official ones
    assert _tree(Path("D")) == before
    err = capsys.readouterr().err.splitlines()
    assert err[0] == ("note: D: a download into it was killed while it moved its files in; undid that move, so D "
                      "holds the files it held before (rerun `kaggle-kit data download` for the new ones)"), err
    assert _staging_folders() == [] and sorted(p.name for p in Path.cwd().iterdir()) == ["D"]


def test_a_dest_that_is_a_bind_mount_is_staged_inside_it(fake, capsys):
    """D a bind mount of another folder on the same disk (a container's volume): both have one st_dev, so the
    staging folder went beside D, and moving the files into D then failed with EXDEV after the whole download.
    The staging folder now always goes inside D."""
    import os
    import shutil
    import subprocess
    import sys

    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode:
        pytest.skip("needs unshare -rm (user and mount namespaces) to bind-mount without root")
    Path("D").mkdir()
    Path("volume").mkdir()
    env = {**os.environ, "PYTHONPATH": str(Path(kaggle_api.__file__).resolve().parents[1])}
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", 'mount --bind volume D && exec "$@"', "sh", sys.executable,
                           "-m", "kaggle_kit", "data", "download", "--dest", "D"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr and "cross-device" not in proc.stderr, proc.stderr
    assert proc.stderr.splitlines()[-1].startswith("error: D: "), proc.stderr  # `data verify`: no batches
    assert os.listdir("volume") == ["cifar_test_nolabel.pkl"] and os.listdir("D") == []


def _staging_folders() -> list[Path]:
    return sorted(Path("D").glob(".download-*"))


def test_a_killed_download_leaves_a_staging_folder_that_the_next_one_removes_but_not_a_live_one(fake, tmp_path,
                                                                                                 capsys):
    """kill -9 mid-download skips every cleanup: its hidden staging folder in D stayed there forever, however
    large the half-downloaded zip. The next download into D removes it; one that a running download holds (here
    one still downloading, made to look an hour old) is left alone."""
    import os
    import subprocess
    import sys
    import time

    fake.config.faults.append(Fault(stall=True, times=1, method="file"))
    env = {**os.environ, "PYTHONPATH": str(Path(kaggle_api.__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "kaggle_kit", "data", "download", "--dest", "D"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while ("file", None) not in fake.calls:  # the first download is under way, its file GET held unanswered
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()
            time.sleep(0.05)
        [live] = _staging_folders()
        os.utime(live, (time.time() - 3600,) * 2)
        main(["data", "download", "--dest", "D"])  # a second download alongside (`data verify` then complains)
        capsys.readouterr()
        assert _staging_folders() == [live] and Path("D/cifar_test_nolabel.pkl").is_file()
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert proc.returncode == -9 and _staging_folders() == [live]  # kill -9 left it
    main(["data", "download", "--dest", "D"])
    capsys.readouterr()
    assert _staging_folders() == [] and sorted(p.name for p in Path.cwd().iterdir()) == ["D"]


def test_only_idle_staging_folders_of_its_own_name_are_removed(fake, capsys):
    """What the next download removes: a folder in D named as its staging folders are, that no download holds and
    that has not changed for a minute (a download holds its folder from just after making it: the minute covers
    that gap). Nothing else, and nothing beside D (where staging folders went before)."""
    import os
    import time

    Path("D").mkdir()
    old = time.time() - 3600
    stale = [Path("D/.download-ab_c1234"), Path("D/.download-x9y8z7w6")]
    kept = [Path("D/.download-fresh123"),  # changed just now: perhaps made by a download about to hold it
            Path("D/.download-mine"), Path("D/.D.download-abcdefgh"), Path(".download-abcdefgh"),
            Path("D/download-abcdefgh"), Path("D/.download-abcdefgh.bak")]
    for folder in stale + kept:
        (folder / "archive").mkdir(parents=True)
        (folder / "archive" / "part.zip").write_bytes(b"partial")
        if folder.name != ".download-fresh123":
            os.utime(folder, (old, old))
    Path("D/.download-12345678").write_text("a file, not a staging folder")
    os.utime("D/.download-12345678", (old, old))
    main(["data", "download", "--dest", "D"])
    capsys.readouterr()
    assert [f for f in stale if f.exists()] == [] and [f for f in kept if not f.exists()] == []
    assert Path("D/.download-12345678").is_file()


def _pickled(obj) -> bytes:
    import pickle

    return pickle.dumps(obj, protocol=2)


@pytest.mark.parametrize("pickle_bytes, problem", [
    (_pickled({b"data": np.zeros((20, 100), np.uint8), b"ids": np.arange(20)}),
     "'data' must have shape (N, 32, 32, 3) or (N, 3072), found (20, 100)"),
    (_pickled({b"images": np.zeros((20, 3072), np.uint8)}), "missing key 'data' (found keys: b'images')"),
])
def test_a_downloaded_pickle_in_another_format_says_it_is_what_kaggle_serves(fake, tmp_path, capsys, monkeypatch,
                                                                            pickle_bytes, problem):
    """The competition's pickle just fetched, in a format the toolkit does not read: the error named only the
    problem, as for a damaged copy that a new download would mend, though this file is what Kaggle serves (as the
    md5 case already said). Here the batches are the official ones (their md5s are made to match) and only the
    pickle differs."""
    from kaggle_kit import datapaths
    from kaggle_kit.fsio import md5_file

    members = cifar_members("cifar-10-python/cifar-10-batches-py")
    serve_zip(fake, make_zip(tmp_path / "comp.zip", [*members, ("cifar_test_nolabel.pkl", pickle_bytes)]))
    official = {Path(name).name: __import__("hashlib").md5(data).hexdigest() for name, data in members}
    monkeypatch.setattr(datapaths, "CIFAR10_MD5", official)
    assert main(["data", "download", "--dest", "D"]) == 2
    line = one_error_line(capsys)
    assert line == (f"error: D/cifar_test_nolabel.pkl: {problem}; these are the files Kaggle serves now: check the "
                    f"competition's data page for a changed format"), line
    assert md5_file("D/cifar_test_nolabel.pkl") == __import__("hashlib").md5(pickle_bytes).hexdigest()
    assert main(["data", "verify", "--data-dir", "D"]) == 2  # a plain verify still names only the problem
    assert one_error_line(capsys) == f"error: D/cifar_test_nolabel.pkl: {problem}"


@pytest.mark.parametrize("dest", ["D", "D/new"])
def test_a_read_only_dest_is_one_line_before_any_call(fake, capsys, dest):
    """A read-only data folder (or one under it, to be made): refused before the download, in one line."""
    import os
    import subprocess
    import sys

    Path("D").mkdir()
    Path("D/mine.txt").write_text("kept")
    Path("D").chmod(0o555)
    env = {**os.environ, "PYTHONPATH": str(Path(kaggle_api.__file__).resolve().parents[1])}
    try:
        proc = subprocess.run([*unprivileged(), sys.executable, "-m", "kaggle_kit", "data", "download", "--dest",
                               dest], env=env, capture_output=True, text=True, timeout=120)
    finally:
        Path("D").chmod(0o755)
    assert proc.returncode == 2, proc.stderr
    want = ("error: D: folder is not writable; choose another data folder\n" if dest == "D" else
            "error: D/new: cannot write the data folder there, folder D is not writable\n")
    assert proc.stderr == want and proc.stdout == ""
    assert fake.calls == []
    assert sorted(p.name for p in Path.cwd().iterdir()) == ["D"] and os.listdir("D") == ["mine.txt"]


def test_a_writable_dest_in_a_read_only_folder_is_staged_inside_it_and_left_clean(fake, tmp_path):
    """The folder above D read-only (a mounted volume's root): the staging folder goes inside D, a stale one left
    there by a killed download is removed, and the files land with nothing else left behind."""
    import os
    import subprocess
    import sys

    Path("P/D/.download-k1lled00/archive").mkdir(parents=True)
    os.utime("P/D/.download-k1lled00", (1, 1))
    Path("P").chmod(0o555)
    env = {**os.environ, "PYTHONPATH": str(Path(kaggle_api.__file__).resolve().parents[1])}
    try:
        proc = subprocess.run([*unprivileged(), sys.executable, "-m", "kaggle_kit", "data", "download", "--dest",
                               "P/D"], env=env, capture_output=True, text=True, timeout=120)
    finally:
        Path("P").chmod(0o755)
    assert "Traceback" not in proc.stderr and proc.stderr.splitlines()[-1].startswith("error: P/D: "), proc.stderr
    assert os.listdir("P") == ["D"] and os.listdir("P/D") == ["cifar_test_nolabel.pkl"]  # verify: no batches
    assert [c for c in fake.calls if c[0] == "file"] == [("file", 200)]


def test_a_download_without_the_batches_does_not_advise_downloading(fake, tmp_path, capsys):
    """Kaggle's archive held no CIFAR-10 batches: the error right after the download advised getting the data
    with `kaggle-kit data download`, the command just run. It now says what the archive lacked, and that this is
    what Kaggle serves, or what the folder holds instead (a packed archive inside it)."""
    assert main(["data", "download", "--dest", "D"]) == 2  # the fake's archive: the pickle alone
    assert one_error_line(capsys) == (
        "error: D: the files just downloaded hold no CIFAR-10 batches (cifar-10-batches-py/data_batch_1 ...); these "
        "are the files Kaggle serves now: check the competition's data page for a changed format")
    serve_zip(fake, make_zip(tmp_path / "packed.zip", [("cifar-10-python.tar.gz", b"\x1f\x8b packed")]))
    assert main(["data", "download", "--dest", "E"]) == 2
    assert one_error_line(capsys) == (
        "error: E: the files just downloaded hold no CIFAR-10 batches (cifar-10-batches-py/data_batch_1 ...); found "
        "E/cifar-10-python.tar.gz, not unpacked: unpack it first (`tar -xzf E/cifar-10-python.tar.gz -C E`)")


def test_a_dest_on_another_file_system_is_staged_there(fake, capsys, tmp_path):
    """D a link to a folder on another disk (here /dev/shm, a tmpfs): the staging folder beside D was on this
    disk, and no file can be renamed across file systems, so every download into D failed after the download
    (was: 'Invalid cross-device link'). The staging folder goes inside D, on D's file system."""
    import os
    import shutil
    import tempfile

    if not Path("/dev/shm").is_dir() or os.stat("/dev/shm").st_dev == os.stat(".").st_dev:
        pytest.skip("needs /dev/shm on a file system of its own")
    elsewhere = Path(tempfile.mkdtemp(dir="/dev/shm", prefix="kk-dest-"))
    try:
        Path("D").symlink_to(elsewhere, target_is_directory=True)
        main(["data", "download", "--dest", "D"])  # `data verify` then reports the missing batches
        assert "cross-device" not in capsys.readouterr().err
        assert os.listdir(elsewhere) == ["cifar_test_nolabel.pkl"] and os.listdir(".") == ["D"]
    finally:
        shutil.rmtree(elsewhere)
