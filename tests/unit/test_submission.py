"""Submission writer and validator: exact problems with line numbers, atomic writes, no overwrite."""
from __future__ import annotations

import numpy as np
import pytest

from kaggle_kit.errors import SubmissionError
from kaggle_kit.submission import check_submission, validate_submission, write_submission

IDS = np.array([10, 11, 12, 13])


def test_write_from_labels_and_logits_in_pickle_order(tmp_path):
    p = write_submission(tmp_path / "s.csv", IDS, np.array([3, 1, 0, 9]))
    assert p.read_text() == "ID,Labels\n10,3\n11,1\n12,0\n13,9\n"
    logits = np.eye(10)[[2, 2, 5, 7]]
    p2 = write_submission(tmp_path / "t.csv", IDS, logits)
    assert p2.read_text().splitlines()[1:] == ["10,2", "11,2", "12,5", "13,7"]
    assert validate_submission(p2, IDS) == []


def test_refuses_overwrite_unless_forced(tmp_path):
    p = write_submission(tmp_path / "s.csv", IDS, np.zeros(4, int))
    with pytest.raises(SubmissionError, match="already exists; pass --force"):
        write_submission(p, IDS, np.ones(4, int))
    assert p.read_text().splitlines()[1] == "10,0"
    write_submission(p, IDS, np.ones(4, int), force=True)
    assert p.read_text().splitlines()[1] == "10,1"


def test_writer_refuses_bad_labels_and_leaves_nothing(tmp_path):
    with pytest.raises(SubmissionError, match="not an integer 0-9"):
        write_submission(tmp_path / "s.csv", IDS, np.array([0, 1, 2, 10]))
    with pytest.raises(SubmissionError, match="3 predictions for 4 ids"):
        write_submission(tmp_path / "s.csv", IDS, np.array([0, 1, 2]))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text,expected", [
    ("id,label\n10,1\n11,1\n12,1\n13,1\n", ["s.csv:1: header must be 'ID,Labels', found 'id,label'"]),
    ("ID,Labels\n10,1\n\n11,1\n12,1\n13,1\n", ["s.csv:3: blank line", "s.csv: 5 data rows, expected 4"]),
    ("ID,Labels\n10,1\n10,2\n12,1\n13,1\n",
     ["s.csv:3: duplicate ID 10 (first on line 2)", "s.csv: 1 competition ID missing, e.g. 11"]),
    ("ID,Labels\n10,1\n11,1\n12,1\n13,1\n99,1\n",
     ["s.csv:6: ID 99 is not in the competition's ids", "s.csv: 5 data rows, expected 4"]),
    ("ID,Labels\n10,1\n11,cat\n12,-1\n13,1.0\n",
     ["s.csv:3: label 'cat' is not an integer 0-9", "s.csv:4: label '-1' is not an integer 0-9",
      "s.csv:5: label '1.0' is not an integer 0-9"]),
    ("ID,Labels\n10,1\n11\n12,1,3\nx,1\n",
     ["s.csv:3: expected 2 fields (ID,Labels), found 1", "s.csv:4: expected 2 fields (ID,Labels), found 3",
      "s.csv:5: ID 'x' is not an integer", "s.csv: 3 competition IDs missing, e.g. 11, 12, 13"]),
    ("", ["s.csv: empty file (expected header 'ID,Labels')"]),
    # one BOM (Excel's 'CSV UTF-8') is dropped by readers; a second one stays in the first column's name
    ("\ufeffID,Labels\n10,1\n11,1\n12,1\n13,1\n", []),
    ("\ufeff\ufeffID,Labels\n10,1\n11,1\n12,1\n13,1\n", ["s.csv:1: header must be 'ID,Labels', found '\\ufeffID,Labels'"]),
])
def test_validator_reports_every_problem_with_line_numbers(tmp_path, monkeypatch, text, expected):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.csv").write_text(text, encoding="utf-8")
    assert validate_submission("s.csv", IDS) == expected


