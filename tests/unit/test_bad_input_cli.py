"""Bad input through the CLI: exit 2, problem lines with line numbers, exactly one `error:` line, no traceback."""
from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from kaggle_kit.cli import main


@pytest.fixture()
def comp_pickle(tmp_path):
    p = tmp_path / "comp.pkl"
    p.write_bytes(pickle.dumps({b"data": np.zeros((3, 32, 32, 3), np.uint8), b"ids": np.array([0, 1, 2])}))
    return p


def _error_lines(err: str) -> list[str]:
    assert "Traceback" not in err
    return [line for line in err.splitlines() if line.startswith("error:")]


def test_validate_lists_every_non_ascii_or_malformed_cell_with_its_line(tmp_path, comp_pickle, capsys):
    csv = tmp_path / "c.csv"
    csv.write_text("ID,Labels\n0,--1\n1,²\n2,٣\n0_0,1\n", encoding="utf-8")
    assert main(["validate", str(csv), "--against", str(comp_pickle)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"{csv}:2: label '--1' is not an integer 0-9",
                   f"{csv}:3: label '²' is not an integer 0-9 (only ASCII digits 0-9 count)",
                   f"{csv}:4: label '٣' is not an integer 0-9 (only ASCII digits 0-9 count)",
                   f"{csv}:5: ID '0_0' is not an integer (plain digits only: no '+' or '_')",
                   f"{csv}: 4 data rows, expected 3",
                   f"error: {csv}: invalid submission (5 problems)"]


@pytest.mark.parametrize("row", ["0,--1", "0,²", "0,٣", "0_0,1"])
def test_validate_single_bad_cell_exits_2_with_one_error_line(tmp_path, comp_pickle, capsys, row):
    csv = tmp_path / "c.csv"
    csv.write_text(f"ID,Labels\n{row}\n1,1\n2,1\n", encoding="utf-8")
    assert main(["validate", str(csv), "--against", str(comp_pickle)]) == 2
    err = capsys.readouterr().err
    n = len(err.splitlines()) - 1
    assert _error_lines(err) == [f"error: {csv}: invalid submission ({n} problem{'s' * (n != 1)})"]
    assert err.splitlines()[0].startswith(f"{csv}:2: ")


def test_validate_against_the_competition_zip_says_unzip_it(tmp_path, comp_pickle, capsys):
    z = tmp_path / "comp.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(comp_pickle, "cifar_test_nolabel.pkl")
    csv = tmp_path / "ok.csv"
    csv.write_text("ID,Labels\n0,1\n1,2\n2,3\n")
    assert main(["validate", str(csv), "--against", str(z)]) == 2
    out = capsys.readouterr()
    assert out.err == (f"error: {z}: is a zip archive, not a pickle; unzip it first (`unzip {z}`) and pass the .pkl "
                       "inside, or point --data-dir at the unpacked folder\n")
    assert out.out == ""


def _cifar_folder(root, bad_batch=None):
    root.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"labels": [0, 1, 2, 3], b"data": np.zeros((4, 3072), np.uint8)}
        (root / name).write_bytes(pickle.dumps(batch, protocol=2))
    if bad_batch is not None:
        (root / "data_batch_3").write_bytes(pickle.dumps(bad_batch, protocol=2))
    (root / "cifar_test_nolabel.pkl").write_bytes(
        pickle.dumps({b"data": np.zeros((3, 32, 32, 3), np.uint8), b"ids": np.arange(3)}))
    return root


@pytest.mark.parametrize("bad,problem", [
    ({b"labels": ["cat", "dog", "cat", "dog"], b"data": np.zeros((4, 3072), np.uint8)},
     "'labels' must be integers, found str values, e.g. 'cat'"),
    ({b"labels": [], b"data": np.zeros((0, 3072), np.uint8)}, "empty batch ('data' holds no images)"),
    ({b"labels": [[0], [1], [2], [3]], b"data": np.zeros((4, 3072), np.uint8)},
     "'labels' must be one-dimensional, found shape (4, 1)"),
    ({b"labels": [0, 1], b"data": np.zeros((4, 3072), np.uint8)}, "2 labels for 4 images (expected one per image)"),
    ({b"labels": [0, 1, 2, 12], b"data": np.zeros((4, 3072), np.uint8)}, "1 label outside 0-9, e.g. 12"),
    ({b"labels": [0, 1, 2, 3], b"data": np.zeros((4, 3072), np.int64)},
     "'data' must be uint8 (N, 3072), found int64 (4, 3072)"),
])
def test_data_verify_bad_batch_exits_2_with_one_error_line(tmp_path, capsys, bad, problem):
    d = _cifar_folder(tmp_path / "D", bad)
    assert main(["data", "verify", "--no-md5", "--data-dir", str(d)]) == 2
    out = capsys.readouterr()
    assert out.err == f"error: {d / 'data_batch_3'}: {problem}\n"
    assert out.out == ""  # nothing printed before the error: no partial summary


