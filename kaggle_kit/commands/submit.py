"""``kaggle-kit submit FILE.csv -m MSG`` or ``kaggle-kit submit --from RUN -m MSG``: validate, upload, record."""
from __future__ import annotations

import argparse
import contextlib
import tempfile
from pathlib import Path

from kaggle_kit.config import COMPETITION_SLUG, UPLOAD_MODES, ReportConfig
from kaggle_kit.errors import KitError, SubmissionError, UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("submit", help="validate a submission CSV, upload it to Kaggle and record it in the ledger")
    p.add_argument("csv", nargs="?", help="submission CSV (ID,Labels); or use --from RUN")
    p.add_argument("--from", dest="from_run", metavar="RUN",
                   help="write the CSV from a run's or ensemble's competition logits, then submit it")
    p.add_argument("--out", help="with --from: where to write the CSV (default: submissions/<run>.csv)")
    p.add_argument("-m", "--message", required=True, help="submission description shown on Kaggle")
    p.add_argument("--competition", default=COMPETITION_SLUG, help="Kaggle competition slug (default: %(default)s)")
    p.add_argument("--upload", choices=UPLOAD_MODES, default="auto",
                   help="auto: upload when credentials exist, else dry run (default); never: dry run; "
                        "always: fail without credentials")
    p.add_argument("--force", action="store_true", help="submit even if the same file is already in the ledger")
    p.add_argument("--against", metavar="PICKLE", help="competition pickle whose ids the CSV must cover "
                                                       "(default: found like `data verify` does)")
    p.add_argument("--data-dir", help="data folder holding the competition pickle (and CIFAR-10, which --from "
                                      "uses for the image-based leaderboard prediction; default: $KAGGLE_KIT_DATA "
                                      "when set (only there), else ./data, then Kaggle input)")
    p.add_argument("--ledger", default="submissions/ledger.csv", help="ledger CSV (default: %(default)s)")
    p.add_argument("--synthetic-per-set", type=int, default=ReportConfig.synthetic_per_set, metavar="N",
                   help="with --from: holdout images per synthetic shift for the leaderboard prediction, as in "
                        "`kaggle-kit report` (cached in the run folder; 0: faster, without CC-Synth; "
                        "default: %(default)s)")
    p.set_defaults(func=run)


def _competition(args: argparse.Namespace):
    from kaggle_kit.data import load_competition
    from kaggle_kit.datapaths import reading_data

    if args.against:
        return load_competition(args.against)
    with reading_data(args.data_dir, competition=args.competition, require_comp=True) as paths:
        return load_competition(paths.comp_pickle)


def _cifar10_or_none(args: argparse.Namespace):
    """CIFAR-10 for the image-based estimators; without it the prediction falls back to logits alone."""
    from kaggle_kit.data import load_cifar10
    from kaggle_kit.datapaths import reading_data
    from kaggle_kit.errors import DataNotFoundError

    try:
        with reading_data(args.data_dir, competition=args.competition) as paths:
            return load_cifar10(paths.cifar_dir)
    except DataNotFoundError:
        print("note: CIFAR-10 not found, so the leaderboard prediction uses the competition logits alone")
        return None


def _staged_csv(folder: Path, target: Path, ids, tmp: Path) -> tuple[Path, bool]:
    """The run's CSV written and validated under ``tmp`` (nothing at ``target`` yet), and whether ``target``
    must be created from it; an existing ``target`` is reused only when it holds exactly the same bytes."""
    from kaggle_kit.fsio import sha256_file
    from kaggle_kit.predict import submission_from_run

    fresh = submission_from_run(folder, tmp / target.name, expected_ids=ids)
    if target.exists():
        if sha256_file(fresh) != sha256_file(target):
            raise SubmissionError(f"{target} exists with different predictions; pass --out NEW.csv to keep both")
        return fresh, False
    return fresh, True