def test_crlf_and_any_row_order_are_accepted(tmp_path):
    p = tmp_path / "s.csv"
    p.write_bytes(b"ID,Labels\r\n13,1\r\n12,1\r\n11,1\r\n10,1\r\n")
    assert validate_submission(p, IDS) == []


def test_check_raises_first_problem_in_one_line(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("ID,Labels\n10,1\n")
    with pytest.raises(SubmissionError) as info:
        check_submission(p, IDS)
    assert str(info.value) == f"{p}: 3 competition IDs missing, e.g. 11, 12, 13 (+1 more problem)"


def test_binary_file_is_a_problem_not_a_crash(tmp_path):
    p = tmp_path / "s.csv"
    p.write_bytes(b"\xff\xfe\x00garbage")
    assert validate_submission(p, IDS) == [f"{p}: not a UTF-8 text file"]


def test_written_files_get_umask_permissions_not_mkstemp_0600(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        p = write_submission(tmp_path / "s.csv", IDS, np.zeros(4, int))
    finally:
        os.umask(old)
    assert (p.stat().st_mode & 0o777) == 0o644


# --- cells Python's int() parses but Kaggle does not: every one is a problem with its line number -------------

@pytest.mark.parametrize("cell_row,expected", [
    ("10,--1", "s.csv:2: label '--1' is not an integer 0-9"),
    ("10,²", "s.csv:2: label '²' is not an integer 0-9 (only ASCII digits 0-9 count)"),
    ("10,٣", "s.csv:2: label '٣' is not an integer 0-9 (only ASCII digits 0-9 count)"),
    ("10,３", "s.csv:2: label '３' is not an integer 0-9 (only ASCII digits 0-9 count)"),
    ("10,+1", "s.csv:2: label '+1' is not an integer 0-9 (plain digits only: no '+' or '_')"),
    ("10,0_1", "s.csv:2: label '0_1' is not an integer 0-9 (plain digits only: no '+' or '_')"),
    ("10,-0", "s.csv:2: label '-0' is not an integer 0-9"),
    ("10,1e0", "s.csv:2: label '1e0' is not an integer 0-9"),
    ("10," + "9" * 5000, "s.csv:2: label '99999999999999999999' is not an integer 0-9"),
    ("1_0,1", "s.csv:2: ID '1_0' is not an integer (plain digits only: no '+' or '_')"),
    ("+10,1", "s.csv:2: ID '+10' is not an integer (plain digits only: no '+' or '_')"),
    ("١٠,1", "s.csv:2: ID '١٠' is not an integer (only ASCII digits 0-9 count)"),
    ("--10,1", "s.csv:2: ID '--10' is not an integer"),
    ("9" * 5000 + ",1", "s.csv:2: ID '99999999999999999999' is too long"),
    ("10\x0b,1", None),  # a vertical tab is stripped like a space: the row is fine
    # other Unicode spaces make pandas (as Kaggle's scorer reads a CSV) read the whole column as text
    ("10\u00a0,1", "s.csv:2: ID '10\\xa0' is not an integer (only ASCII spaces and tabs may surround a number)"),
    ("10,1\u2003", "s.csv:2: label '1\\u2003' is not an integer 0-9 (only ASCII spaces and tabs may surround a "
                   "number)"),
    ("10,1\x85", "s.csv:2: label '1\\x85' is not an integer 0-9 (only ASCII spaces and tabs may surround a number)"),
    ("1\u20280,1", "s.csv:2: ID '1\\u20280' is not an integer"),  # a line separator is escaped, not printed
])
def test_unicode_digits_underscores_and_signs_are_problems_not_crashes(tmp_path, monkeypatch, cell_row, expected):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.csv").write_text(f"ID,Labels\n{cell_row}\n11,1\n12,1\n13,1\n", encoding="utf-8")
    problems = validate_submission("s.csv", IDS)
    if expected is None:
        assert problems == []
        return
    assert problems[0] == expected
    assert all("\n" not in p and "\u2028" not in p for p in problems)
    if expected.startswith("s.csv:2: ID"):  # the row is skipped, so its ID counts as missing
        assert problems[1:] == ["s.csv: 1 competition ID missing, e.g. 10"]
    else:
        assert problems[1:] == []


def test_every_bad_cell_is_listed_with_its_own_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.csv").write_text("ID,Labels\n10,--1\n11,²\n12,٣\n0_0,1\n13,1\n", encoding="utf-8")
    assert validate_submission("s.csv", IDS) == [
        "s.csv:2: label '--1' is not an integer 0-9",
        "s.csv:3: label '²' is not an integer 0-9 (only ASCII digits 0-9 count)",
        "s.csv:4: label '٣' is not an integer 0-9 (only ASCII digits 0-9 count)",
        "s.csv:5: ID '0_0' is not an integer (plain digits only: no '+' or '_')",
        "s.csv: 5 data rows, expected 4",
    ]


def test_leading_zeros_are_plain_integers(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("ID,Labels\n010,01\n11,1\n12,0009\n13,0\n")
    assert validate_submission(p, IDS) == []


@pytest.mark.parametrize("bad", ["--1", "²", "٣"])
def test_check_submission_raises_a_one_line_submission_error(tmp_path, bad):
    """``kaggle-kit submit`` validates through check_submission: the cells that crashed it now raise cleanly."""
    p = tmp_path / "s.csv"
    p.write_text(f"ID,Labels\n10,{bad}\n11,1\n12,1\n13,1\n", encoding="utf-8")
    with pytest.raises(SubmissionError) as info:
        check_submission(p, IDS)
    assert str(info.value).startswith(f"{p}:2: label '{bad}' is not an integer 0-9")
    assert "\n" not in str(info.value)


def test_header_with_control_characters_is_escaped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.csv").write_text("ID,\x1bLabels\u2028\n10,1\n11,1\n12,1\n13,1\n", encoding="utf-8")
    assert validate_submission("s.csv", IDS) == ["s.csv:1: header must be 'ID,Labels', found 'ID,\\x1bLabels\\u2028'"]
    (tmp_path / "s.csv").write_bytes(b"ID,Labels\r10,1\r11,1\r12,1\r13,1\r")  # old Mac line ends still read
    assert validate_submission("s.csv", IDS) == []


def test_folder_and_zip_given_as_the_csv(tmp_path):
    import zipfile

    folder = tmp_path / "sub"
    folder.mkdir()
    assert validate_submission(folder, IDS) == [f"{folder}: is a folder, expected a CSV file"]
    z = tmp_path / "s.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("s.csv", "ID,Labels\n10,1\n11,1\n12,1\n13,1\n" * 20)
    assert validate_submission(z, IDS) == [f"{z}: is a zip archive, not a CSV; unpack it and pass the CSV inside"]


def test_rows_keep_unsorted_pickle_ids_paired_with_their_labels(tmp_path):
    """Ids sorted (or shuffled) apart from their labels would still validate but score a misaligned CSV."""
    ids = np.array([42, 7, 19, 3])
    p = write_submission(tmp_path / "s.csv", ids, np.array([1, 2, 3, 4]))
    assert p.read_text() == "ID,Labels\n42,1\n7,2\n19,3\n3,4\n"


def test_float_labels_are_refused_not_truncated(tmp_path):
    """Float 'labels' (probabilities of one class, say) cast to int would upload a column of zeros."""
    with pytest.raises(SubmissionError, match="labels must be integers, found float64"):
        write_submission(tmp_path / "s.csv", IDS, np.array([0.9, 0.2, 0.7, 0.1]))
    assert not (tmp_path / "s.csv").exists()


def test_ids_of_thirty_digits_are_read_and_of_thirty_one_are_too_long():
    """An off-by-one on the digit limit would call a 30-digit id too long instead of checking it."""
    from kaggle_kit.submission import validate_text
    problems = validate_text(f"ID,Labels\n{'9' * 30},1\n{'9' * 31},1\n10,1\n", np.array([10]), "s.csv")
    assert problems[0] == f"s.csv:2: ID {'9' * 30} is not in the competition's ids"
    assert problems[1] == f"s.csv:3: ID '{'9' * 20}' is too long"
