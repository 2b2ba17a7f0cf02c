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
     ["s.csv:3: duplicate ID 10 (first on line 2)", "s.csv: 1 competition ID(s) missing, e.g. 11"]),
    ("ID,Labels\n10,1\n11,1\n12,1\n13,1\n99,1\n",
     ["s.csv:6: ID 99 is not in the competition's ids", "s.csv: 5 data rows, expected 4"]),
    ("ID,Labels\n10,1\n11,cat\n12,-1\n13,1.0\n",
     ["s.csv:3: label 'cat' is not an integer 0-9", "s.csv:4: label '-1' is not an integer 0-9",
      "s.csv:5: label '1.0' is not an integer 0-9"]),
    ("ID,Labels\n10,1\n11\n12,1,3\nx,1\n",
     ["s.csv:3: expected 2 fields (ID,Labels), found 1", "s.csv:4: expected 2 fields (ID,Labels), found 3",
      "s.csv:5: ID 'x' is not an integer", "s.csv: 3 competition ID(s) missing, e.g. 11, 12, 13"]),
    ("", ["s.csv: empty file (expected header 'ID,Labels')"]),
])
def test_validator_reports_every_problem_with_line_numbers(tmp_path, monkeypatch, text, expected):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.csv").write_text(text)
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
    assert str(info.value) == f"{p}: 3 competition ID(s) missing, e.g. 11, 12, 13 (+1 more problems)"


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
