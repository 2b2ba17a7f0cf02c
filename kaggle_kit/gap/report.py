"""``reports/gap.html`` + ``reports/gap.md``: why the leaderboard differs from the local score.

One function per section: each turns the runs (``report_runs``: logits and estimates), the ledger and the
images into a ``Section`` of paragraphs, tables and figures (matplotlib's object API, no pyplot state);
``build_report`` computes all seven before writing anything, then writes the PNGs, ``gap.md`` and the
self-contained ``gap.html`` (``report_render``), each atomically.
"""
from __future__ import annotations

import datetime as _dt
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from kaggle_kit.mplconfig import ensure_writable_folder

ensure_writable_folder()  # before matplotlib's first import, which reads MPLCONFIGDIR (see mplconfig)
from matplotlib.figure import Figure  # noqa: E402

from kaggle_kit.background import in_background
from kaggle_kit.calibration import T_BOUNDS, calibrated_probs
from kaggle_kit.config import ReportConfig, config_hash
from kaggle_kit.data import Cifar10, CompetitionSet
from kaggle_kit.errors import RunError
from kaggle_kit.fsio import atomic_write_bytes, atomic_write_text, sha256_file
from kaggle_kit.gap import advice as advice_mod
from kaggle_kit.gap import domain, estimators, image_stats, label_shift, leaderboard_feedback
from kaggle_kit.gap.report_render import (Details, Fig, Section, Table, figure_png, figures, literal, render_html,
                                          render_markdown)
from kaggle_kit.gap.report_runs import RunView, load_run
from kaggle_kit.ledger import RUN_SEPARATOR, as_fraction, estimates_of
from kaggle_kit.text import count_words, noun_for, percent

SECTIONS = ("summary", "scoreboard", "prediction", "label-shift", "covariate-shift", "per-class", "advice", "accuracy")
NEAR_DUP_THRESHOLDS = (0.95, 0.97, 0.99)
# Below this spread of local accuracy the scoreboard's slope is noise (a public score moves ~0.5-1 point between
# equally good models), so the line is a constant gap: 2 points at 90.1% and 90.3% gave a slope of 5.
LINE_MIN_SPREAD = 0.02
# Below this many images a run's holdout or competition predictions make its estimates noisier than the benchmark
# measured them (5,000-image holdouts): the holdout accuracy alone is uncertain by about ±4 points at 500, and COT
# and COTT read chance differences of the predicted-class shares as a shift (8-9 points low at 100 images).
SMALL_SET_IMAGES = 500
# A submission's message (-m, or the description Kaggle answered) in the scoreboard: enough to tell submissions apart,
# short enough to leave the row readable (the ledger keeps it whole)
MESSAGE_CELL_CHARS = 60


# ------------------------------------------------------------------------------------- measured error
measured_error = estimators.measured_error
recommended_estimator = estimators.recommended_estimator


def _mae(errors: dict, name: str) -> float | None:
    return errors.get("estimators", {}).get(name, {}).get("mae_all_generated")


def _expected(errors: dict, name: str, result: dict) -> dict | None:
    """``estimators.expected_error`` for one run's estimate of ``name`` (None if not computed or measured)."""
    est = result["estimates"].get(name)
    return None if est is None else estimators.expected_error(errors, name, result["holdout_acc"], est)


def expectation_sentence(name: str, estimator: str, result: dict, errors: dict,
                         unseen: dict | None = None) -> str | None:
    """One line a user can act on: the estimate, its drop, and the range to expect with the evidence for it.

    With Median-4's members computed the range is ``estimators.expected_range`` (reaching lower when they
    disagree; ``unseen``'s "range_coverage" says how often it held on shift families outside the benchmark),
    otherwise the estimator's own error at its predicted drop, either side."""
    est = result["estimates"].get(estimator)
    if est is None:
        return None
    head = f"{name}: {estimator} predicts **{percent(est, 1)}**, {_versus(est, result['holdout_acc'])} the holdout"
    rng = estimators.expected_range(errors, result["estimates"], result["holdout_acc"])
    if rng is not None:
        # the bin is Median-4's predicted drop, which can differ from the drop of ``estimator`` said just before
        # it ("5.1 points under the holdout ... a predicted drop of under 5 points" read as a contradiction)
        where = ("over all benchmark sets Median-4" if rng["bin"] == "all" else
                 f"on the {rng['n']} benchmark sets where Median-4 predicted a drop of {_bin_words(rng['bin'])} "
                 f"points, as it does here ({rng['drop']:.1f}), it")
        members = _and_list(estimators.SPREAD_MEMBERS)
        spread, p90 = 100 * rng["spread"], 100 * rng["p90"]
        why = (f"{members} disagree by {spread:.1f} points, so the range reaches that far below Median-4 "
               f"({percent(result['estimates']['Median-4'], 1)}): when they disagree, the true accuracy has "
               f"tended to be lower than all of them" if rng["by_spread"] else
               f"{members} agree within {spread:.1f} points")
        cov = (unseen or {}).get("range_coverage")
        evidence = (f" This range held on {cov['spread']:.0%} of {cov['n']} shifted sets of families outside the "
                    f"benchmark (Median-4 ±{p90:.1f} points alone: {cov['symmetric']:.0%})." if cov else "")
        return (f"{head}. Expect **{percent(rng['low'], 1)} to {percent(rng['high'], 1)}**: {where} was within "
                f"{p90:.1f} points 9 times in 10; {why}.{evidence}")
    exp = _expected(errors, estimator, result)
    if exp is None:
        return None
    where = ("over all benchmark sets" if exp["bin"] == "all" else
             f"on the {exp['n']} benchmark sets where it predicted a drop of {_bin_words(exp['bin'])} points")
    lo, hi = estimators.symmetric_band(est, exp["p90"])
    return (f"{head}; {where} its error averaged {100 * exp['mae']:.1f} points and 9 in 10 were within "
            f"{100 * exp['p90']:.1f}, so expect {percent(lo, 1)} to {percent(hi, 1)}.")


def _versus(value: float, holdout: float) -> str:
    """'3.4 points under' / '1.2 points above': a leaderboard accuracy against the holdout's, sign in words."""
    gap = 100 * (holdout - value)
    return f"{abs(gap):.1f} points {'under' if gap >= 0 else 'above'}"


def _bin_words(label: str) -> str:
    return label.replace("< ", "under ").replace("> ", "over ")


# ------------------------------------------------------------------------------------------- sections
def _and_list(names: Sequence[str]) -> str:
    """'A, B and C'."""
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)


def _gate_words(at_most: str, at_least: str) -> str:
    """Shift-Gated's two ends in words, with ``estimators.GATE_AUC``'s numbers (the glossary and section 2 say them)."""
    lo, hi = estimators.GATE_AUC
    return at_most.format(f"{lo:.2f}") + at_least.format(f"{hi:.2f}")


def estimator_glossary() -> tuple[tuple[str, str], ...]:
    """Section 2's folded glossary, one row per estimator: every abbreviation in a name is spelled out once here.
    The members, the gate and the penalty are ``estimators``' own, so the words follow them."""
    penalty = "a fifth" if estimators.SPREAD_PENALTY == 0.2 else f"{estimators.SPREAD_PENALTY:g} times"
    return (
        ("AC", "average confidence"),
        ("DoC (difference of confidences)", "holdout accuracy minus the drop in confidence"),
        ("ATC-MC / ATC-NE (average thresholded confidence)",
         "share of competition images above the confidence (MC) or negative-entropy (NE) threshold that matches the "
         "holdout accuracy"),
        ("AC-EM, ATC-NE-EM, ATC-NE-BBSE",
         "the same corrected for the class priors estimated in section 3 by EM (expectation-maximisation) or BBSE "
         "(black-box shift estimation), with the holdout re-weighted to those priors"),
        ("CC-Synth (correctness classifier, synthetic shifts)",
         "mean probability of being correct from a classifier trained on the holdout corrupted by blur, JPEG, noise, "
         "contrast, down-sampling, colour and rotation/zoom (confidence + image statistics; its correction measured on "
         "clean holdout images is applied in full only when the competition images look like the holdout, as in "
         "Shift-Gated)"),
        ("COT (confidence optimal transport)",
         "1 - the optimal-transport cost from the predicted probabilities to the holdout's class mix (it notices "
         "predictions piling onto a few classes)"),
        ("COT-EM", "the same to the EM priors"),
        ("COTT", "COT with thresholding"),
        ("Shift-Gated", _gate_words("ATC-NE-EM when the competition images look like the holdout (re-weighted domain "
                                    "AUC <= {}: only the class mix moved), ",
                                    "COT when they do not (AUC >= {}), blended in between")),
        ("Median-4", f"the median of {_and_list(estimators.MEDIAN_MEMBERS)}, which fail on different shifts"),
        ("Median-4-Spread",
         f"Median-4 lowered by {penalty} of the range of {_and_list(estimators.SPREAD_MEMBERS)} (they disagree when "
         f"the shift is one they were not built for, and then all of them over-estimate; chosen by a test on shift "
         f"families outside the benchmark, section 7)"),
        ("Agreement", "ensemble members' agreement carried over to accuracy"),
    )


