"""``submissions/ledger.csv``: one row per submission, the record the gap report and `sync` work from.

Why a whole-file atomic rewrite rather than an ``O_APPEND`` write: a kill during an append could leave half a
line that every later reader would have to repair, and `sync` must update statuses and scores in place.
Writing the full new file beside the old one and renaming it means a reader sees either the old ledger or
the new one, never a torn row. A lock file serialises writers so two concurrent submits cannot lose a row.
Rows are never removed: ``append_row`` adds one, ``update_rows_by_ref`` only fills in Kaggle's answers.
"""
from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import fcntl
import io
import json
import math
import os
import sys
import threading
from pathlib import Path
from typing import Any, Iterator, Mapping

import pandas as pd

from kaggle_kit.errors import LedgerError
from kaggle_kit.fsio import atomic_path, lock_at_once, new_paths, remove_created, through_symlink

COLUMNS = (
    "time", "file", "sha256", "runs", "recipe", "recipe_except_smoothing", "local_holdout_acc", "local_test_acc",
    "predicted_lb_acc", "predicted_by", "estimates", "message", "competition", "kaggle_ref", "status", "public_score",
    "private_score",
)
# Older layouts, read with the missing columns empty and written back in the current layout by the next change:
# before "recipe_except_smoothing" (``runs.RecipeKeys.except_smoothing``: without a same-recipe row the correction
# prefers the recipe's label-smoothing variants, check 12), before "recipe" too (``runs.recipe_key`` of the
# submitted run: the correction prefers earlier submissions of the same recipe, check 9), before "estimates" too
# (every estimator's prediction at upload, a JSON object of fractions: the correction may use another estimator
# than the recorded one, check 8), and before "predicted_by" too (the upload step then always used a logits-only
# estimator).
_ADDED = ("recipe_except_smoothing", "recipe", "estimates", "predicted_by")  # newest first
RECIPE_COLUMNS = ("recipe", "recipe_except_smoothing")
LEGACY_LAYOUTS = tuple(tuple(c for c in COLUMNS if c not in _ADDED[:k]) for k in range(1, len(_ADDED) + 1))
NUMERIC_COLUMNS = ("local_holdout_acc", "local_test_acc", "predicted_lb_acc", "public_score", "private_score")
ACCURACY_COLUMNS = NUMERIC_COLUMNS[:3]  # the toolkit's own: fractions or percentages; Kaggle's scores are any metric
# The toolkit's accuracies and estimates are written to 5 decimals (0.001 points, ten times finer than anything the
# toolkit shows): float repr wrote 0.23127614855766296 for a reader to open, and the recorded prediction then
# differed in its last digits from the same estimator's value in "estimates", which was already rounded so.
# Kaggle's scores are written as answered.
ACCURACY_DECIMALS = 5
DEFAULT_LEDGER = Path("submissions") / "ledger.csv"
DRY_RUN = "dry-run"
# Statuses of rows that never reached Kaggle: they do not block a later upload of the same file.
NOT_SUBMITTED = frozenset({DRY_RUN})
RUN_SEPARATOR = ";"
# The csv module refuses to read a cell over 131072 characters (csv.field_size_limit): a longer one is refused before
# it is written, or every later read of the ledger would fail
MAX_CELL_CHARS = 100_000


def as_fraction(x: float) -> float:
    """An accuracy or Kaggle score as a fraction: ledgers may hold percentages (any value above 1); NaN stays."""
    return x / 100.0 if x > 1.0 else x


