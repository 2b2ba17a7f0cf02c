"""``kaggle-kit submit FILE.csv -m MSG`` or ``kaggle-kit submit --from RUN -m MSG``: validate, upload, record."""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from kaggle_kit.config import COMPETITION_SLUG, ReportConfig
from kaggle_kit.errors import SubmissionError, UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("submit", help="validate a submission CSV, upload it to Kaggle and record it in the ledger")
    p.add_argument("csv", nargs="?", help="submission CSV (ID,Labels); or use --from RUN")
    p.add_argument("--from", dest="from_run", metavar="RUN",
                   help="write the CSV from a run's or ensemble's competition logits, then submit it")
    p.add_argument("--out", help="with --from: where to write the CSV (default: submissions/<run>.csv)")
    p.add_argument("-m", "--message", required=True, help="submission description shown on Kaggle")
    p.add_argument("--competition", default=COMPETITION_SLUG)
    p.add_argument("--upload", choices=("auto", "never", "always"), default="auto",
                   help="auto: upload when credentials exist, else dry run (default); never: dry run; "
                        "always: fail without credentials")
    p.add_argument("--force", action="store_true", help="submit even if the same file is already in the ledger")
    p.add_argument("--against", metavar="PICKLE", help="competition pickle whose ids the CSV must cover "
                                                       "(default: found like `data verify` does)")
    p.add_argument("--data-dir", help="data folder holding the competition pickle (and CIFAR-10, which --from "
                                      "uses for the image-based leaderboard prediction)")
    p.add_argument("--ledger", default="submissions/ledger.csv", help="ledger CSV (default: %(default)s)")
    p.add_argument("--synthetic-per-set", type=int, default=ReportConfig.synthetic_per_set, metavar="N",
                   help="with --from: holdout images per synthetic shift for the leaderboard prediction, as in "
                        "`kaggle-kit report` (cached in the run folder; 0: faster, without CC-Synth; "
                        "default: %(default)s)")
    p.set_defaults(func=run)


def _competition(args: argparse.Namespace):
    from kaggle_kit.data import load_competition
    from kaggle_kit.datapaths import locate_data

    pickle = args.against or locate_data(args.data_dir, competition=args.competition, require_comp=True).comp_pickle
    return load_competition(pickle)


def _cifar10_or_none(args: argparse.Namespace):
    """CIFAR-10 for the image-based estimators; without it the prediction falls back to logits alone."""
    from kaggle_kit.data import load_cifar10
    from kaggle_kit.datapaths import locate_data
    from kaggle_kit.errors import DataNotFoundError

    try:
        return load_cifar10(locate_data(args.data_dir, competition=args.competition).cifar_dir)
    except DataNotFoundError:
        print("note: CIFAR-10 not found, so the leaderboard prediction uses the competition logits alone")
        return None


def _csv_from_run(run: str, out: str | None) -> Path:
    """Write the run's CSV; an existing file is reused only when it holds exactly the same bytes."""
    from kaggle_kit.fsio import sha256_file
    from kaggle_kit.predict import submission_from_run
    from kaggle_kit.runs import run_dir

    folder = run_dir(run)
    target = Path(out) if out else Path("submissions") / f"{folder.name}.csv"
    if not target.exists():
        return submission_from_run(folder, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        fresh = submission_from_run(folder, Path(tmp) / target.name)
        if sha256_file(fresh) != sha256_file(target):
            raise SubmissionError(f"{target} exists with different predictions; pass --out NEW.csv to keep both")
    return target


def run(args: argparse.Namespace) -> int:
    from kaggle_kit.upload import LocalScores, local_scores, run_ids, submit_csv

    if bool(args.csv) == bool(args.from_run):
        raise UsageError("give either a CSV file or --from RUN (exactly one)")
    if args.out and not args.from_run:
        raise UsageError("--out only applies with --from RUN")
    if args.synthetic_per_set < 0:
        raise UsageError("--synthetic-per-set must be 0 (off) or more")
    comp = _competition(args)
    ids = comp.ids
    if args.from_run:
        from kaggle_kit.runs import run_dir

        folder = run_dir(args.from_run)
        csv, runs = _csv_from_run(args.from_run, args.out), run_ids(folder)
        scores = local_scores(folder, _cifar10_or_none(args), comp, args.synthetic_per_set, echo=print,
                              ledger_path=args.ledger, competition=args.competition)
    else:
        csv, runs, scores = Path(args.csv), [], LocalScores()
    submit_csv(csv, args.message, expected_ids=ids, competition=args.competition, runs=runs, scores=scores,
               upload=args.upload, force=args.force, ledger_path=args.ledger)
    return 0