def fit_scoreboard_line(local: np.ndarray, board: np.ndarray) -> tuple[float, float] | None:
    """Least-squares ``board = slope * local + intercept``; slope 1 (a constant gap) when the local accuracies
    span less than ``LINE_MIN_SPREAD``, a single point included."""
    ok = ~(np.isnan(local) | np.isnan(board))
    local, board = local[ok], board[ok]
    if len(local) == 0:
        return None
    if np.ptp(local) < LINE_MIN_SPREAD:
        return 1.0, float(np.mean(board - local))
    slope, intercept = np.polyfit(local, board, 1)
    return float(slope), float(intercept)


def estimator_errors(scored: pd.DataFrame) -> dict[str, tuple[float, int]]:
    """{estimator: (MAE against the public score, submissions)} over the rows whose ``estimates`` were kept,
    lowest first: which estimator has been right on this competition."""
    errs: dict[str, list[float]] = {}
    for _, r in scored.iterrows():
        for name, value in estimates_of(str(r.get("estimates") or "")).items():
            errs.setdefault(name, []).append(abs(value - r["public_score"]))
    return dict(sorted(((n, (float(np.mean(v)), len(v))) for n, v in errs.items()), key=lambda x: x[1][0]))


def upload_prediction_summary(df: pd.DataFrame, legacy: str) -> list:
    """How the ledger's predictions were made and how far they were from the public scores, per estimator: a
    paragraph, then every estimator's error as a table (a list of fifteen in a sentence was unreadable)."""
    text = ("Predicted LB (leaderboard accuracy): recorded at upload, before the score was known, by the estimator "
            "section 2 recommends among those the upload could compute (with the run's weights and the images: "
            f"{estimators.PREFERRED}; from the logits alone: {legacy}, which older ledgers without a "
            "\"predicted_by\" column always used).")
    scored = df[~df["prediction_error"].isna()]
    if scored.empty:
        return [text + " No prediction has a public score to compare with yet."]
    parts = [f"{literal(name)} {100 * g['prediction_error'].abs().mean():.1f} points over "
             f"{count_words(len(g), 'submission')}"
             for name, g in scored.groupby("predicted_by", sort=True)]
    text += " Mean absolute error against the public score: " + "; ".join(parts) + "."
    both = scored[~scored["corrected_error"].isna()]
    if not both.empty:
        text += (f" Corrected by the submissions scored before each (section 2 says how and which estimator): "
                 f"{100 * both['corrected_error'].abs().mean():.1f} points over "
                 f"{count_words(len(both), 'submission')}, against "
                 f"{100 * both['prediction_error'].abs().mean():.1f} for the recorded predictions of the same ones.")
    every = estimator_errors(scored)
    if not every:
        return [text]
    return [text, "Every estimator the upload computed, on your scored submissions that kept them, closest first:",
            Table(["estimator", "mean absolute error against the public score (pts)", "scored submissions"],
                  [[literal(n), f"{100 * e:.1f}", f"{k}"] for n, (e, k) in every.items()])]


# Said under the scoreboard, where "recipe 8df1e7" first appears: a bare hash told a reader nothing
RECIPE_WORDS = ("Recipe (in the runs column): the first 6 characters of a fingerprint of how the run was trained (its "
                "config without seeds and speed settings). Submissions with the same recipe differ only by seed, and "
                "section 2 corrects a run's prediction first by its own recipe's earlier submissions.")


def _message_cell(message: str) -> str:
    """Clipped before ``literal``, so an escape is never cut in two; "-" for a row without one (older ledgers)."""
    if len(message) > MESSAGE_CELL_CHARS:
        return literal(message[:MESSAGE_CELL_CHARS - 1].rstrip()) + "\u2026"
    return literal(message) or "-"


def _runs_cell(row: pd.Series, runs: Sequence[RunView]) -> str:
    """The scoreboard's runs cell: the ledger records an ensemble's submission as its members, so a run of this
    report that is an ensemble of exactly those members with the row's recipe is named first."""
    members = frozenset(x for x in str(row["runs"]).split(RUN_SEPARATOR) if x)
    ens = next((v.name for v in runs if v.members and frozenset(v.members) == members and v.recipe is not None
                and v.recipe.exact == row["recipe"]), None)
    recipe = f"recipe {literal(row['recipe'][:6])}" if row["recipe"] else ""
    if ens is not None:
        return f"{literal(ens)} (ensemble of {literal(row['runs'])}; {recipe})"
    return literal(row["runs"]) + (f" ({recipe})" if recipe else "")


def scoreboard_section(ledger: pd.DataFrame, runs: Sequence[RunView], competition: str | None = None
                       ) -> tuple[Section, tuple[float, float] | None, int]:
    """The section, the fitted line (None without scores) and how many scored submissions it rests on.

    With ``competition``, only its rows (and rows naming none, from older ledgers): another competition's
    leaderboard is another test set, and its scores would bend this one's line."""
    sec = Section("scoreboard", "1. Scoreboard: local accuracy against the leaderboard")
    left_out = 0
    if competition is not None and not ledger.empty:
        other = ~ledger["competition"].isin([competition, ""])
        left_out = int(other.sum())
        if left_out:
            names = ", ".join(literal(c) for c in sorted(set(ledger.loc[other, "competition"])))
            sec.blocks.append(f"{count_words(left_out, 'ledger row')} of other competitions ({names}) "
                              f"{noun_for(left_out, 'is', 'are')} left out.")
            ledger = ledger.loc[~other]
    if ledger.empty:
        where = f"for {literal(competition)} in the ledger" if left_out else "in the ledger"
        sec.blocks.append(f"No submissions {where} yet: the scoreboard fills in after `kaggle-kit submit` "
                          "and `kaggle-kit sync`.")
        return sec, None, 0
    df = ledger.copy()
    for col in ("local_holdout_acc", "local_test_acc", "predicted_lb_acc", "public_score", "private_score"):
        df[col] = df[col].astype(float).map(as_fraction)
    legacy = estimators.logits_only_estimator()
    df["predicted_by"] = [b or (legacy if not math.isnan(p) else "") for b, p in
                          zip(df["predicted_by"], df["predicted_lb_acc"])]
    df["prediction_error"] = df["predicted_lb_acc"] - df["public_score"]
    df["corrected"] = leaderboard_feedback.replay(df, legacy)
    df["corrected_error"] = df["corrected"] - df["public_score"]
    rows = []
    for _, r in df.iterrows():
        err, cerr = r["prediction_error"], r["corrected_error"]
        run_cell = _runs_cell(r, runs)
        rows.append([_utc_cell(str(r["time"])), literal(r["file"]), _message_cell(str(r["message"])), run_cell,
                     percent(r["local_holdout_acc"], 2), percent(r["local_test_acc"], 2),
                     percent(r["predicted_lb_acc"], 2),
                     literal(r["predicted_by"]) or "-",
                     percent(r["public_score"], 2), percent(r["private_score"], 2),
                     "-" if math.isnan(err) else f"{100 * err:+.1f}",
                     percent(r["corrected"], 2)
                     + ("" if math.isnan(cerr) else f" ({100 * cerr:+.1f})"), literal(r["status"])])
    sec.blocks.append(Table(["time (UTC)", "file", "message", "runs", "holdout", "local test", "predicted LB",
                             "predicted by", "public", "private", "predicted - public (pts)",
                             "corrected by earlier scores (error)", "status"], rows))
    if (df["recipe"] != "").any():
        sec.blocks.append(RECIPE_WORDS)
    sec.blocks += upload_prediction_summary(df, legacy)
    local = df["local_test_acc"].to_numpy(float)
    local = np.where(np.isnan(local), df["local_holdout_acc"].to_numpy(float), local)
    board = df["public_score"].to_numpy(float)
    board = np.where(np.isnan(board), df["private_score"].to_numpy(float), board)
    line = fit_scoreboard_line(local, board)
    sec.blocks.append(_scoreboard_figure(local, board, df["predicted_lb_acc"].to_numpy(float),
                                         df["corrected"].to_numpy(float), line))
    ok = ~(np.isnan(local) | np.isnan(board))
    n_scored = int(ok.sum())
    if line is None:
        sec.blocks.append(_no_line_words(board))
    else:
        sec.blocks.append(f"Fitted on {count_words(n_scored, 'scored submission')}: leaderboard = "
                          f"{line[0]:.3f} x local "
                          f"{100 * line[1]:+.2f} points" + _constant_gap_words(local[ok])
                          + ". Local accuracy here is the CIFAR-10 test accuracy (the holdout's where a row has "
                            "none), so this gap differs from one against the holdout. Expected leaderboard accuracy "
                            "of the runs in this report:")
        rows = []
        for v in runs:
            loc = v.test.accuracy if v.test is not None and v.test.labels is not None else v.result["holdout_acc"]
            rows.append([literal(v.name), percent(loc, 2), percent(line[0] * loc + line[1], 2)])
        sec.blocks.append(Table(["run", "local accuracy", "expected leaderboard (line)"], rows))
    return sec, line, n_scored


