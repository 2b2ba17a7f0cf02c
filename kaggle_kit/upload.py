"""Submitting a CSV and keeping ``submissions/ledger.csv`` in step with Kaggle.

The order of checks protects the scarce daily slots: the CSV must validate against the competition ids, the
same bytes (sha256) must not have reached Kaggle before, and the submission limits are asked before anything
is uploaded. Without credentials the same path ends in a dry run: the ledger gets a ``dry-run`` row and the
user gets the exact command that would upload the file.
"""
from __future__ import annotations

import dataclasses
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from kaggle_kit import kaggle_api, ledger
from kaggle_kit.config import COMPETITION_SLUG, UPLOAD_MODES, slug_problem
from kaggle_kit.errors import (DataFormatError, DataNotFoundError, DuplicateSubmissionError, KaggleError, KitError,
                               LedgerError, SubmissionError, SubmissionLimitError, UsageError)
from kaggle_kit.fsio import check_file_target, sha256_file
from kaggle_kit.interrupts import signals_held
from kaggle_kit.runs import LOGIT_SPLITS, NUM_CLASSES, RecipeKeys, recipe_keys
from kaggle_kit.text import count_words, noun_for, percent

if TYPE_CHECKING:
    from kaggle_kit.gap.estimators import Prediction

# Set on an error raised once the upload was attempted: the file may be on Kaggle, so it must be kept.
UPLOAD_ATTEMPTED = "upload_attempted"


# ------------------------------------------------------------------------------------------ input checks
def check_message(message: str, source: str = "-m") -> None:
    """``source``: where the message came from, as the user set it (``-m``, or a pipeline's ``submit.message``)."""
    if not message or not message.strip():
        raise SubmissionError(f"a submission needs a message ({source}): it is how you tell submissions apart later")
    n = ledger.cell_chars(message)
    if n > ledger.MAX_CELL_CHARS:  # refused before the upload, not by the ledger after it
        what = "the message (-m)" if source == "-m" else source
        how = "" if n == len(message) else " as the ledger writes it (a byte that is not UTF-8 as its escape)"
        raise SubmissionError(f"{what} has {n:,} characters{how}; the ledger keeps at most "
                              f"{ledger.MAX_CELL_CHARS:,}: shorten it")


def check_competition(competition: str) -> None:
    need = slug_problem(competition)
    if need is not None:
        raise UsageError(f"competition '{competition[:60]}' is not {need}, e.g. {COMPETITION_SLUG}")


def check_ledger(ledger_path: str | Path) -> None:
    """The ledger can be written as a file (not a folder; its folder exists or can be made) and, when it exists,
    read as a kaggle-kit ledger. Writes nothing: it runs before anything is uploaded or written."""
    path = Path(ledger_path)
    check_file_target(path, "ledger")
    check_file_target(path.with_name(path.name + ".lock"), "ledger's lock file")
    try:
        ledger.read_ledger(path)  # a foreign header or a bad row is a LedgerError naming the file (and line)
    except OSError as err:
        raise LedgerError(f"{path}: cannot read the ledger ({err.strerror or err.__class__.__name__})") from None


def check_submit_inputs(message: str, competition: str, ledger_path: str | Path) -> None:
    """Everything about a submission that does not depend on its CSV: the message, the competition slug and the
    ledger. Cheap; callers run it before anything slow, written or uploaded."""
    check_message(message)
    check_competition(competition)
    check_ledger(ledger_path)


def check_run_logits(folder: str | Path) -> None:
    """Each of the folder's ``logits_*.npz`` present is (N, NUM_CLASSES) with consistent ids and labels (a
    ``RunError`` naming the file otherwise); missing ones are allowed (their scores are left empty)."""
    from kaggle_kit.runs import load_logits

    for split in LOGIT_SPLITS:
        path = Path(folder) / f"logits_{split}.npz"
        if path.exists():
            load_logits(path, NUM_CLASSES)


# ------------------------------------------------------------------------------------------ local scores
@dataclass(frozen=True)
class LocalScores:
    holdout_acc: float | None = None
    test_acc: float | None = None
    predicted_lb_acc: float | None = None
    predicted_by: str | None = None          # the estimator behind predicted_lb_acc
    predicted_range: tuple[float, float] | None = None  # (low, high) to expect, fractions
    estimates: Mapping[str, float] | None = None  # every estimator's prediction, fractions (the ledger keeps them)
    recipe: RecipeKeys | None = None         # the folder's, shared by the correction and the ledger