def _one_submit_of(sha: str, ledger_path: Path, target: Path):
    """Held by a `submit --from` from the moment its CSV is known until its ledger row is written: a second
    submit of the same predictions into the same ledger (the command run twice) is refused at once, not after
    the minutes of its own leaderboard prediction, when the ledger's duplicate check would refuse it anyway."""
    from kaggle_kit.fsio import one_at_a_time, through_symlink

    where = through_symlink(ledger_path).absolute()  # one ledger, however it is named or linked
    return one_at_a_time(f"submit:{where}:{sha}", f"another `kaggle-kit submit` of the same predictions as {target} "
                                                  f"(sha256 {sha[:12]}) into {ledger_path} is running; wait for it "
                                                  f"to finish")


def run(args: argparse.Namespace) -> int:
    from kaggle_kit.fsio import atomic_write_bytes, check_file_target, new_paths, remove_created, sha256_file
    from kaggle_kit.upload import (UPLOAD_ATTEMPTED, LocalScores, again_command, check_models_within_budget,
                                   check_not_submitted, check_run_logits, check_submit_inputs, local_scores,
                                   models_within, parameters_note, resolve_mode, run_ids, submit_csv)
    from kaggle_kit.submission import check_csv_file

    if bool(args.csv) == bool(args.from_run):
        raise UsageError("give either a CSV file or --from RUN (exactly one)")
    if args.out and not args.from_run:
        raise UsageError("--out only applies with --from RUN")
    if args.synthetic_per_set < 0:
        raise UsageError("--synthetic-per-set must be 0 (off) or more")
    # Every check of the input comes first: nothing slow is computed, nothing written and nothing uploaded
    # until the message, competition, ledger, upload mode, output path and run are known to be usable.
    check_submit_inputs(args.message, args.competition, args.ledger)
    resolve_mode(args.upload)  # --upload always without credentials fails here, not after the prediction
    submit = dict(competition=args.competition, upload=args.upload, force=args.force, ledger_path=args.ledger,
                  again=again_command(args.command_line))  # a dry run names this command, without --upload
    if not args.from_run:
        csv = Path(args.csv)
        check_csv_file(csv)  # said before the data is looked for (a missing CSV is the likelier mistake)
        comp = _competition(args)
        submit_csv(csv, args.message, expected_ids=comp.ids, runs=[], scores=LocalScores(), against=comp.source or None,
                   **submit)
        return 0

    from kaggle_kit.runs import run_dir

    folder = run_dir(args.from_run)
    target = Path(args.out) if args.out else Path("submissions") / f"{folder.name}.csv"
    check_file_target(target, "submission CSV (--out)")
    check_run_logits(folder)
    models = models_within(folder)  # the members' train manifests, read once for the check and the note
    check_models_within_budget(models)
    comp = _competition(args)
    with contextlib.ExitStack() as busy:
        with tempfile.TemporaryDirectory(prefix="kaggle-kit-submit-") as tmp:
            fresh, create = _staged_csv(folder, target, comp.ids, Path(tmp))
            sha = sha256_file(fresh)
            busy.enter_context(_one_submit_of(sha, Path(args.ledger), target))  # until its row is written
            if not args.force:  # before the minutes the leaderboard prediction takes
                check_not_submitted(Path(args.ledger), sha, target)
            note = parameters_note(models)
            if note:
                print(note)
            scores = local_scores(folder, _cifar10_or_none(args), comp, args.synthetic_per_set, echo=print,
                                  ledger_path=args.ledger, competition=args.competition)
            created = new_paths(target) if create else []
            if create:
                atomic_write_bytes(target, fresh.read_bytes())
        try:
            submit_csv(target, args.message, expected_ids=comp.ids, runs=run_ids(folder), scores=scores,
                       against=comp.source or None, **submit)
        except KitError as err:
            if not getattr(err, UPLOAD_ATTEMPTED, False):
                remove_created(created)  # refused before the upload: leave nothing behind
            raise
    return 0