def _scoreboard_figure(local: np.ndarray, board: np.ndarray, pred: np.ndarray, corr: np.ndarray,
                       line: tuple[float, float] | None) -> Fig:
    """Every submission's local accuracy against its leaderboard score, its prediction and corrected prediction
    (fractions, NaN where a row has none), the diagonal and the fitted line."""
    fig = Figure(figsize=(6, 4.5))
    ax = fig.add_subplot()
    ok = ~(np.isnan(local) | np.isnan(board))
    ax.scatter(100 * local[ok], 100 * board[ok], label="submissions (public score)", zorder=3)
    okp = ~(np.isnan(local) | np.isnan(pred))
    if okp.any():
        ax.scatter(100 * local[okp], 100 * pred[okp], marker="x", color="tab:red", label="predicted before upload",
                   zorder=3)
    okc = ~(np.isnan(local) | np.isnan(corr))
    if okc.any():
        ax.scatter(100 * local[okc], 100 * corr[okc], marker="+", s=70, color="tab:purple", zorder=3,
                   label="prediction corrected by earlier scores")
    xs = 100 * local[~np.isnan(local)]
    if len(xs):
        lo, hi = min(xs.min(), 100 * np.nanmin(board) if ok.any() else xs.min()) - 2, xs.max() + 2
        ax.plot([lo, hi], [lo, hi], "--", color="gray", label="leaderboard = local")
        if line:
            grid = np.linspace(lo, hi, 10)
            ax.plot(grid, line[0] * grid + 100 * line[1], color="tab:green",
                    label=f"fit: LB = {line[0]:.2f} x local {100 * line[1]:+.1f}")
    ax.set_xlabel("local accuracy (%) (CIFAR-10 test; holdout if missing)")
    ax.set_ylabel("leaderboard accuracy (%)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return Fig("scoreboard", figure_png(fig), "Every submission: local accuracy against its leaderboard score, with "
               "the least-squares line; crosses: the prediction recorded at upload; plus signs: that prediction "
               "corrected by the submissions scored before it.")


def _no_line_words(board: np.ndarray) -> str:
    """Why the scoreboard has no line: no score yet, or scores only on rows without a local accuracy."""
    if np.isnan(board).all():
        return "No leaderboard scores yet (status pending or dry runs): the line appears after `sync`."
    return ("The scored submissions have no local accuracy in the ledger (files submitted without their runs), so "
            "no line from local to leaderboard accuracy can be drawn.")


def _utc_cell(text: str) -> str:
    """A ledger time in UTC to the second (the ledger writes UTC with its offset); as written if it is no time."""
    when = pd.to_datetime(text, utc=True, errors="coerce")
    return literal(text[:19]) if pd.isna(when) else when.strftime("%Y-%m-%d %H:%M:%S")


def _constant_gap_words(scored_local: np.ndarray) -> str:
    """Why the scoreboard's line has slope 1, where it does (``fit_scoreboard_line``'s rule): the mean gap."""
    if len(scored_local) == 1:
        return " (one point: a constant gap)"
    if np.ptp(scored_local) < LINE_MIN_SPREAD:
        return (f" (their local accuracies span under {100 * LINE_MIN_SPREAD:.0f} points, too little for a slope: "
                f"a constant gap)")
    return ""


def _runs_of(v: RunView) -> list[str]:
    """The ledger's ``runs`` of a submission of this run: an ensemble is submitted as its members."""
    return list(v.members or [v.name])


def corrected_for(v: RunView, estimator: str, ledger: pd.DataFrame | None, competition: str | None,
                  measured: dict | None = None) -> leaderboard_feedback.Corrected | None:
    """``v``'s prediction corrected by the ledger's earlier misses, as the upload would make it; None without one."""
    if ledger is None or ledger.empty:
        return None
    est = estimators.finite_estimates(v.result["estimates"])
    return None if estimator not in est else leaderboard_feedback.corrected_prediction(
        est, estimator, ledger, competition, _runs_of(v), estimators.logits_only_estimator(), measured, v.recipe)


def _wider_words(c: leaderboard_feedback.Corrected, v: RunView, errors: dict) -> str:
    """Why a corrected range can be wider than the uncorrected one above it, said where it happens."""
    holdout = v.result.get("holdout_acc")
    before = None if holdout is None else estimators.prediction_range(
        errors, v.result["estimates"], holdout, recommended_estimator(errors, available=v.result["estimates"]))
    if c.low is None or before is None or c.high - c.low <= before[1] - before[0] + 1e-9:
        return ""
    return (" This range is wider than the uncorrected one above: it has one width for every correction of its "
            "kind, while the uncorrected one narrows with a small predicted drop and with agreeing estimators; each "
            "held about 9 times in 10 where it was measured.")