def local_scores(folder: str | Path, data: Any = None, comp: Any = None, synthetic_per_set: int = 300,
                 echo: Callable[[str], None] | None = None, ledger_path: str | Path | None = None,
                 competition: str = COMPETITION_SLUG) -> LocalScores:
    """Holdout and CIFAR-10 test accuracy of a run or ensemble, and the gap report's recommended prediction of
    its leaderboard accuracy; each is None when its logits are missing.

    With ``data`` (CIFAR-10) and ``comp`` (the competition set) the prediction is the one report section 2
    recommends (Ref-Stack-Gated for a BatchNorm run with its reference logits, else Median-5-Spread, when
    the run's weights or members are found), else the best logits-only one.
    With ``ledger_path`` it also echoes the prediction corrected by earlier scored submissions
    (``gap.leaderboard_feedback``); the ledger keeps the uncorrected one, which later corrections build on.
    """
    from kaggle_kit.runs import load_logits

    folder = Path(folder)

    def load(split: str):
        path = folder / f"logits_{split}.npz"
        # a missing split leaves its score empty; a broken one is an error naming the file, not a silent gap
        return load_logits(path, NUM_CLASSES) if path.exists() else None

    hold, test = load("holdout"), load("test")
    scores = LocalScores(hold.accuracy if hold else None, test.accuracy if test else None, recipe=recipe_keys(folder))
    if hold is None or hold.labels is None or not (folder / "logits_comp.npz").is_file():
        return scores
    try:
        from kaggle_kit.gap.report_runs import leaderboard_prediction

        pred = leaderboard_prediction(folder, data, comp, synthetic_per_set)
    except (ImportError, KitError, ValueError, FloatingPointError, np.linalg.LinAlgError) as err:
        # an estimate is a bonus: the submission does not depend on it, so a failure is a warning
        if echo is not None:
            echo(f"warning: no leaderboard prediction for {folder.name} ({err})")
        return scores
    if echo is not None:
        echo(f"{folder.name}: {pred.describe()}")
        if ledger_path is not None:
            _echo_correction(folder, pred, Path(ledger_path), competition, echo, scores.recipe)
    rng = None if pred.low is None else (pred.low, pred.high)
    return dataclasses.replace(scores, predicted_lb_acc=pred.accuracy, predicted_by=pred.estimator,
                               predicted_range=rng, estimates=dict(pred.estimates))


def _echo_correction(folder: Path, pred: "Prediction", ledger_path: Path, competition: str,
                     echo: Callable[[str], None], recipe: RecipeKeys | None) -> None:
    """The prediction corrected by the ledger's earlier misses, when any qualify (``gap.leaderboard_feedback``)."""
    from kaggle_kit.gap import estimators, leaderboard_feedback

    try:
        df = ledger.read_ledger(ledger_path)
    except KitError:
        return  # the ledger's own error surfaces when submit_csv reads it
    c = leaderboard_feedback.corrected_prediction({**pred.estimates, pred.estimator: pred.accuracy}, pred.estimator,
                                                  df, competition, run_ids(folder), estimators.logits_only_estimator(),
                                                  recipe=recipe)
    if c is not None:
        echo(f"{folder.name}: {c.describe()}")
        switch = leaderboard_feedback.switch_words(c.offset.estimator, pred.estimator)
        if switch:
            echo(f"  ({switch})")
        echo(f"  ({leaderboard_feedback.evidence_line(c)})")
        if c.low is not None:
            echo(f"  (the range: {leaderboard_feedback.range_basis(c)})")


def run_ids(folder: str | Path) -> list[str]:
    """The ledger's ``runs`` for a submission of a run or ensemble folder: the run's id, or the ensemble's direct
    members (a member ensemble by its own name, not its runs). It is the identity the gap report matches ledger rows
    by (``runs.member_names``): `report` finds the submitted ensemble, and a run's own score, from it; the flat
    runs would also merge an ensemble of ensembles with the flat ensemble of the same runs."""
    from kaggle_kit.runs import member_names

    return member_names(folder) or [Path(folder).name]


def _model_params(folders: Sequence[Path]) -> list[int | None]:
    """Each run folder's trainable parameters, from its train manifest; None where it records none."""
    from kaggle_kit.runs import read_manifest

    counts = [((read_manifest(f, "train") or {}).get("metrics") or {}).get("params") for f in folders]
    return [c if isinstance(c, int) and not isinstance(c, bool) else None for c in counts]


