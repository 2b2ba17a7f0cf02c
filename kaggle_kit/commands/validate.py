"""``kaggle-kit validate FILE.csv --against PICKLE``: exit 0 only when Kaggle would accept the file."""
from __future__ import annotations

import argparse
import sys

from kaggle_kit.errors import SubmissionError
from kaggle_kit.text import count_words


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check a submission CSV against the competition pickle's ids")
    p.add_argument("csv", help="submission CSV (ID,Labels)")
    p.add_argument("--against", required=True, metavar="PICKLE", help="the competition's test pickle")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kaggle_kit.data import load_competition
    from kaggle_kit.submission import MAX_PROBLEMS_LISTED, check_csv_file, validate_submission

    check_csv_file(args.csv)  # one line, before the pickle is read, as `submit` says it
    comp = load_competition(args.against)
    problems = validate_submission(args.csv, comp.ids)
    if not problems:
        print(f"{args.csv}: valid ({len(comp.ids):,} rows, header ID,Labels, labels 0-9)")
        return 0
    for line in problems[:MAX_PROBLEMS_LISTED]:
        print(line, file=sys.stderr)
    if len(problems) > MAX_PROBLEMS_LISTED:
        print(f"... {len(problems) - MAX_PROBLEMS_LISTED:,} more", file=sys.stderr)
    raise SubmissionError(f"{args.csv}: invalid submission ({count_words(len(problems), 'problem')})")
