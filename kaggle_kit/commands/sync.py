"""``kaggle-kit sync``: pull the team's submissions (status, public/private score) into the ledger."""
from __future__ import annotations

import argparse

from kaggle_kit.config import COMPETITION_SLUG


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync", help="update the ledger with Kaggle's statuses and scores")
    p.add_argument("--competition", default=COMPETITION_SLUG, help="Kaggle competition slug (default: %(default)s)")
    p.add_argument("--ledger", default="submissions/ledger.csv", help="ledger CSV (default: %(default)s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kaggle_kit import kaggle_api
    from kaggle_kit.upload import sync_ledger

    kaggle_api.require_credentials()
    result = sync_ledger(args.competition, args.ledger)
    print(f"{args.ledger}: {result.describe()}")
    return 0