def models_within(folder: str | Path) -> dict[Path, int | None] | None:
    """Every run folder behind a run or ensemble folder, however deep, with its model's trainable parameters (its
    train manifest; None where it records none); None when a member is not on disk. Read once for both
    ``check_models_within_budget`` and ``parameters_note``."""
    from kaggle_kit.ensemble import run_folders_within

    folders = run_folders_within(Path(folder))
    return None if folders is None else dict(zip(folders, _model_params(folders)))


def check_models_within_budget(models: Mapping[Path, int | None] | None) -> None:
    """Every model of ``models_within`` has under the competition's 5,000,000 trainable parameters (as its train
    manifest records them). Training refuses a larger one, but a run trained before model.max_params was capped,
    or elsewhere, could still be submitted."""
    from kaggle_kit.config import COMPETITION_MAX_PARAMS, budget_relation
    from kaggle_kit.errors import ParameterBudgetError

    for run, n in (models or {}).items():
        relation = None if n is None else budget_relation(n, COMPETITION_MAX_PARAMS)
        if relation is not None:
            raise ParameterBudgetError(f"{run}: its model has {n:,} trainable parameters (its train manifest), "
                                       f"{relation} the competition's {COMPETITION_MAX_PARAMS:,}; it cannot be submitted")


def parameters_note(models: Mapping[Path, int | None] | None) -> str | None:
    """``combined_parameters_note`` for the models of ``models_within``, naming the command that submits one of
    them; None when a member's count is unknown."""
    from kaggle_kit.models.counting import combined_parameters_note

    counts = list((models or {}).values())
    if len(counts) < 2 or None in counts:
        return None
    note = combined_parameters_note(counts)
    return note and f"{note}, e.g. `kaggle-kit submit --from {shlex.quote(str(next(iter(models))))} -m MSG`"


# ------------------------------------------------------------------------------------------ submit
def upload_command(csv_path: str | Path, message: str, competition: str, against: str | Path | None = None,
                   ledger_path: str | Path = ledger.DEFAULT_LEDGER) -> str:
    """The command that uploads this file and records it (printed by dry runs): with ``--against`` when the
    competition pickle it was checked against is not the one the data search finds from here, and ``--ledger``
    when the ledger is not the default one, so it runs as printed."""
    from kaggle_kit.datapaths import locate_data

    extra = ""
    if against is not None:
        try:
            found = locate_data(competition=competition, require_comp=True).comp_pickle
        except (DataNotFoundError, DataFormatError):  # not found, or a folder it refuses: name the pickle
            found = None
        if found is None or Path(found).resolve() != Path(against).resolve():
            extra += f" --against {shlex.quote(str(against))}"
    if Path(ledger_path) != ledger.DEFAULT_LEDGER:
        extra += f" --ledger {shlex.quote(str(ledger_path))}"
    return (f"kaggle-kit submit {shlex.quote(str(csv_path))} -m {shlex.quote(message)} "
            f"--competition {shlex.quote(competition)}{extra}")


_UPLOAD_SETTINGS = ("--upload", "submit.upload")


def again_command(argv: Sequence[str], extra: Sequence[str] = ()) -> str:
    """The command a dry run came from, as typed, without its upload setting (``--upload X``, ``--set
    submit.upload=X``), plus ``extra``: run again with credentials, it uploads and records what the first recorded
    (the runs, recipe and predictions a bare `submit FILE.csv` would lose)."""
    out, skip = [], False
    for i, word in enumerate(argv):
        if skip:
            skip = False
            continue
        nxt = argv[i + 1] if i + 1 < len(argv) else ""
        if word == "--upload" or (word == "--set" and nxt.startswith("submit.upload=")):
            skip = True
            continue
        if word.startswith("--upload=") or word.startswith("--set=submit.upload="):
            continue
        out.append(word)
    return shlex.join(["kaggle-kit", *out, *extra])


def check_not_submitted(ledger_path: Path, sha: str, csv_path: Path) -> None:
    rows = ledger.submitted_rows_with_sha(ledger_path, sha)
    if rows:
        first = rows[0]
        ref = f" as ref {first['kaggle_ref']}" if first["kaggle_ref"] else ""
        raise DuplicateSubmissionError(
            f"{csv_path} (sha256 {sha[:12]}) was already submitted on {first['time']}{ref}, status "
            f"{first['status'] or 'unknown'}; pass --force to spend a submission on it again")