def now_utc() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _cell(value: Any) -> str:
    """Render one value: None/NaN as empty, floats without noise, lists of run ids joined by ';'."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, (list, tuple)):
        return RUN_SEPARATOR.join(str(v) for v in value)
    if isinstance(value, Mapping):  # estimates: name -> fraction, ACCURACY_DECIMALS; NaN is left out
        finite = {str(k): _rounded(float(v)) for k, v in value.items() if v is not None and math.isfinite(v)}
        return json.dumps(finite, separators=(",", ":")) if finite else ""
    text = str(value)
    try:  # a path read under a C locale holds its UTF-8 bytes as surrogates: those bytes, as the text they are
        return text.encode("utf-8", "surrogateescape").decode("utf-8")
    except UnicodeError:  # a lone surrogate (JSON may carry one, as "\\udcff"): its escape, not a failed write
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def cell_chars(text: str) -> int:
    """How many characters ``text`` takes in a ledger cell: a lone surrogate is written as its 6-character escape."""
    return len(_cell(text))


def clipped(text: str) -> str:
    """``text`` as a ledger cell holds it (a lone surrogate as its escape), cut to ``MAX_CELL_CHARS``: for text the
    user cannot shorten, such as a description set on Kaggle. Cut after escaping, or an escape could push it over."""
    return _cell(text)[:MAX_CELL_CHARS]


def estimates_of(cell: str, where: str = "ledger") -> dict[str, float]:
    """An ``estimates`` cell as {estimator: fraction}; empty cell: {}. Anything else is an error naming the cell."""
    if not cell:
        return {}
    try:
        value = json.loads(cell)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value.values()):
        raise LedgerError(f"{where}: column 'estimates' is not a JSON object of numbers ({cell[:60]!r}); "
                          f"fix or empty that cell")
    return {str(k): float(v) for k, v in value.items()}


def recipe_of(cell: str, where: str = "ledger", column: str = "recipe") -> str:
    """A ``RECIPE_COLUMNS`` cell: empty (unknown) or a hex key (``runs.RecipeKeys``); anything else is an error
    naming it."""
    if cell and not (len(cell) <= 64 and all(c in "0123456789abcdef" for c in cell)):
        raise LedgerError(f"{where}: column '{column}' is not a recipe key ({cell[:60]!r}); fix or empty that cell")
    return cell


def number_of(cell: str, where: str = "ledger", column: str = "public_score") -> str:
    """A ``NUMERIC_COLUMNS`` cell: empty (not known yet) or a finite number, for ``ACCURACY_COLUMNS`` one from 0 to
    100 (a fraction or a percentage; Kaggle's scores may be any metric); anything else is an error naming it, so
    a hand-edited 'eighty' is not read as a missing score."""
    if cell:
        try:
            value = float(cell)
        except ValueError:
            value = math.nan
        accuracy = column in ACCURACY_COLUMNS
        if not math.isfinite(value) or (accuracy and not 0.0 <= value <= 100.0):
            expected = "a number from 0 to 1, or a percentage" if accuracy else "a number"
            raise LedgerError(f"{where}: column '{column}' is not {'an accuracy' if accuracy else 'a score'} "
                              f"({cell[:60]!r}; expected {expected}); fix or empty that cell")
    return cell


def _rounded(value: Any) -> Any:
    """An accuracy to ``ACCURACY_DECIMALS``; anything else (None, NaN, a cell's text) as it is."""
    return round(float(value), ACCURACY_DECIMALS) if isinstance(value, float) and math.isfinite(value) else value


def make_row(**fields: Any) -> dict[str, str]:
    """A complete row (every column, strings) from keyword fields; unknown names are errors."""
    unknown = [k for k in fields if k not in COLUMNS]
    if unknown:
        raise LedgerError(f"unknown ledger column '{unknown[0]}' (columns: {', '.join(COLUMNS)})")
    row = {c: _cell(_rounded(fields.get(c)) if c in ACCURACY_COLUMNS else fields.get(c)) for c in COLUMNS}
    long = [c for c in COLUMNS if len(row[c]) > MAX_CELL_CHARS]
    if long:
        raise LedgerError(f"new ledger row: column '{long[0]}' holds {len(row[long[0]]):,} characters, more than the "
                          f"{MAX_CELL_CHARS:,} a ledger cell may hold; shorten it")
    for column in RECIPE_COLUMNS:  # refused now, not by every later read of the ledger
        recipe_of(row[column], "new ledger row", column)
    for column in NUMERIC_COLUMNS:
        number_of(row[column], "new ledger row", column)
    if not row["time"]:
        row["time"] = now_utc()
    return row


def render(rows: list[Mapping[str, str]]) -> str:
    """The ledger's text, one line per row ending in "\\n". The csv module quotes only cells holding a character of
    its line terminator, so with "\\n" alone a message holding a lone "\\r" (a Kaggle description can) was written
    unquoted and every later read of the ledger failed; each row is written with "\\r\\n" and given "\\n" after."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\r\n")
    lines = []
    for row in [dict(zip(COLUMNS, COLUMNS)), *rows]:
        buf.seek(0)
        buf.truncate()
        writer.writerow(row)
        lines.append(buf.getvalue()[:-2] + "\n")
    return "".join(lines)


def parse(text: str, source: str = "ledger") -> list[dict[str, str]]:
    """Rows of a ledger's text; a header that is not the ledger's is an error naming what was found."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = tuple(reader.fieldnames or ())
    if header not in (COLUMNS, *LEGACY_LAYOUTS):
        found = ", ".join(header)[:120] or "nothing"
        raise LedgerError(f"{source}: header is not a kaggle-kit ledger's (found {found}); "
                          f"move the file aside and rerun")
    rows = []
    for row in _csv_rows(reader, source):
        if None in row or any(v is None for v in row.values()):
            raise LedgerError(f"{source}:{reader.line_num}: wrong number of fields; fix or remove that line")
        estimates_of(row.get("estimates", ""), f"{source}:{reader.line_num}")
        for column in RECIPE_COLUMNS:
            recipe_of(row.get(column, ""), f"{source}:{reader.line_num}", column)
        for column in NUMERIC_COLUMNS:
            number_of(row.get(column, ""), f"{source}:{reader.line_num}", column)
        rows.append({c: row.get(c, "") for c in COLUMNS})
    return rows


def _csv_rows(reader: csv.DictReader, source: str) -> Iterator[dict]:
    """The reader's rows; a line the csv module cannot read (a cell over its size limit) is an error naming it."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as err:  # raised on the line being read, which line_num does not count yet
            raise LedgerError(f"{source}:{reader.line_num + 1}: {err}; fix or remove that line") from None


def _read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    try:  # bytes, not read_text: its newline translation would turn a "\r" inside a quoted message into "\n"
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise LedgerError(f"{path}: not a UTF-8 text file; move it aside and rerun") from None
    return parse(text, str(path)) if text.strip() else []


_held = threading.local()  # the lock files this thread holds: a nested ``locked`` must not wait for itself


@contextlib.contextmanager
def locked(path: str | Path) -> Iterator[None]:
    """Exclusive lock on ``<ledger>.lock``: for one read-modify-write cycle, or held by ``upload.submit_csv`` from
    its duplicate check until the row is written, so two submits of one file at once cannot both upload it.
    Re-entrant within a thread (flock would block on a second open of the same file). A lock file that guards no
    ledger afterwards (a refused first submit) is removed with the folders this call made, so a refusal leaves
    nothing behind; a waiter that locked the removed file notices and locks the new one. A command that has to
    wait says so on stderr, once: the wait may last a whole upload."""
    path = through_symlink(Path(path))  # a ledger linked from several projects is locked where it lives
    lock_path = path.with_name(path.name + ".lock")
    held = _held.__dict__.setdefault("paths", set())
    key = str(lock_path.absolute())
    if key in held:
        yield
        return
    said = False
    while True:  # made again each time: a holder that found no ledger removed the lock file and its folders
        created = new_paths(lock_path)
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            lock = open(lock_path, "a")
        except FileNotFoundError:  # the folder went again between the two
            continue
        if not lock_at_once(lock):  # a submit holds it through its upload: say why this command waits
            if not said:
                print(f"waiting for {lock_path}: another kaggle-kit command is writing the ledger (a submit holds it "
                      f"until its upload is recorded)", file=sys.stderr, flush=True)
                said = True
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            if os.stat(lock_path).st_ino == os.fstat(lock.fileno()).st_ino:
                break
        except FileNotFoundError:
            pass
        lock.close()  # the file was removed while we waited: lock the one there now
    held.add(key)
    try:
        yield
    finally:
        held.discard(key)
        if created and not path.exists():
            remove_created(created)
        lock.close()


def _write_rows(path: Path, rows: list[Mapping[str, str]]) -> None:
    with atomic_path(path) as tmp:  # the text as rendered, "\r" and all
        tmp.write_text(render(rows), encoding="utf-8", newline="")


def append_row(path: str | Path = DEFAULT_LEDGER, **fields: Any) -> dict[str, str]:
    """Append one row atomically (the old ledger stays intact if the process dies); return the row."""
    path = Path(path)
    row = make_row(**fields)
    with locked(path):
        rows = _read_rows(path)
        rows.append(row)
        _write_rows(path, rows)
    return row


def update_rows_by_ref(path: str | Path, updates: Mapping[str, Mapping[str, Any]],
                       new_rows: list[Mapping[str, Any]] = ()) -> int:
    """Set fields of the rows whose ``kaggle_ref`` is a key of ``updates``, append ``new_rows``; return how
    many rows changed or were added. Only Kaggle's answers may change: identity columns stay as written."""
    path = Path(path)
    allowed = {"status", "public_score", "private_score"}
    for fields in updates.values():
        bad = [k for k in fields if k not in allowed]
        if bad:
            raise LedgerError(f"ledger column '{bad[0]}' cannot be updated (only {', '.join(sorted(allowed))})")
    extra = [make_row(**r) for r in new_rows]
    changed = 0
    with locked(path):
        rows = _read_rows(path)
        for row in rows:
            fields = updates.get(row["kaggle_ref"]) if row["kaggle_ref"] else None
            if not fields:
                continue
            new = {**row, **{k: _cell(v) for k, v in fields.items()}}
            for column in NUMERIC_COLUMNS:  # what Kaggle answered is checked like any cell, before it is written
                number_of(new[column], f"Kaggle's answer for submission {row['kaggle_ref']}", column)
            if new != row:
                row.update(new)
                changed += 1
        if changed or extra:
            _write_rows(path, rows + extra)
    return changed + len(extra)


def read_ledger(path: str | Path = DEFAULT_LEDGER) -> pd.DataFrame:
    """The ledger as a DataFrame: every column present (empty frame if no ledger yet), accuracies and scores
    as floats (NaN when absent), everything else as strings."""
    rows = _read_rows(Path(path))
    df = pd.DataFrame(rows, columns=list(COLUMNS)).astype(str) if rows else pd.DataFrame(columns=list(COLUMNS))
    for col in NUMERIC_COLUMNS:
        df[col] = pd.to_numeric(df[col].replace("", None), errors="coerce").astype(float)
    return df


def _rows_of(path: str | Path, competition: str | None) -> list[dict[str, str]]:
    """The ledger's rows, only ``competition``'s when given."""
    return [r for r in _read_rows(Path(path)) if competition is None or r["competition"] == competition]


def rows_with_sha(path: str | Path, sha256: str, competition: str | None = None) -> list[dict[str, str]]:
    """Rows of this file hash (only ``competition``'s when given), dry runs included."""
    return [r for r in _rows_of(path, competition) if r["sha256"] == sha256]


def submitted(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The rows that reached Kaggle (dry runs do not count)."""
    return [r for r in rows if r["status"] not in NOT_SUBMITTED]


def submitted_rows_with_sha(path: str | Path, sha256: str) -> list[dict[str, str]]:
    """Rows that reached Kaggle with this file hash: the duplicate guard's input."""
    return submitted(rows_with_sha(path, sha256))


def known_refs(path: str | Path, competition: str | None = None) -> set[str]:
    """Kaggle refs the ledger records (only ``competition``'s when given)."""
    return {r["kaggle_ref"] for r in _rows_of(path, competition) if r["kaggle_ref"]}