def corrections(runs: Sequence[RunView], estimator: str, ledger: pd.DataFrame | None,
                competition: str | None = None, errors: dict | None = None) -> tuple[list[str], list]:
    """Each run's prediction corrected by the ledger's earlier misses (``leaderboard_feedback.correction_order``
    says which estimator's) and one sentence on how close such corrections came; and, apart, the evidence for
    section 7 (why, the table check by check, the public/private replay), empty without a correction."""
    if ledger is None or ledger.empty:
        return [], []
    errors = measured_error() if errors is None else errors
    lines, last, said_wider = [], None, False
    measured = leaderboard_feedback.measurements()
    if competition is not None and not (ledger["competition"] == competition).any():
        found = ", ".join(literal(c) for c in sorted(set(ledger["competition"]) - {""})) or "none named"
        return [f"No ledger row is for competition '{literal(competition)}' (the ledger's: {found}), so nothing "
                f"corrects the prediction."], []
    for v in runs:
        c = corrected_for(v, estimator, ledger, competition, measured)
        own = leaderboard_feedback.own_public_score(ledger, _runs_of(v), competition)
        if c is not None:
            wider = "" if said_wider else _wider_words(c, v, errors)  # said once
            said_wider = said_wider or bool(wider)
            last = c
            lines.append(f"{literal(v.name)}, corrected by the leaderboard: {c.offset.estimator} predicted "
                         f"{percent(c.estimate, 1)}, and on your {c.offset.scored_words()} its "
                         f"{c.offset.predictions_were()} {c.offset.miss_words()}, so "
                         f"expect **{percent(c.accuracy, 1)}**" + ("." if c.low is None else
                                                                f" ({percent(c.low, 1)} to {percent(c.high, 1)}: "
                                                                f"{leaderboard_feedback.range_basis(c, measured)})."
                                                                + wider))
        elif own is not None:
            lines.append(f"{literal(v.name)} is on the leaderboard already: public score **{percent(own, 2)}**. A "
                         f"submission's own score never corrects its prediction, and no other scored submission "
                         f"qualifies yet.")
    if last is not None:
        name = last.offset.estimator
        switch = leaderboard_feedback.switch_words(name, estimator, measured)
        why = f" {switch}." if switch else ""
        evidence = [f"Why the correction: every submission meets the same shift, and an estimator's miss is mostly "
                    f"the shift's. The public scores are the only labels used, and a submission's own score never "
                    f"corrects it.{why} How far {name} was from what each row was judged against, as mean absolute "
                    f"error in points (lower is better; `benchmarks/bench_gap_ledger.py`, the checks in "
                    f"`benchmarks/PREREGISTERED.md`):"]
        headers, rows, notes = leaderboard_feedback.evidence_table(last.evidence)
        evidence += [Table(headers, rows), *notes]
        split = [w for w in (leaderboard_feedback.split_words(name, measured),
                             leaderboard_feedback.coverage_words(name, measured)) if w is not None]
        if split:
            evidence.append(". ".join(split) + " (`benchmarks/bench_gap_public_split.py`).")
        done = leaderboard_feedback.choice_words(name, measured)
        if done:
            lines.append(done)
        return lines, [f"**How good is the correction by the leaderboard? ({name})**", *evidence]
    return lines, []


def prediction_section(runs: Sequence[RunView], errors: dict, unseen: dict | None = None,
                       ledger: pd.DataFrame | None = None, competition: str | None = None) -> tuple[Section, list]:
    """The section and the correction's evidence (``corrections``), which section 7 shows."""
    sec = Section("prediction", "2. Predicted leaderboard accuracy (before submitting)")
    best = recommended_estimator(errors, available=runs[-1].result["estimates"])
    sec.blocks.append(
        f"Before any score comes back, from the unlabeled competition predictions alone (after temperature scaling "
        f"on the holdout: the logits divided by one number fitted to the holdout's labels, so that confidence "
        f"tracks accuracy). The recommended estimator is **{best}**: section 7 measures every estimator's error on "
        f"labeled shifted sets, and \"What each estimator computes\", under the table, explains them. Once the "
        f"ledger has public scores, the prediction is also corrected by how far the earlier ones missed.")
    for v in runs:
        line = expectation_sentence(literal(v.name), best, v.result, errors, unseen)
        sec.blocks.append(line or _no_range_sentence(v, best))
        sec.blocks += [n for n in (small_sample_note(v), temperature_note(v)) if n]
    corrected, evidence = corrections(runs, best, ledger, competition, errors)
    sec.blocks += corrected
    gates = [f"{literal(v.name)} {v.result['shift_auc']:.3f}" for v in runs if v.result.get("shift_auc") is not None]
    if gates:
        sec.blocks.append(f"Shift-Gated's gate, the re-weighted domain AUC: {', '.join(gates)}. It separates the "
                          f"holdout's image statistics, re-weighted to the EM priors, from the competition's ("
                          + _gate_words("at most {}: the images look alike and it uses ATC-NE-EM; ",
                                        "at least {}: COT; blended between). ")
                          + "Section 4's domain AUC compares the training images themselves, with a thumbnail too.")
    names = list(runs[0].result["estimates"])
    for v in runs[1:]:
        names += [n for n in v.result["estimates"] if n not in names]
    main = runs[-1]
    headers = (["estimator"] + [literal(v.name) for v in runs]
               + ["measured error, all sets (pts)", f"measured error at {literal(main.name)}'s predicted drop (pts)"])
    rows = [["holdout accuracy (labeled)"] + [percent(v.result["holdout_acc"], 2) for v in runs] + ["", ""],
            ["CIFAR-10 test accuracy (labeled)"] + [percent(v.test.accuracy if v.test else None, 2) for v in runs]
            + ["", ""]]
    for n in names:
        mae = _mae(errors, n)
        exp = _expected(errors, n, main.result)
        label = f"**{n}**" if n == best else n
        rows.append([label] + [percent(v.result["estimates"].get(n), 2) for v in runs]
                    + ["-" if mae is None else f"{100 * mae:.2f}",
                       "-" if exp is None else
                       f"{100 * exp['mae']:.2f} ({'all sets' if exp['bin'] == 'all' else 'drop ' + exp['bin']})"])
    glossary = [Table(["estimator", "what it computes"], [list(r) for r in estimator_glossary()]),
                "Measured error: mean absolute error (MAE) on labeled shifted sets (section 7)."]
    sec.blocks += [Table(headers, rows), Details("What each estimator computes", glossary)]
    checks = []
    for v in runs:
        if v.test_result is not None and v.test is not None:
            e = v.test_result["estimates"].get(best)
            checks.append(f"{literal(v.name)}: {best} predicts {percent(e, 2)} on the CIFAR-10 test set, actual "
                          f"{percent(v.test.accuracy, 2)}")
    if checks:
        sec.blocks.append("Sanity check on the labeled CIFAR-10 test set (no shift): " + "; ".join(checks) + ".")
    for v in runs:
        if v.member_agreement is not None:
            sec.blocks.append(f"{literal(v.name)}: ensemble of {len(v.members)} members "
                              f"({', '.join(literal(m) for m in v.members)}); mean "
                              f"pairwise agreement {percent(v.member_agreement[0], 2)} on the holdout, "
                              f"{percent(v.member_agreement[1], 2)} on the competition set."
                              + ("" if "Agreement" in v.result["estimates"] else _no_agreement_words(v)))
    own = None if ledger is None else leaderboard_feedback.own_public_score(ledger, _runs_of(main), competition)
    sec.blocks.append(_predicted_lb_figure(main, errors, best, own))
    return sec, evidence


def _no_agreement_words(v: RunView) -> str:
    """Why an ensemble has no Agreement estimate: the reason ``estimators.agreement_line`` gave, in words ("" when
    the result names none)."""
    reason = v.result.get("agreement_reason")
    if reason in (estimators.HOLDOUT_ALL_RIGHT, estimators.HOLDOUT_NONE_RIGHT):
        acc = 1.0 if reason == estimators.HOLDOUT_ALL_RIGHT else 0.0
        return (f" Agreement is not computed: the ensemble gets {'all' if acc == 1.0 else 'none'} of its holdout "
                f"images right, and agreement on the line carries the members' move over from the holdout's accuracy "
                f"on the probit scale, where {acc:.0%} is infinitely far out: the estimate would be set by where it "
                f"is clipped, not by the images.")
    if reason == estimators.NO_PAIR_LEFT:
        return (" Agreement is not computed: every pair of members agrees on all (or on none) of the holdout or the "
                "competition images, and agreement on the line needs a share between 0% and 100% on both (the probit "
                "of 0% or 100% is infinite).")
    return ""