def resolve_mode(upload: str) -> str:
    """'upload' or 'dry-run' for an upload setting; raises when 'always' finds no credentials, or an upload a bad
    ``KAGGLE_KIT_KAGGLE_TIMEOUT_S`` (before `submit --from` spends minutes on its prediction)."""
    if upload not in UPLOAD_MODES:
        raise UsageError(f"upload must be one of {', '.join(UPLOAD_MODES)}, found '{upload}'")
    if upload == "never":
        return "dry-run"
    if upload == "always":
        kaggle_api.require_credentials()
    elif not kaggle_api.has_credentials():
        return "dry-run"
    kaggle_api.timeout_s()
    return "upload"


def limit_words(limits: kaggle_api.Limits) -> str:
    if limits.limited_by_total:
        return f"lifetime limit reached, {limits.num_total} used in all"
    return f"daily limit reached, {limits.num_today} used today"


def limit_advice(limits: kaggle_api.Limits) -> str:
    """Kaggle's daily allowance resets at 00:00 UTC; a lifetime cap (``limited_by_total``) never does."""
    if limits.limited_by_total:
        return "this limit does not reset"
    return "rerun after the limit resets at 00:00 UTC"


def submit_csv(csv_path: str | Path, message: str, *, expected_ids: np.ndarray,
               competition: str = COMPETITION_SLUG, runs: Sequence[str] = (), scores: LocalScores = LocalScores(),
               upload: str = "auto", force: bool = False, ledger_path: str | Path = ledger.DEFAULT_LEDGER,
               policy: kaggle_api.RetryPolicy | None = None, echo: Callable[[str], None] = print,
               against: str | Path | None = None, again: str | None = None) -> dict:
    """Validate, de-duplicate, check the limits, upload (or dry-run) and record one submission (with
    ``scores.recipe``, the runs' ``runs.RecipeKeys``, so later corrections can prefer the same recipe's misses, or
    its label-smoothing variants'). ``again``: the command a dry run names for the upload (``again_command``),
    else a plain `kaggle-kit submit` of the CSV."""
    from kaggle_kit.submission import check_submission

    csv_path, ledger_path = Path(csv_path), Path(ledger_path)
    # every check of the input comes before the ledger is written or anything reaches Kaggle
    check_submit_inputs(message, competition, ledger_path)
    check_submission(csv_path, expected_ids)
    with ledger.locked(ledger_path):  # from the duplicate check to the row: a second submit waits, then sees it
        return _submit_checked(csv_path, message, competition=competition, runs=runs, scores=scores, upload=upload,
                               force=force, ledger_path=ledger_path, policy=policy, echo=echo, against=against,
                               again=again)


