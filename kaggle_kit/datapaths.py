"""Finding the data folder and verifying it.

Order: explicit ``--data-dir``, else ``$KAGGLE_KIT_DATA``: either, when given, is the only folder looked in;
otherwise ``./data``, then inside a Kaggle kernel ``/kaggle/input/competitions/<slug>/`` then
``/kaggle/input/<slug>/``. Within a folder the competition's zip
layout (``cifar-10-python/cifar-10-batches-py/`` + ``cifar_test_nolabel.pkl``) is recognised, as is a bare
``cifar-10-batches-py/`` and the shared stand-in layout (``standin/cifar_test_nolabel.pkl``).
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from kaggle_kit.config import COMPETITION_SLUG
from kaggle_kit.data import CIFAR10_MD5, load_cifar10, load_competition
from kaggle_kit.errors import DataFormatError, DataNotFoundError
from kaggle_kit.fsio import md5_file
from kaggle_kit.staged_move import reading
from kaggle_kit.text import count_words

COMP_PICKLE = "cifar_test_nolabel.pkl"
KAGGLE_INPUT = Path("/kaggle/input")


@dataclass(frozen=True)
class DataPaths:
    root: Path
    cifar_dir: Path
    comp_pickle: Path | None


def in_kaggle_kernel() -> bool:
    return bool(os.environ.get("KAGGLE_KERNEL_RUN_TYPE"))


def _find_cifar_dir(root: Path) -> Path | None:
    """The one folder under ``root`` holding the batches. Two (a download of one layout merged into a folder
    holding another, an older edition's) are refused: the first would be used, silently, whichever is newer."""
    found: list[Path] = []
    for cand in (root / "cifar-10-python" / "cifar-10-batches-py", root / "cifar-10-batches-py", root):
        if (cand / "data_batch_1").is_file() and all(cand.resolve() != f.resolve() for f in found):
            found.append(cand)
    if len(found) > 1:
        raise DataFormatError(f"{root}: holds CIFAR-10 batches in two places, {found[0]} and {found[1]}; keep the "
                              f"one you want (the other may be from an older download) and remove the other")
    return found[0] if found else None


def _find_comp_pickle(root: Path) -> Path | None:
    for cand in (root / COMP_PICKLE, root / "standin" / COMP_PICKLE):
        if cand.is_file():
            return cand
    return None


def _inspect(root: Path) -> DataPaths | None:
    cifar = _find_cifar_dir(root)
    return DataPaths(root=root, cifar_dir=cifar, comp_pickle=_find_comp_pickle(root)) if cifar else None


@contextlib.contextmanager
def reading_folder(root: Path) -> Iterator[DataPaths | None]:
    """The data in ``root`` (None without CIFAR-10 batches), looked for and then read by the block under one hold
    against a download's move (``staged_move.reading``, which first undoes one a kill cut short: a folder holding
    some old files and some new, or neither, must never be read). Looked for outside it, a move half-way through
    could hide a file (a batch moved aside, the new one not yet in): the folder taken for one without data or
    without the competition pickle, or another folder chosen."""
    with reading(root):
        yield _inspect(root)


@contextlib.contextmanager
def reading_data(data_dir: str | Path | None = None, competition: str = COMPETITION_SLUG,
                 require_comp: bool = False) -> Iterator[DataPaths]:
    """``locate_data``'s folder, held against a download's move from the moment it is looked in until the block
    has read it: every read of the data folder (find, fingerprint, load) goes through here, so none sees some
    files old and some new. Raises ``locate_data``'s errors."""
    explicit = given_data_dir(data_dir)
    if explicit is not None and explicit.is_file():
        named_by = "--data-dir" if data_dir is not None else "KAGGLE_KIT_DATA"
        raise DataNotFoundError(_file_not_folder(explicit, named_by))
    looked = candidate_folders(data_dir, competition)
    for root in looked:
        with reading_folder(root) as found:
            if found and (found.comp_pickle or not require_comp):
                yield found
                return
    where = ", ".join(str(p) for p in looked)
    if data_dir is None and explicit is not None:
        where += " (from KAGGLE_KIT_DATA; unset it to look in ./data)"
    what = "CIFAR-10 batches and cifar_test_nolabel.pkl" if require_comp else "CIFAR-10 batches"
    raise DataNotFoundError(
        f"no competition data found ({what}; looked in: {where}); get it with `kaggle-kit data download` "
        f"(needs Kaggle credentials and the accepted rules), or pass --data-dir / set KAGGLE_KIT_DATA"
        + layout_hints(looked))


def candidate_folders(data_dir: str | Path | None = None, competition: str = COMPETITION_SLUG) -> list[Path]:
    """Where to look, in order. A leading '~' is expanded: a shell leaves it alone in quotes, and CI files and
    .env files never expand it, so 'looked in: ~/data' would name a folder that exists and was not read."""
    explicit = given_data_dir(data_dir)
    if explicit is not None:
        return [explicit]
    out = [Path("data")]
    if in_kaggle_kernel():
        out += [KAGGLE_INPUT / "competitions" / competition, KAGGLE_INPUT / competition]
    return out


def given_data_dir(data_dir: str | Path | None = None) -> Path | None:
    """The folder the user named, with ``--data-dir`` or ``$KAGGLE_KIT_DATA`` (in that order), else None.

    A named folder is the only place looked: falling back to ``./data`` when ``$KAGGLE_KIT_DATA`` had a typo or
    pointed at a folder since moved trained and reported on other data than the user chose, without a word."""
    if data_dir is not None:
        return _expand_home(data_dir)
    env = os.environ.get("KAGGLE_KIT_DATA")
    return _expand_home(env) if env else None


def _expand_home(path: str | Path) -> Path:
    """``~`` and ``~user`` expanded; one whose home cannot be found (``~nosuchuser``, no $HOME) stays as written,
    so the error names it instead of a RuntimeError traceback."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        return Path(path)


def locate_data(data_dir: str | Path | None = None, competition: str = COMPETITION_SLUG,
                require_comp: bool = False) -> DataPaths:
    """The first folder holding the CIFAR-10 batches (chosen while no download moves files in); the error lists
    every place looked. Only for where the data is: a read of it goes through ``reading_data``."""
    with reading_data(data_dir, competition, require_comp) as found:
        return found


def layout_hints(roots: list[Path]) -> str:
    """What a folder looked in holds instead of the expected layout ('; found ...'), or ''."""
    return _packed_hint(roots) + _case_hint(roots)


_EXPECTED_NAMES = ("cifar-10-python", "cifar-10-batches-py", "data_batch_1", "standin", COMP_PICKLE)


def _case_hint(roots: list[Path]) -> str:
    """'; found D/Cifar_Test_Nolabel.pkl: names are case-sensitive, ...' for a file or folder whose name differs
    from an expected one only in case (renamed by hand, or unpacked on a case-insensitive disk and copied)."""
    wanted = {n.lower(): n for n in _EXPECTED_NAMES}
    for root in roots:
        for folder in (root, root / "cifar-10-python", root / "cifar-10-batches-py", root / "standin"):
            try:
                entries = sorted(folder.iterdir()) if folder.is_dir() else []
            except OSError:
                continue
            for entry in entries:
                expected = wanted.get(entry.name.lower())
                if expected is not None and entry.name != expected:
                    return f"; found {entry}: names are case-sensitive, rename it to {expected}"
    return ""


ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")


def _file_not_folder(path: Path, what: str) -> str:
    """``what`` (--data-dir or KAGGLE_KIT_DATA) names a file: say so, and how to unpack it when it is the downloaded
    archive."""
    from kaggle_kit.safe_pickle import HEAD_BYTES, archive_kind, describe_archive, unpack_command

    msg = f"{path}: {what} must be a folder, found a file"
    try:
        with open(path, "rb") as fh:
            kind = archive_kind(fh.read(HEAD_BYTES))
    except OSError:
        kind = None
    command = unpack_command(path, kind, into=path.parent)
    if kind and command:
        msg += f" ({describe_archive(kind)}); unpack it first (`{command}`) and pass the folder it makes"
    return msg


def _packed_hint(looked: list[Path]) -> str:
    """'; found data/comp.zip, not unpacked: ...' when a folder looked in holds a downloaded archive."""
    packed: list[Path] = []
    for root in looked:
        try:
            if root.is_dir():
                packed += sorted(p for p in root.iterdir() if p.name.lower().endswith(ARCHIVE_SUFFIXES))
        except OSError:
            continue
    if not packed:
        return ""
    first = packed[0]
    name = first.name.lower()
    kind = "zip" if name.endswith(".zip") else "tar" if name.endswith(".tar") else "tar.gz"
    more = f" (and {count_words(len(packed) - 1, 'more archive')})" if len(packed) > 1 else ""
    from kaggle_kit.safe_pickle import unpack_command

    return f"; found {first}{more}, not unpacked: unpack it first (`{unpack_command(first, kind, into=first.parent)}`)"


@dataclass
class VerifyReport:
    paths: DataPaths
    md5: dict[str, bool] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def verify_data(paths: DataPaths, check_md5: bool = True) -> VerifyReport:
    """Check files, md5 of the official batches and the pickle format; summarise counts and image stats."""
    report = VerifyReport(paths=paths)
    if check_md5:
        for name, expected in CIFAR10_MD5.items():
            f = paths.cifar_dir / name
            try:
                ok = f.is_file() and md5_file(f) == expected
                why = "md5 differs from the official file" if f.is_file() else "missing"
            except OSError as err:
                ok, why = False, f"cannot read it ({err.strerror or err.__class__.__name__})"
            report.md5[name] = ok
            if not ok:
                report.problems.append(f"{f}: {why}")
    data = load_cifar10(paths.cifar_dir)  # raises DataFormatError on a malformed batch
    tr = np.bincount(data.train_labels, minlength=10)
    te = np.bincount(data.test_labels, minlength=10)
    report.lines.append(f"CIFAR-10: {paths.cifar_dir}: {len(data.train_labels):,} train, "
                        f"{len(data.test_labels):,} test images")
    report.lines.append("  class          train   test")
    for i, name in enumerate(data.class_names):
        report.lines.append(f"  {name:<12} {tr[i]:>7,} {te[i]:>6,}")
    mean = data.train_images.reshape(-1, 3).mean(0) / 255
    std = data.train_images.reshape(-1, 3).std(0) / 255
    report.lines.append("  train RGB mean " + " ".join(f"{m:.4f}" for m in mean)
                        + "  std " + " ".join(f"{s:.4f}" for s in std))
    if paths.comp_pickle is None:
        report.problems.append(f"{paths.root}: no {COMP_PICKLE} (the competition's unlabeled test pickle)"
                               + _case_hint([paths.root]))
    else:
        comp = load_competition(paths.comp_pickle)
        cmean = comp.images.reshape(-1, 3).mean(0) / 255
        cstd = comp.images.reshape(-1, 3).std(0) / 255
        report.lines.append(f"competition: {paths.comp_pickle}: {len(comp.ids):,} images, ids "
                            f"{int(comp.ids.min())}..{int(comp.ids.max())} (unique)")
        report.lines.append("  RGB mean " + " ".join(f"{m:.4f}" for m in cmean)
                            + "  std " + " ".join(f"{s:.4f}" for s in cstd))
    return report