def _predicted_lb_figure(main: RunView, errors: dict, best: str, own: float | None) -> Fig:
    """The last run's estimates as bars with their measured error at its predicted drop, the expected range and,
    once it has one, its public score (``own``)."""
    fig = Figure(figsize=(7, 0.45 * len(main.result["estimates"]) + 1.2))
    ax = fig.add_subplot()
    est = main.result["estimates"]
    ys = np.arange(len(est))
    vals = np.array([100 * est[n] for n in est])
    errs = np.array([100 * ((_expected(errors, n, main.result) or {}).get("mae") or 0.0) for n in est])
    colors = ["tab:green" if n == best else "tab:blue" for n in est]
    ax.barh(ys, vals, xerr=errs, color=colors, alpha=0.8, capsize=3)
    ax.set_yticks(ys, list(est))
    ax.axvline(100 * main.result["holdout_acc"], color="gray", ls="--", label="holdout accuracy")
    rng = estimators.expected_range(errors, est, main.result["holdout_acc"])
    if rng is not None:
        ax.axvspan(100 * rng["low"], 100 * rng["high"], color="tab:green", alpha=0.12, label="expected range")
    if own is not None:  # already on the leaderboard: the answer the estimates are judged by
        ax.axvline(100 * own, color="black", lw=1.5, label="its public score")
    top = max((vals + errs).max(), 100 * main.result["holdout_acc"], 100 * (own or 0.0))
    ax.set_xlim(max(0, vals.min() - 15), min(100, top + 8))  # room for the legend, not up to 100% for a weak model
    ax.set_xlabel(f"predicted leaderboard accuracy (%) of {main.name}; error bars: measured MAE at that drop",
                  parse_math=False)  # a '$' in a run name is no mathtext
    ax.legend(fontsize=8)
    return Fig("predicted_lb", figure_png(fig), "Predicted leaderboard accuracy by estimator, with each estimator's "
               "mean absolute error measured on benchmark sets where it predicted a similar drop; shaded: the range "
               "to expect (above); a black line: the run's public score, once it has one.")


def _no_range_sentence(v: RunView, best: str) -> str:
    """What section 2 says of a run whose ``best`` estimate has no measured range: it was not computed for this run
    (another run chose it), or never measured; such a run was left out of the text without a word."""
    est = v.result["estimates"].get(best)
    if est is None:
        return (f"{literal(v.name)}: {best} could not be computed for this run (the image-based estimators need the "
                f"competition images, and CC-Synth the run's weights or its ensemble members' logits); the "
                f"estimates that could be are in the table below.")
    return (f"{literal(v.name)}: {best} predicts **{percent(est, 1)}**, "
            f"{_versus(est, v.result['holdout_acc'])} the holdout; "
            f"its error was never measured, so no range can be given.")


def temperature_note(v: RunView) -> str | None:
    """A warning when temperature scaling had nothing to fit: every holdout image right (sharper is then always
    better, and the search stops wherever the likelihood turns flat), or T at the top of ``T_BOUNDS``."""
    t = v.result.get("temperature")
    if t is None:
        return None
    if v.result.get("holdout_acc") == 1.0 or t <= T_BOUNDS[0] * 1.001:
        why = ("every holdout image is right, so the holdout shows no error to calibrate against and the confidences "
               "were sharpened as far as the search went")
    elif t >= T_BOUNDS[1] * 0.999:
        why = "its logits are far too large, or carry almost no information, for one temperature to calibrate them"
    else:
        return None
    return (f"**{literal(v.name)}: temperature scaling had nothing to fit (T = {t:.3g}).** {why[0].upper()}{why[1:]}; the "
            f"confidence-based estimates (AC, DoC, ATC, AC-EM and those built on them) rest on uncalibrated "
            f"confidences.")


def small_sample_note(v: RunView) -> str | None:
    """A warning when ``v``'s holdout or competition predictions have under ``SMALL_SET_IMAGES`` images (a smoke
    test's ``data.holdout_size`` or ``data.comp_subset``): the measured errors quoted above do not hold for them."""
    n_hold = None if v.holdout is None else len(v.holdout.ids)
    n_comp = None if v.comp is None else len(v.comp.ids)
    parts = []
    if n_hold is not None and n_hold < SMALL_SET_IMAGES:
        acc = v.result["holdout_acc"]
        parts.append(f"its holdout has {n_hold:,} images, so its accuracy alone is uncertain by about "
                     f"±{100 * 1.96 * math.sqrt(max(acc * (1 - acc), 0.25 / n_hold) / n_hold):.1f} points")
    if n_comp is not None and n_comp < SMALL_SET_IMAGES:
        parts.append(f"its competition predictions cover {n_comp:,} images, too few for the predicted-class shares to "
                     f"follow the class priors, which COT, COTT and the estimators built on them read as a shift "
                     f"(8-9 points low at 100 images)")
    if not parts:
        return None
    return (f"**{literal(v.name)}: estimates from few images.** " + "; ".join(parts)[0].upper() + "; ".join(parts)[1:]
            + ". The errors and ranges quoted here were measured with 5,000-image holdouts on sets of thousands of "
              "images, so they understate this run's.")


def predicted_shares(logits: np.ndarray, c: int) -> np.ndarray:
    """Share of the images predicted as each class, as sections 3 and 5 both show it: by the logits' argmax (the
    temperature-scaled probabilities' can tie where the logits do not, and section 5 counted by those)."""
    return label_shift.class_priors(logits.argmax(1), c)


def label_shift_section(main: RunView, class_names: Sequence[str]) -> tuple[Section, dict]:
    sec = Section("label-shift", "3. Label shift: class priors of the competition set")
    r = main.result
    c = len(r["source_priors"])
    t = r["temperature"]
    pred_comp, pred_hold = predicted_shares(main.comp.logits, c), predicted_shares(main.holdout.logits, c)
    tv_em = label_shift.total_variation(r["priors_em"], r["source_priors"])
    tv_bbse = label_shift.total_variation(r["priors_bbse"], r["source_priors"])
    sec.blocks.append(
        f"Priors estimated for {literal(main.name)} by BBSE (black-box shift estimation: holdout confusion-matrix "
        f"inversion, bounded least squares) and EM (expectation-maximisation, Saerens et al., on bias-corrected "
        f"temperature-scaled probabilities). Total variation from "
        f"the training priors: EM {tv_em:.3f}, BBSE {tv_bbse:.3f} (0 = same priors). Under image shift both also "
        f"absorb the model's changed confusions, so agreement between them and with the predicted-class shares matters "
        f"more than any single number.")
    rows = [[literal(class_names[k]), percent(r["source_priors"][k]), percent(r["priors_bbse"][k]),
             percent(r["priors_em"][k]), percent(pred_hold[k]), percent(pred_comp[k])] for k in range(c)]
    sec.blocks.append(Table(["class", "training prior", "BBSE", "EM", "predicted share (holdout)",
                             "predicted share (competition)"], rows))
    fig = Figure(figsize=(8, 3.8))
    ax = fig.add_subplot()
    x = np.arange(c)
    for i, (lab, vals) in enumerate([("training prior", r["source_priors"]), ("BBSE", r["priors_bbse"]),
                                     ("EM", r["priors_em"]), ("predicted share (competition)", pred_comp)]):
        ax.bar(x + (i - 1.5) * 0.2, 100 * np.asarray(vals), width=0.2, label=lab)
    ax.set_xticks(x, list(class_names), rotation=30, parse_math=False)
    ax.set_ylabel("% of images")
    ax.legend(fontsize=8)
    sec.blocks.append(Fig("label_shift", figure_png(fig), "Class priors: training, estimated (BBSE, EM) and the "
                          "predicted-class histogram on the competition set."))
    moved = sorted(((literal(class_names[k]), float(r["source_priors"][k]), float(r["priors_em"][k]))
                    for k in range(c)), key=lambda m: -abs(m[2] - m[1]))
    return sec, {"tv_em": tv_em, "tv_bbse": tv_bbse, "moved": moved, "temperature": t}


