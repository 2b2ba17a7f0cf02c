"""Submission CSVs: ``ID,Labels``, one row per competition id, in the pickle's order.

The writer is atomic and refuses to overwrite; it re-reads what it wrote through the same validator the CLI
uses, so a CSV on disk has always passed ``kaggle-kit validate``.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from kaggle_kit.errors import SubmissionError
from kaggle_kit.fsio import atomic_path
from kaggle_kit.text import count_words

HEADER = "ID,Labels"
NUM_CLASSES = 10
MAX_PROBLEMS_LISTED = 50
# Cells must be plain ASCII decimal integers, as Kaggle's scorer reads them. Python's int() also takes
# Unicode digits ('٣'), '0_0' and '+1', and str.isdigit() passes '²', which int() then rejects.
_ID_CELL = re.compile(r"-?[0-9]+")
_LABEL_CELL = re.compile(r"[0-9]+")
# Whitespace around a cell that pandas (as Kaggle's scorer reads a CSV) skips when it parses an integer; any other
# (no-break space, em space, U+0085) turns the whole column into text there, though str.strip() would drop it.
_CELL_PADDING = " \t\x0b\x0c"
_MAX_DIGITS = 30  # far past int64; keeps int() clear of Python's 4300-digit limit on str -> int


def _show(text: str, limit: int = 20) -> str:
    """A cell as a problem line quotes it: cut to ``limit``, escaped if it holds control/line-break characters."""
    text = text[:limit]
    return text if text.isprintable() else ascii(text)[1:-1]


def _why_not(text: str) -> str:
    """A hint for a cell that looks numeric to Python but is not a plain ASCII integer."""
    if text.strip() != text:
        return " (only ASCII spaces and tabs may surround a number)"
    if any(not c.isascii() and c.isnumeric() for c in text):
        return " (only ASCII digits 0-9 count)"
    if "_" in text or text.startswith("+"):
        return " (plain digits only: no '+' or '_')"
    return ""


def _plain_int(text: str, pattern: re.Pattern[str]) -> int | None:
    """The cell's value if it is a plain ASCII decimal integer matching ``pattern``; None otherwise."""
    if not pattern.fullmatch(text) or len(text.lstrip("-").lstrip("0")) > _MAX_DIGITS:
        return None
    return int(text)


def nonfinite_rows(logits: np.ndarray) -> int:
    """Rows holding NaN or inf: their argmax is an arbitrary class 0, so no label or score may come from them."""
    if not np.issubdtype(logits.dtype, np.floating):
        return 0
    return int((~np.isfinite(logits)).any(axis=1).sum())