def _submit_checked(csv_path: Path, message: str, *, competition: str, runs: Sequence[str], scores: LocalScores,
                    upload: str, force: bool, ledger_path: Path, policy: kaggle_api.RetryPolicy | None,
                    echo: Callable[[str], None], against: str | Path | None, again: str | None) -> dict:
    """``submit_csv`` after the input checks, under the ledger's lock."""
    sha = sha256_file(csv_path)
    if not force:
        check_not_submitted(ledger_path, sha, csv_path)
    mode = resolve_mode(upload)
    fields: dict[str, Any] = dict(
        file=str(csv_path), sha256=sha, runs=list(runs), local_holdout_acc=scores.holdout_acc,
        local_test_acc=scores.test_acc, predicted_lb_acc=scores.predicted_lb_acc,
        predicted_by=scores.predicted_by, estimates=scores.estimates, message=message,
        competition=competition, **(scores.recipe.ledger_cells() if scores.recipe else {}))
    if mode == "dry-run":
        row = ledger.append_row(ledger_path, **fields, status=ledger.DRY_RUN)
        why = "upload: never" if upload == "never" else "no Kaggle credentials found"
        echo(f"dry run ({why}): {csv_path} is valid and recorded in {ledger_path} as {ledger.DRY_RUN}")
        echo(f"to upload it: {again or upload_command(csv_path, message, competition, against, ledger_path)}")
        return row

    limits = kaggle_api.submission_limits(competition, policy)
    if limits.num_allowed_now <= 0:
        raise SubmissionLimitError(f"no submissions left for {competition} ({limit_words(limits)}); nothing was "
                                   f"uploaded; {limit_advice(limits)}")
    status, public, private = "PENDING", "", ""
    interrupt: KeyboardInterrupt | None = None
    try:
        ref = kaggle_api.submit(csv_path, message, competition, policy)
    except KitError as err:  # Kaggle may have recorded it anyway (a lost reply): the caller keeps the file
        setattr(err, UPLOAD_ATTEMPTED, True)
        raise
    except KeyboardInterrupt as err:  # Ctrl-C or kill mid-upload: the same doubt, and no ref to record
        ref = getattr(err, kaggle_api.ACCEPTED_REF, None)  # unless Kaggle's answer was already in
        if ref is None:
            raise type(err)(f"the upload of {csv_path} was cut off, and Kaggle may have recorded it: run "
                            f"`kaggle-kit sync` and look at the ledger before submitting it again") from None
        interrupt = err
    if interrupt is None:
        try:
            # the newest submission: the first page holds it (a later `sync` reads every page)
            mine = [s for s in kaggle_api.list_submissions(competition, policy, max_pages=1) if s.ref == ref]
            if mine:
                status, public, private = mine[0].status, mine[0].public_score, mine[0].private_score
        except KaggleError as err:  # the upload succeeded; `kaggle-kit sync` fills the status in later
            echo(f"warning: could not read the new submission's status ({err}); run `kaggle-kit sync` later")
        except KeyboardInterrupt as err:  # Kaggle has the file: its row is written (PENDING) before the command ends
            interrupt = err
    row = None
    try:
        while row is None:  # a row for an upload that happened, whenever Ctrl-C or kill comes
            try:
                with signals_held():
                    row = ledger.append_row(ledger_path, **fields, kaggle_ref=ref, status=status,
                                            public_score=public, private_score=private)
            except KeyboardInterrupt as err:  # held until the row was in, or come before the hold began (no row yet)
                interrupt = interrupt or err
    except (KitError, OSError) as err:  # checked above, so only a change since then gets here
        why = str(err) if isinstance(err, KitError) else f"{err.strerror or err.__class__.__name__}"
        lost = KitError(f"{csv_path} was submitted to {competition} as ref {ref}, but {ledger_path} could not be "
                        f"written ({why}); fix the ledger and run `kaggle-kit sync` to record it")
        setattr(lost, UPLOAD_ATTEMPTED, True)
        raise lost from None
    if interrupt is not None:
        then = (f"public score {public}" if public else
                "`kaggle-kit sync` fills in its score" if status == "PENDING" else "`kaggle-kit sync` updates it")
        raise type(interrupt)(f"{csv_path} was submitted as ref {ref} and recorded in {ledger_path} as {status}; "
                              f"{then}") from None
    score = f", public score {public} ({percent(ledger.as_fraction(float(public)), 2)})" if public else ""
    left = "in all" if limits.limited_by_total else "today"  # a lifetime cap below the daily one is what limits
    echo(f"submitted {csv_path} to {competition}: ref {ref}, status {status}{score} "
         f"({count_words(limits.num_allowed_now - 1, 'submission')} left {left})")
    return row


# ------------------------------------------------------------------------------------------ sync
@dataclass(frozen=True)
class SyncResult:
    updated: int
    added: int
    pending: int
    remote: int
    unlisted: int = 0  # the ledger's submissions to this competition that Kaggle's list lacks

    def describe(self) -> str:
        if self.unlisted:
            tail = (f"; {self.unlisted:,} of the ledger's submissions to this competition "
                    f"{noun_for(self.unlisted, 'is', 'are')} not in Kaggle's list: are these credentials another "
                    f"account's than the one that submitted {noun_for(self.unlisted, 'it', 'them')}?")
        else:
            tail = "; the ledger was already up to date" if not (self.updated or self.added) else ""
        return (f"{count_words(self.remote, 'submission')} on Kaggle: {count_words(self.updated, 'ledger row')} "
                f"updated, {self.added} added, "
                f"{self.pending} still pending{tail}")