def _image_strip(pairs: Sequence[tuple[np.ndarray, np.ndarray, str]]) -> bytes:
    """Pairs of images, one above the other, each pair titled."""
    fig = Figure(figsize=(1.2 * max(len(pairs), 1), 2.6))
    for i, (a, b, s) in enumerate(pairs):
        for row, img in enumerate((a, b)):
            ax = fig.add_subplot(2, max(len(pairs), 1), row * len(pairs) + i + 1)
            ax.imshow(img, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(s, fontsize=8)
    return figure_png(fig)


@dataclass(frozen=True)
class CovariateEvidence:
    """Section 4's numbers, computed apart from its text and figures so that ``build_report`` can compute them in
    a thread while it estimates the runs' accuracy (matplotlib stays in one thread)."""
    domain: domain.DomainResult | None
    near_dups: domain.NearDuplicates


def covariate_evidence(train_images: np.ndarray, comp_images: np.ndarray, cfg: ReportConfig, seed: int = 0,
                       cancel: threading.Event | None = None) -> CovariateEvidence:
    return CovariateEvidence(
        domain.domain_classifier(train_images, comp_images, max_images=cfg.domain_max_images, seed=seed,
                                 cancel=cancel),
        domain.near_duplicates(comp_images, train_images, NEAR_DUP_THRESHOLDS, cancel=cancel))


def covariate_section(train_images: np.ndarray, comp_images: np.ndarray, cfg: ReportConfig,
                      seed: int = 0, evidence: CovariateEvidence | None = None) -> tuple[Section, dict]:
    """``evidence``: ``covariate_evidence`` of the same images, config and seed, when already computed."""
    sec = Section("covariate-shift", "4. Covariate shift: do competition images look different?")
    evidence = evidence or covariate_evidence(train_images, comp_images, cfg, seed)
    dom = evidence.domain
    if dom is None:
        sec.blocks.append(f"Too few images for the domain classifier and its per-image statistics: its 5-fold "
                          f"cross-validation needs at least 5 on each side, and there are {len(comp_images):,} "
                          f"competition and {len(train_images):,} training images.")
        blocks, nd_info = _near_duplicate_blocks(comp_images, train_images, evidence.near_dups)
        sec.blocks += blocks
        return sec, {"features": {}, "auc": None, "ci": None, **nd_info}
    sec.blocks.append(
        f"Domain classifier (gradient-boosted trees, 5-fold cross-validated) separating {dom.n_per_side:,} "
        f"training images from {dom.n_per_side:,} competition images on {len(image_stats.FEATURES)} image statistics "
        f"and a 4x4 colour thumbnail: **AUC {dom.auc:.3f}** (95% CI {dom.ci[0]:.3f}-{dom.ci[1]:.3f}: a "
        f"bootstrap of the out-of-fold scores, widened for the fold models' shared training images; "
        f"0.5 = indistinguishable, 1 = fully separable).")
    top = list(dom.importance.items())[:10]
    sec.blocks.append(Table(["feature", "permutation importance (AUC drop)"], [[k, f"{v:.4f}"] for k, v in top]))
    if any(k.startswith("thumb_") for k, _ in top):
        sec.blocks.append("thumb_C_R_K: the mean of colour channel C (r, g or b) in row R, column K (0-3 from the top "
                          "left) of the 4x4 thumbnail; the other features are the statistics below.")
    # the classifier's own images and statistics (medians and histograms below do not depend on their order)
    f_tr, f_co = dom.side_stats(False), dom.side_stats(True)
    shifts = {}
    rows = []
    for k in image_stats.FEATURES:
        a, b = float(np.median(f_tr[k])), float(np.median(f_co[k]))
        shifts[k] = advice_mod.FeatureShift(k, a, b, dom.feature_auc[k], dom.n_per_side)
        rel = relative_change(a, b)
        rows.append([k, image_stats.DESCRIPTIONS[k], f"{a:.4g}", f"{b:.4g}", rel,
                     f"{dom.feature_auc[k]:.3f}"])
    sec.blocks.append("Per-image statistics (medians; AUC of the single statistic: > 0.5 means larger on "
                      "competition images):")
    sec.blocks.append(Table(["statistic", "meaning", "training", "competition", "change", "AUC"], rows))
    fig = Figure(figsize=(14, 5.5))
    for i, k in enumerate(image_stats.FEATURES):
        ax = fig.add_subplot(2, 5, i + 1)
        both = np.concatenate([f_tr[k], f_co[k]])
        lo, hi = np.percentile(both, [0.5, 99.5])
        bins = np.linspace(lo, hi if hi > lo else lo + 1e-6, 40)
        ax.hist(f_tr[k], bins=bins, alpha=0.55, density=True, label="training")
        ax.hist(f_co[k], bins=bins, alpha=0.55, density=True, label="competition")
        ax.set_title(f"{k} (AUC {dom.feature_auc[k]:.2f})", fontsize=9)
        ax.tick_params(labelsize=7)
        if i == 0:
            ax.legend(fontsize=7)
    fig.supxlabel("value of the statistic (title) per image", fontsize=9)
    fig.supylabel("density (images, normalised)", fontsize=9)
    sec.blocks.append(Fig("image_stats", figure_png(fig), "Distributions of the per-image statistics, training vs "
                          "competition images."))
    blocks, nd_info = _near_duplicate_blocks(comp_images, train_images, evidence.near_dups)
    sec.blocks += blocks
    return sec, {"features": shifts, "auc": dom.auc, "ci": dom.ci, **nd_info}


def relative_change(before: float, after: float) -> str:
    """'+7.7%'; '0.0%' for a change that rounds to nothing (not '-0.0%', which reads as a fall); '-' from a
    median of 0 (grayscale training images: saturation), which has no ratio."""
    if not before:
        return "-"
    change = (after - before) / before
    return "0.0%" if round(100 * change, 1) == 0 else f"{change:+.1%}"


def _near_duplicate_blocks(comp_images: np.ndarray, train_images: np.ndarray,
                           nd: domain.NearDuplicates) -> tuple[list, dict]:
    """Section 4's near-duplicate paragraph, table and figures, and the share the advice quotes, from the images'
    ``near_duplicates`` at ``NEAR_DUP_THRESHOLDS`` (``covariate_evidence``)."""
    sec = Section("", "")
    sec.blocks.append(f"Near-duplicates: for each of the {len(comp_images):,} competition images, the most similar of "
                      f"the {len(train_images):,} training images (cosine similarity of mean-removed, normalised 8x8 "
                      f"thumbnails, robust to brightness, contrast and mild blur). A mirrored (left-right flipped) "
                      f"copy counts too: each competition image's mirror image is compared as well, and the closer "
                      f"of the two is kept.")
    sec.blocks.append(Table(["similarity at least", "competition images", "share", "of them mirrored"],
                            [[f"{t}", f"{c:,}", percent(c / len(comp_images), 2),
                              f"{nd.mirrored_counts[t]:,}"]
                             for t, c in nd.counts.items()]))
    fig = Figure(figsize=(6, 3.2))
    ax = fig.add_subplot()
    ax.hist(nd.max_similarity, bins=60, color="tab:purple")
    for t in NEAR_DUP_THRESHOLDS:
        ax.axvline(t, color="gray", ls=":")
    ax.set_xlabel("similarity to the nearest training image")
    ax.set_ylabel("competition images")
    sec.blocks.append(Fig("near_duplicates", figure_png(fig), "Similarity of each competition image to its nearest "
                          "training image."))
    order = np.argsort(-nd.max_similarity)[:8]
    pairs = [(comp_images[i], train_images[nd.nearest[i]],
              f"{nd.max_similarity[i]:.3f}" + (" (m)" if nd.mirrored[i] else "")) for i in order]
    sec.blocks.append(Fig("near_duplicate_pairs", _image_strip(pairs), "The most similar pairs: competition image "
                          "(top) and its nearest training image (bottom), with their similarity; (m): the training "
                          "image matches the competition image's mirror image."))
    share_thr = NEAR_DUP_THRESHOLDS[1]
    return sec.blocks, {"near_dup_share": nd.counts[share_thr] / len(comp_images), "near_dup_threshold": share_thr}


def _points_change(before: float, after: float) -> str:
    """The change between two shares as the table shows them (one decimal each), so the columns add up."""
    return f"{round(100 * after, 1) - round(100 * before, 1):+.1f}"


def per_class_section(main: RunView, class_names: Sequence[str]) -> Section:
    sec = Section("per-class", "5. Per-class view: confidence, entropy and predicted shares")
    t = main.result["temperature"]
    sets = [("holdout", main.holdout.logits)]
    if main.test is not None:
        sets.append(("CIFAR-10 test", main.test.logits))
    sets.append(("competition", main.comp.logits))
    probs = {name: calibrated_probs(lg, t) for name, lg in sets}
    fig = Figure(figsize=(11, 3.6))
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for name, p in probs.items():
        ax1.hist(estimators.max_confidence(p), bins=np.linspace(0, 1, 41), density=True, histtype="step", lw=1.5,
                 label=name)
        ax2.hist(estimators.entropy(p), bins=np.linspace(0, np.log(p.shape[1]), 41), density=True,
                 histtype="step", lw=1.5, label=name)
    ax1.set_xlabel("max probability (temperature-scaled)")
    ax2.set_xlabel("entropy (nats)")
    for ax in (ax1, ax2):
        ax.set_ylabel("density (images, normalised)")
    ax1.legend(fontsize=8)
    sec.blocks.append(Fig("confidence_entropy", figure_png(fig), "Confidence and entropy distributions: a shift to "
                          "lower confidence / higher entropy on the competition set is the drop the estimators see."))
    c = len(class_names)
    share_h, share_c = predicted_shares(main.holdout.logits, c), predicted_shares(main.comp.logits, c)

    def conf_by_class(p: np.ndarray, logits: np.ndarray) -> np.ndarray:
        pred = logits.argmax(1)  # the images ``predicted_shares`` counts for each class
        return np.array([p[pred == k].max(1).mean() if (pred == k).any() else np.nan for k in range(c)])

    ch, cc = conf_by_class(probs["holdout"], main.holdout.logits), conf_by_class(probs["competition"], main.comp.logits)
    order = np.argsort(-np.abs(share_c - share_h))
    rows = [[literal(class_names[k]), percent(share_h[k]), percent(share_c[k]), _points_change(share_h[k], share_c[k]),
             percent(ch[k]), percent(cc[k])] for k in order]
    sec.blocks.append("Classes ordered by how far their predicted share moved (holdout to competition):")
    sec.blocks.append(Table(["predicted class", "share (holdout)", "share (competition)", "change (pts)",
                             "mean confidence (holdout)", "mean confidence (competition)"], rows))
    fig = Figure(figsize=(8, 3.5))
    ax = fig.add_subplot()
    x = np.arange(c)
    ax.bar(x - 0.2, 100 * ch, width=0.4, label="holdout")
    ax.bar(x + 0.2, 100 * cc, width=0.4, label="competition")
    ax.set_xticks(x, list(class_names), rotation=30, parse_math=False)
    ax.set_ylabel("mean confidence of predictions (%)")
    ax.set_ylim(max(0, 100 * np.nanmin(np.concatenate([ch, cc])) - 10), 100)
    ax.legend(fontsize=8)
    sec.blocks.append(Fig("per_class_confidence", figure_png(fig), "Mean confidence per predicted class."))
    return sec


def summary_section(main: RunView, best: str, errors: dict, ledger: pd.DataFrame, competition: str | None,
                    cov_info: dict, items: Sequence[advice_mod.Advice]) -> Section:
    """Three lines for the reader who reads nothing else: where the run stands, the main measured difference,
    and what to try first; each points to the section with the evidence."""
    sec = Section("summary", "In short")
    holdout = main.result["holdout_acc"]
    own = leaderboard_feedback.own_public_score(ledger, _runs_of(main), competition)
    c = corrected_for(main, best, ledger, competition)
    rng = estimators.prediction_range(errors, main.result["estimates"], holdout, best)
    if own is not None:
        stand = (f"is on the leaderboard: public score **{percent(own, 2)}**, {_versus(own, holdout)} its holdout "
                 f"accuracy ({percent(holdout, 2)}; section 1)")
    elif c is not None:
        span = "" if c.low is None else f" ({percent(c.low, 1)} to {percent(c.high, 1)})"
        stand = (f"is expected on the leaderboard: **{percent(c.accuracy, 1)}**{span}, {_versus(c.accuracy, holdout)} "
                 f"its holdout accuracy ({percent(holdout, 2)}), corrected by your scored submissions (section 2)")
    elif main.result["estimates"].get(best) is not None:
        est = main.result["estimates"][best]
        span = "" if rng is None else f" ({percent(rng[0], 1)} to {percent(rng[1], 1)})"
        stand = (f"is expected on the leaderboard: **{percent(est, 1)}**{span}, {_versus(est, holdout)} its holdout "
                 f"accuracy ({percent(holdout, 2)}), from its predictions alone (section 2)")
    else:
        stand = (f"has a holdout accuracy of {percent(holdout, 2)}, but no leaderboard prediction could be computed "
                 f"(section 2)")
    lines = [f"**{literal(main.name)}** {stand}."]
    images = [a for a in items if a.kind in (advice_mod.IMAGES, advice_mod.DOMAIN) and a.severity >= 2]
    auc = cov_info.get("auc")
    # AUC said in words where first met: the summary is read by those who read nothing else
    seen = (f"a domain classifier tells them from the training images with AUC {auc:.2f}, where 0.5 is no "
            f"better than chance and 1 tells every image apart; " if auc is not None else "")
    if images:
        shown = [a for a in images if a.kind == advice_mod.IMAGES][:2] or images[:1]
        first = shown[0]
        what = "; ".join(a.finding[0].lower() + a.finding[1:] for a in shown)
        lines.append(f"What differs: {what} ({seen}section 4).")
        lines.append(f"Try first: {first.action} Everything else measured is in section 6.")
    else:
        lines.append(f"The competition images show no large measured difference from the training images "
                     f"({seen}section 4). Section 6 lists what was measured.")
    sec.blocks.append(lines)
    return sec


def advice_section(items: Sequence[advice_mod.Advice]) -> Section:
    sec = Section("advice", "6. Advice")
    sec.blocks.append([f"{a.text} *Evidence: {a.evidence}.*" for a in items])
    return sec


def accuracy_section(errors: dict, unseen: dict | None = None, correction_evidence: Sequence = ()) -> Section:
    """The main benchmark's errors; with ``unseen`` (``measured_error_unseen_families``) also the errors on
    shift families no estimator was designed or tuned on, which are larger and belong next to them; then the
    evidence for section 2's correction by the leaderboard, when one was made."""
    sec = Section("accuracy", "7. How good is the prediction?")
    unseen_info = unseen or {}
    unseen = unseen_info.get("estimators", {})
    if not errors:
        sec.blocks.append("Not measured yet: run `benchmarks/bench_gap.py` to measure each estimator's error.")
        sec.blocks += list(correction_evidence)
        return sec
    models = ", ".join(f"{m} ({percent(a)} on CIFAR-10 test)" for m, a in errors.get("models", {}).items())
    sec.blocks.append(f"Measured by `{errors.get('source', 'benchmarks/bench_gap.py')}` on {errors.get('n_sets')} "
                      f"labeled shifted sets per model (corruptions at two severities, mixed corruptions, label-shift "
                      f"resamples and label shift combined with corruptions) with models {models}. CC-Synth is "
                      f"measured with the tested corruption family left out of its training where a set has one "
                      f"family. The stand-in column is the shared stand-in competition set, never used to choose "
                      f"anything. Mean absolute error (MAE) in accuracy points; see benchmarks/RESULTS.md for every set.")
    best = recommended_estimator(errors)
    ests = errors.get("estimators", {})
    lowest = min(ests, key=lambda n: ests[n]["mae_all_generated"]) if ests else best
    if best != lowest:
        sec.blocks.append(
            f"Recommended: {best}, although {lowest} has the lowest error on these sets "
            f"({100 * ests[lowest]['mae_all_generated']:.2f} against {100 * ests[best]['mae_all_generated']:.2f}): "
            f"a test written down before its data existed (check 5, benchmarks/PREREGISTERED.md) chose it for its "
            f"error on shift families outside the benchmark (below).")
    for name, note in errors.get("derived", {}).items():
        sec.blocks.append(f"{name}'s row: {note}.")
    binned = next((n for n in (best, "Median-4") if (ests.get(n) or {}).get("by_predicted_drop")), None)
    if binned:
        growth = ", ".join(f"{100 * b['mae']:.1f} at a predicted drop of {label} points ({b['n']} sets)"
                           for label, b in ests[binned]["by_predicted_drop"].items())
        sec.blocks.append(f"Errors grow with the size of the shift. {binned}: {growth}.")
    if unseen and best in unseen:
        cov = unseen_info.get("range_coverage")
        sec.blocks.append(
            f"On shift families that neither the estimators' design nor CC-Synth's synthetic corruptions used "
            f"({', '.join(unseen_info['families'])}; {unseen_info['n_sets']} sets x {len(unseen_info['models'])} "
            f"models, `benchmarks/bench_gap_novel.py`) the errors are larger: {best} "
            f"{100 * unseen[best]['mae']:.1f} points MAE (9 in 10 within {100 * unseen[best]['p90']:.1f}). "
            + (f"The range section 2 quotes, which reaches further below Median-4 the more its members disagree, "
               f"held on {cov['spread']:.0%} of these {cov['n']} model-sets; the benchmark's 90th-percentile error "
               f"either side alone held on {cov['symmetric']:.0%}." if cov else
               "Read the ranges in section 2 as what to expect on shifts like the benchmark's, not on any shift."))
    rows = []
    for name, e in errors.get("estimators", {}).items():
        rows.append([name, f"{100 * e['mae_all_generated']:.2f}", f"{100 * e['mae_covariate']:.2f}",
                     f"{100 * e['mae_label_shift']:.2f}", f"{100 * e['max_error_generated']:.1f}",
                     f"{100 * e['mae_standin']:.2f}"]
                    + ([f"{100 * unseen[name]['mae']:.2f}" if name in unseen else "-"] if unseen else []))
    sec.blocks.append(Table(["estimator", "MAE all", "MAE image shifts", "MAE with label shift", "worst set",
                             "MAE stand-in"] + (["MAE unseen families"] if unseen else []), rows))
    bins = list(estimators.DROP_BINS_POINTS)
    by_drop = []
    for name, e in errors.get("estimators", {}).items():
        cells = []
        for label in bins:
            b = (e.get("by_predicted_drop") or {}).get(label)
            cells.append("-" if b is None else f"{100 * b['mae']:.1f} ({b['n']})")
        if any(cell != "-" for cell in cells):  # a combined row (Median-4-Spread) has no bins: said above
            by_drop.append([name] + cells)
    if by_drop:
        sec.blocks.append("The same errors binned by the drop each estimator *predicted* (holdout accuracy minus its "
                          "estimate, points), which is known before submitting; section 2 quotes the matching bin. "
                          "Cells: MAE in points (number of sets).")
        sec.blocks.append(Table(["estimator"] + [f"predicted drop {b}" for b in bins], by_drop))
    sec.blocks += list(correction_evidence)
    return sec


# ------------------------------------------------------------------------------------------- entry point
def report_fingerprint(folder: Path = Path(__file__).parent) -> str:
    """Hash of what the report is made by besides its inputs: the gap package's code and the measured errors it
    ships (``measured_error*.json``), and every toolkit module this one imports (the calibration, the ledger's
    reader, the forward passes of CC-Synth). The pipeline keys its report stage on it, so an updated toolkit
    rewrites a report its inputs alone would leave looking current."""
    from kaggle_kit.codehash import ROOT, source_closure

    files = sorted(x for x in folder.iterdir() if x.suffix in (".py", ".json") and x.is_file())
    named = {f.name: f for f in files}
    named.update({str(f.relative_to(ROOT)): f for f in source_closure(__name__) if f.parent != Path(__file__).parent})
    return config_hash({n: sha256_file(f) for n, f in sorted(named.items())}, length=16)


def generated_at(now: _dt.datetime | None = None) -> str:
    """When the report was made, in UTC and saying so, like the scoreboard's ledger times: in local time without a
    zone, a report made after a submission could read as made hours before it."""
    now = _dt.datetime.now(_dt.timezone.utc) if now is None else now.astimezone(_dt.timezone.utc)
    return now.strftime("%Y-%m-%d %H:%M:%S UTC")


def build_report(run_dirs: Sequence[str | Path], ledger_path: str | Path | None, data: Cifar10,
                 comp: CompetitionSet, out_dir: str | Path, cfg: ReportConfig | None = None,
                 competition: str | None = None) -> Path:
    """Write ``gap.html``, ``gap.md`` and one PNG per figure into ``out_dir``; returns the HTML path.

    The last run folder is the one the detailed sections describe (the pipeline passes the final ensemble last).
    ``competition``: the ledger rows whose scores may correct the prediction (None: every row).
    """
    from kaggle_kit.ledger import read_ledger

    cfg = cfg or ReportConfig()
    if not run_dirs:
        raise RunError("no runs given; pass at least one run folder with logits (`kaggle-kit predict` first)")
    out_dir = Path(out_dir)
    ledger = read_ledger(ledger_path) if ledger_path is not None else read_ledger()  # a bad line stops it now
    # section 4's numbers need only the images: computed beside the runs' estimates, both mostly in C code that
    # releases the GIL (benchmarks/RESULTS.md, session 33); identical to computing them one after the other
    with in_background(covariate_evidence, data.train_images, comp.images, cfg) as evidence:
        runs = [load_run(d, data, comp, cfg.synthetic_per_set) for d in run_dirs]
        cov_evidence = evidence.result()
    main = runs[-1]
    errors = measured_error()
    class_names = list(data.class_names)

    score_sec, line, n_scored = scoreboard_section(ledger, runs, competition)
    unseen = estimators.measured_error_unseen_families()
    pred_sec, correction_evidence = prediction_section(runs, errors, unseen, ledger, competition)
    ls_sec, ls_info = label_shift_section(main, class_names)
    cov_sec, cov_info = covariate_section(data.train_images, comp.images, cfg, evidence=cov_evidence)
    pc_sec = per_class_section(main, class_names)
    best = recommended_estimator(errors, available=main.result["estimates"])
    items = advice_mod.build_advice(
        features=cov_info["features"], domain_auc=cov_info["auc"], domain_ci=cov_info["ci"],
        holdout_acc=main.result["holdout_acc"], predicted_acc=main.result["estimates"].get(best), predictor=best,
        predictor_mae=(_expected(errors, best, main.result) or {}).get("mae"), prior_tv_em=ls_info["tv_em"],
        prior_tv_bbse=ls_info["tv_bbse"],
        moved_classes=ls_info["moved"], near_dup_share=cov_info["near_dup_share"],
        near_dup_threshold=cov_info["near_dup_threshold"], temperature=main.result["temperature"],
        ledger_slope=line[0] if line else None, ledger_intercept=line[1] if line else None,
        ledger_points=n_scored)
    summary = summary_section(main, best, errors, ledger, competition, cov_info, items)
    sections = [summary, score_sec, pred_sec, ls_sec, cov_sec, pc_sec, advice_section(items),
                accuracy_section(errors, unseen, correction_evidence)]

    title = "kaggle-kit gap report"
    meta = meta_line([v.name for v in runs], len(comp.images), comp.source, len(data.train_images), ledger_path,
                     len(ledger))
    return write_report(out_dir, title, meta, sections)


def meta_line(run_names: Sequence[str], n_comp: int, comp_source: str | None, n_train: int,
              ledger_path: object, ledger_rows: int) -> str:
    """The line under the title: when, for which runs, on which images and ledger."""
    source = literal(comp_source) if comp_source else "competition set"
    return (f"Generated {generated_at()} for {', '.join(literal(n) for n in run_names)}; "
            f"{count_words(n_comp, 'competition image')} ({source}), "
            f"{count_words(n_train, 'training image')}; ledger: {literal(ledger_path)} "
            f"({count_words(ledger_rows, 'row')}).")


def write_report(out_dir: Path, title: str, meta: str, sections: Sequence[Section]) -> Path:
    """Render both files first, then write the PNGs, ``gap.md`` and ``gap.html`` (last), each atomically: a
    rendering error must not leave an old report beside new figures. Returns the HTML path."""
    md, page = render_markdown(title, meta, sections), render_html(title, meta, sections)
    for fig in figures([b for s in sections for b in s.blocks]):
        atomic_write_bytes(out_dir / f"{fig.name}.png", fig.png)
    atomic_write_text(out_dir / "gap.md", md)
    html_path = out_dir / "gap.html"
    atomic_write_text(html_path, page)
    return html_path