def labels_from(labels_or_logits: np.ndarray) -> np.ndarray:
    arr = np.asarray(labels_or_logits)
    if arr.ndim == 2:
        bad = nonfinite_rows(arr)
        if bad:
            raise SubmissionError(f"logits of {bad:,} of {len(arr):,} images are NaN or infinite; their argmax would be "
                                  f"an arbitrary class 0")
        return arr.argmax(axis=1).astype(np.int64)
    if arr.ndim != 1:
        raise SubmissionError(f"predictions must be labels (N,) or logits (N, C), found shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise SubmissionError(f"labels must be integers, found {arr.dtype}")
    return arr.astype(np.int64)


def render_csv(ids: np.ndarray, labels: np.ndarray) -> str:
    rows = "\n".join(f"{i},{l}" for i, l in zip(ids.tolist(), labels.tolist()))
    return f"{HEADER}\n{rows}\n"


def validate_text(text: str, expected_ids: np.ndarray, name: str = "submission",
                  num_classes: int = NUM_CLASSES) -> list[str]:
    """Every problem with its line number; an empty list means Kaggle will accept the file."""
    problems: list[str] = []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline
    if not lines:
        return [f"{name}: empty file (expected header '{HEADER}')"]
    header = lines[0].rstrip("\r").removeprefix("\ufeff")  # one BOM, as readers drop it; a second is text
    if header != HEADER:
        problems.append(f"{name}:1: header must be '{HEADER}', found '{_show(header, 60)}'")
    expected = {int(i) for i in np.asarray(expected_ids).tolist()}
    seen: dict[int, int] = {}
    hi = num_classes - 1
    for lineno, raw in enumerate(lines[1:], start=2):
        line = raw.rstrip("\r")
        if not line.strip():
            problems.append(f"{name}:{lineno}: blank line")
            continue
        fields = line.split(",")
        if len(fields) != 2:
            problems.append(f"{name}:{lineno}: expected 2 fields (ID,Labels), found {len(fields)}")
            continue
        id_text, label_text = (f.strip(_CELL_PADDING) for f in fields)
        row_id = _plain_int(id_text, _ID_CELL)
        if row_id is None:
            what = "is too long" if _ID_CELL.fullmatch(id_text) else f"is not an integer{_why_not(id_text)}"
            problems.append(f"{name}:{lineno}: ID '{_show(id_text)}' {what}")
            continue
        if row_id in seen:
            problems.append(f"{name}:{lineno}: duplicate ID {row_id} (first on line {seen[row_id]})")
        else:
            seen[row_id] = lineno
            if row_id not in expected:
                problems.append(f"{name}:{lineno}: ID {row_id} is not in the competition's ids")
        label = _plain_int(label_text, _LABEL_CELL)
        if label is None or label > hi:
            problems.append(f"{name}:{lineno}: label '{_show(label_text)}' is not an integer 0-{hi}"
                            f"{_why_not(label_text)}")
    missing = expected.difference(seen)
    if missing:
        first = sorted(missing)[:5]
        problems.append(f"{name}: {count_words(len(missing), 'competition ID')} missing, "
                        f"e.g. {', '.join(map(str, first))}")
    rows = len(lines) - 1
    if rows != len(expected):
        problems.append(f"{name}: {count_words(rows, 'data row')}, expected {len(expected):,}")
    return problems


def csv_file_problem(csv_path: str | Path) -> str | None:
    """Why ``csv_path`` is not a file to read (a folder, nothing there), or None."""
    csv_path = Path(csv_path)
    if csv_path.is_dir():
        return f"{csv_path}: is a folder, expected a CSV file"
    return None if csv_path.is_file() else f"{csv_path}: file not found"


def check_csv_file(csv_path: str | Path) -> None:
    """``csv_file_problem`` as a one-line error: commands say it before the pickle is looked for, the likelier
    mistake first."""
    problem = csv_file_problem(csv_path)
    if problem is not None:
        raise SubmissionError(problem)


def validate_submission(csv_path: str | Path, expected_ids: np.ndarray) -> list[str]:
    csv_path = Path(csv_path)
    problem = csv_file_problem(csv_path)
    if problem is not None:
        return [problem]
    try:
        text = csv_path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        from kaggle_kit.safe_pickle import HEAD_BYTES, archive_kind, describe_archive

        with open(csv_path, "rb") as fh:
            kind = archive_kind(fh.read(HEAD_BYTES))
        if kind is not None:
            return [f"{csv_path}: is {describe_archive(kind)}, not a CSV; unpack it and pass the CSV inside"]
        return [f"{csv_path}: not a UTF-8 text file"]
    except OSError as err:
        return [f"{csv_path}: cannot read the file ({err.strerror or err.__class__.__name__})"]
    return validate_text(text, expected_ids, str(csv_path))


def check_submission(csv_path: str | Path, expected_ids: np.ndarray) -> None:
    problems = validate_submission(csv_path, expected_ids)
    if problems:
        more = f" (+{count_words(len(problems) - 1, 'more problem')})" if len(problems) > 1 else ""
        raise SubmissionError(f"{problems[0]}{more}")


def write_submission(path: str | Path, ids: np.ndarray, labels_or_logits: np.ndarray,
                     force: bool = False) -> Path:
    """Write and validate atomically; an existing file is kept unless ``force``."""
    path = Path(path)
    ids = np.asarray(ids)
    labels = labels_from(labels_or_logits)
    if len(labels) != len(ids):
        raise SubmissionError(f"{len(labels):,} predictions for {len(ids):,} ids")
    if path.exists() and not force:
        raise SubmissionError(f"{path} already exists; pass --force to overwrite it")
    text = render_csv(ids, labels)
    problems = validate_text(text, ids, str(path))
    if problems:
        raise SubmissionError(f"refusing to write an invalid submission: {problems[0]}")
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    check_submission(path, ids)
    return path
