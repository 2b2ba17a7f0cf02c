"""``kaggle-kit data verify`` and ``kaggle-kit data download``."""
from __future__ import annotations

import argparse
import sys

from kaggle_kit.config import COMPETITION_SLUG
from kaggle_kit.text import count_words


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="check or download the competition data")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    v = dsub.add_parser("verify", help="check files, md5s and the pickle format; print a summary")
    v.add_argument("--data-dir", help="data folder (default: $KAGGLE_KIT_DATA when set (only there), "
                                      "else ./data, then Kaggle input)")
    v.add_argument("--no-md5", action="store_true", help="skip the md5 check of the official batches")
    v.set_defaults(func=verify)
    d = dsub.add_parser("download", help="download the competition files with the kaggle client (into "
                                         "$KAGGLE_KIT_DATA when set, else data/)")
    d.add_argument("--competition", default=COMPETITION_SLUG, help="Kaggle competition slug (default: %(default)s)")
    d.add_argument("--dest", help="destination folder (default: $KAGGLE_KIT_DATA, else data), where the other "
                                  "commands then find it")
    d.set_defaults(func=download)


def verify(args: argparse.Namespace, just_downloaded: bool = False) -> int:
    from kaggle_kit.datapaths import given_data_dir, layout_hints, reading_data, verify_data
    from kaggle_kit.errors import DataFormatError, DataNotFoundError

    found = False
    try:
        with reading_data(args.data_dir) as paths:  # the folder found, its md5s and its loads: one download's files
            found = True
            report = verify_data(paths, check_md5=not args.no_md5)
    except DataNotFoundError:  # its advice, `kaggle-kit data download`, was just followed
        if found or not just_downloaded:
            raise
        # the folder locate_data looked in (``~`` expanded), not the path as written
        after = layout_hints([given_data_dir(args.data_dir)]) or "; " + _after_problems(True, False)
        raise DataNotFoundError(f"{args.data_dir}: the files just downloaded hold no CIFAR-10 batches "
                                f"(cifar-10-batches-py/data_batch_1 ...){after}") from None
    except DataFormatError as err:  # a file in a format the toolkit does not read
        if not found or not just_downloaded:
            raise
        raise type(err)(f"{err}; {_after_problems(True, False)}") from None
    for line in report.lines:
        print(line)
    if report.md5:
        bad = [n for n, ok in report.md5.items() if not ok]
        print(f"md5: {len(report.md5) - len(bad)}/{len(report.md5)} official files match")
    if report.problems:  # bad input, exit 2 as everywhere else; each problem on its own line, as validate does
        for problem in report.problems:
            print(f"problem: {problem}", file=sys.stderr)
        raise DataFormatError(f"{report.paths.root}: {count_words(len(report.problems), 'problem')} found; "
                              + _after_problems(just_downloaded, bool(report.md5) and not all(report.md5.values())))
    print("data OK")
    return 0


def _after_problems(just_downloaded: bool, md5_differs: bool) -> str:
    """What to do about failed checks: downloading again fixes a damaged or partial copy, but not files that
    were just fetched, which are what Kaggle serves."""
    if not just_downloaded:
        return "fetch the competition files again with `kaggle-kit data download`"
    if md5_differs:
        return ("these are the files Kaggle serves, and they differ from the official CIFAR-10 batches; "
                "`kaggle-kit data verify --no-md5` checks everything else")
    return "these are the files Kaggle serves now: check the competition's data page for a changed format"


def download(args: argparse.Namespace) -> int:
    from kaggle_kit.datapaths import given_data_dir
    from kaggle_kit.kaggle_api import download_competition_data

    dest = args.dest if args.dest is not None else given_data_dir() or "data"
    download_competition_data(dest, args.competition)
    return verify(argparse.Namespace(data_dir=dest, no_md5=False), just_downloaded=True)