def sync_ledger(competition: str = COMPETITION_SLUG, ledger_path: str | Path = ledger.DEFAULT_LEDGER,
                policy: kaggle_api.RetryPolicy | None = None) -> SyncResult:
    """Pull the team's submissions and write their status and scores into the ledger, matching by ref;
    submissions the ledger does not know (made elsewhere) are added as rows without a sha256."""
    ledger_path = Path(ledger_path)
    check_ledger(ledger_path)  # before asking Kaggle: an unwritable ledger would waste the answer
    remote = kaggle_api.list_submissions(competition, policy)
    # which refs are new is decided under the lock: a submit holding it (its upload may be in this list) writes
    # its row first, and that row is then updated, not added a second time
    with ledger.locked(ledger_path):
        known = ledger.known_refs(ledger_path)
        updates = {s.ref: {"status": s.status, "public_score": s.public_score, "private_score": s.private_score}
                   for s in remote if s.ref in known}
        cut = ledger.clipped  # Kaggle's text, however long, must not stop the ledger from being written
        new_rows = [dict(time=s.date, file=cut(s.file_name), message=cut(s.description), competition=competition,
                         kaggle_ref=s.ref, status=s.status, public_score=s.public_score,
                         private_score=s.private_score) for s in reversed(remote) if s.ref not in known]
        changed = ledger.update_rows_by_ref(ledger_path, updates, new_rows)
    pending = sum(1 for s in remote if s.status == "PENDING")
    unlisted = len(ledger.known_refs(ledger_path, competition) - {s.ref for s in remote})
    return SyncResult(updated=changed - len(new_rows), added=len(new_rows), pending=pending, remote=len(remote),
                      unlisted=unlisted)


# ------------------------------------------------------------------------------------------ pipeline stages
def submit_pipeline_csv(csv: str | Path, cfg: Any, final_dir: str | Path, run_dirs: Sequence[str | Path], *,
                        workdir: str | Path = ".", env: Mapping[str, str] | None = None,
                        echo: Callable[[str], None] = print, expected_ids: np.ndarray | None = None,
                        data: Any = None, comp: Any = None, again: str | None = None) -> dict:
    """The pipeline's upload stage: submit (or dry-run) the pipeline's CSV per ``cfg.submit``. A CSV already
    on Kaggle is not submitted again (its earlier ledger row is returned) unless ``submit.force``. With the
    pipeline's ``data`` and ``comp`` the ledger gets the report's recommended prediction (its synthetic logits
    are cached for the report stage)."""
    from kaggle_kit.data import load_competition
    from kaggle_kit.datapaths import reading_data

    work = Path(workdir)
    ledger_path = work / ledger.DEFAULT_LEDGER
    sub = cfg.submit
    if not sub.force:
        prior = ledger.submitted_rows_with_sha(ledger_path, sha256_file(csv))
        if prior:
            echo(f"{csv} was already submitted (ref {prior[-1]['kaggle_ref'] or '?'}); not spending a slot on it again")
            return prior[-1]
    ids = expected_ids
    if ids is None:
        try:
            with reading_data(competition=sub.competition, require_comp=True) as paths:
                ids = load_competition(paths.comp_pickle).ids
        except (DataNotFoundError, DataFormatError):
            # the pipeline's data folder may not be one locate_data() finds from here; the submission stage
            # has just validated this CSV against that folder's pickle, so its ids are the competition's
            ids = _csv_ids(csv)
    message = sub.message or f"{cfg.name}: {Path(final_dir).name}"
    note = parameters_note(models_within(final_dir))
    if note:
        echo(note)
    scores = local_scores(final_dir, data, comp, cfg.report.synthetic_per_set, echo=echo, ledger_path=ledger_path,
                          competition=sub.competition)
    with kaggle_api.applied_env(env):
        return submit_csv(csv, message, expected_ids=ids, competition=sub.competition,
                          runs=[Path(d).name for d in run_dirs], scores=scores,
                          upload=sub.upload, force=sub.force, ledger_path=ledger_path, echo=echo, again=again,
                          against=getattr(comp, "source", None) or None)


def _csv_ids(csv: str | Path) -> np.ndarray:
    rows = Path(csv).read_text(encoding="utf-8").splitlines()[1:]
    try:
        return np.array([int(r.split(",", 1)[0]) for r in rows if r.strip()], dtype=np.int64)
    except ValueError:
        raise SubmissionError(f"{csv}: IDs are not all integers; run `kaggle-kit validate` on it") from None


def sync_ledger_if_possible(competition: str = COMPETITION_SLUG, *, workdir: str | Path = ".",
                            env: Mapping[str, str] | None = None) -> str:
    """The pipeline's sync stage: sync when credentials exist; a one-line account of what happened. A
    Kaggle failure here is reported, not raised: the submission is recorded and a later sync repairs it."""
    ledger_path = Path(workdir) / ledger.DEFAULT_LEDGER
    with kaggle_api.applied_env(env):
        if not kaggle_api.has_credentials():
            return "skipped (no Kaggle credentials)"
        try:
            return sync_ledger(competition, ledger_path).describe()
        except KaggleError as err:
            return f"failed ({err}); rerun `kaggle-kit sync` later"