def test_data_verify_on_the_zip_itself_says_unzip_it(tmp_path, capsys):
    z = tmp_path / "comp.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("cifar-10-python/cifar-10-batches-py/data_batch_1", b"x")
    assert main(["data", "verify", "--data-dir", str(z)]) == 2
    err = capsys.readouterr().err
    assert _error_lines(err) == err.splitlines() == [
        f"error: {z}: --data-dir must be a folder, found a file (a zip archive); unpack it first "
        f"(`unzip {z} -d {tmp_path}`) and pass the folder it makes"]


def test_data_verify_that_finds_problems_exits_2_with_an_error_line_saying_what_to_do(tmp_path, capsys):
    """README: exit 2 for bad input. A folder without the competition pickle (or with a batch whose md5 differs)
    exited 1 with 'N problems found', while `kaggle-kit run` on the same folder exits 2."""
    d = _cifar_folder(tmp_path / "D")
    (d / "cifar_test_nolabel.pkl").unlink()
    assert main(["data", "verify", "--no-md5", "--data-dir", str(d)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"problem: {d}: no cifar_test_nolabel.pkl (the competition's unlabeled test pickle)",
                   f"error: {d}: 1 problem found; fetch the competition files again with "
                   f"`kaggle-kit data download`"]


@pytest.mark.parametrize("make, what", [(None, "file not found"), ("dir", "is a folder, expected a CSV file")])
def test_validate_a_missing_csv_is_one_error_line_as_submit_says_it(tmp_path, comp_pickle, capsys, make, what):
    """`validate` printed 'X: file not found' and then 'error: X: invalid submission (1 problem)'."""
    csv = tmp_path / "s.csv"
    if make == "dir":
        csv.mkdir()
    assert main(["validate", str(csv), "--against", str(comp_pickle)]) == 2
    assert capsys.readouterr().err == f"error: {csv}: {what}\n"


@pytest.mark.parametrize("limit", [2, 3])
def test_validate_lists_problems_up_to_its_limit_and_counts_the_rest(tmp_path, comp_pickle, capsys, monkeypatch,
                                                                     limit):
    """An off-by-one at the limit would hide its last problem or print '... 0 more'."""
    from kaggle_kit import submission

    monkeypatch.setattr(submission, "MAX_PROBLEMS_LISTED", limit)
    csv = tmp_path / "c.csv"
    csv.write_text("ID,Labels\n0,x\n1,y\n2,z\n", encoding="utf-8")
    assert main(["validate", str(csv), "--against", str(comp_pickle)]) == 2
    listed = [f"{csv}:{i + 2}: label '{c}' is not an integer 0-9" for i, c in enumerate("xyz")][:limit]
    more = ["... 1 more"] if limit == 2 else []
    assert capsys.readouterr().err.splitlines() == [*listed, *more, f"error: {csv}: invalid submission (3 problems)"]


def test_validate_writes_counts_of_a_thousand_or_more_with_separators(tmp_path, capsys):
    """A 10,000-row competition: '9999 data rows, expected 10000' beside the valid line's '10,000 rows' read as
    two kinds of number; every count a reader compares is grouped the same way."""
    n = 1200
    pkl = tmp_path / "comp.pkl"
    pkl.write_bytes(pickle.dumps({b"data": np.zeros((n, 32, 32, 3), np.uint8), b"ids": np.arange(n)}))
    ok = tmp_path / "ok.csv"
    ok.write_text("ID,Labels\n" + "".join(f"{i},{i % 10}\n" for i in range(n)))
    assert main(["validate", str(ok), "--against", str(pkl)]) == 0
    assert capsys.readouterr().out == f"{ok}: valid (1,200 rows, header ID,Labels, labels 0-9)\n"
    bad = tmp_path / "bad.csv"
    bad.write_text("ID,Labels\n" + "".join(f"{i},x\n" for i in range(n - 1)))
    assert main(["validate", str(bad), "--against", str(pkl)]) == 2
    err = capsys.readouterr().err.splitlines()
    from kaggle_kit.submission import MAX_PROBLEMS_LISTED
    assert err[MAX_PROBLEMS_LISTED:] == [f"... {n - 1 + 2 - MAX_PROBLEMS_LISTED:,} more",
                                         f"error: {bad}: invalid submission (1,201 problems)"]
    from kaggle_kit.submission import validate_submission
    assert validate_submission(bad, np.arange(n))[-2:] == [f"{bad}: 1 competition ID missing, e.g. 1199",
                                                            f"{bad}: 1,199 data rows, expected 1,200"]


def test_data_download_into_dest_that_differs_from_the_official_md5s_says_so(tmp_path, capsys, monkeypatch):
    """Ignoring --dest would download elsewhere; a md5 count without the mismatches, or the 'download again' advice
    for files just downloaded, would mislead."""
    from kaggle_kit import kaggle_api

    fetched = []
    monkeypatch.setattr(kaggle_api, "download_competition_data",
                        lambda dest, competition: fetched.append(dest) or _cifar_folder(Path(dest)))
    dest = tmp_path / "D"
    assert main(["data", "download", "--dest", str(dest)]) == 2
    assert fetched == [str(dest)]
    out = capsys.readouterr()
    assert "md5: 0/7 official files match" in out.out.splitlines()
    assert _error_lines(out.err)[0].endswith(
        "these are the files Kaggle serves, and they differ from the official CIFAR-10 batches; "
        "`kaggle-kit data verify --no-md5` checks everything else")
