"""Report section 1, the scoreboard: every submission's local accuracy beside its leaderboard score and its
prediction, the line from local to leaderboard accuracy, and how far the recorded predictions were off.

A section is built whole (text, tables, figures) and returned; ``report.build_report`` writes them.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from kaggle_kit.mplconfig import ensure_writable_folder

ensure_writable_folder()  # before matplotlib's first import, which reads MPLCONFIGDIR (see mplconfig)
from matplotlib.figure import Figure  # noqa: E402

from kaggle_kit.gap import estimators, leaderboard_feedback
from kaggle_kit.gap.report_render import Fig, Section, Table, figure_png, literal
from kaggle_kit.gap.report_runs import RunView
from kaggle_kit.ledger import RUN_SEPARATOR, as_fraction, estimates_of
from kaggle_kit.text import count_words, noun_for, percent

# Below this spread of local accuracy the scoreboard's slope is noise (a public score moves ~0.5-1 point between
# equally good models), so the line is a constant gap: 2 points at 90.1% and 90.3% gave a slope of 5.
LINE_MIN_SPREAD = 0.02

# A submission's message (-m, or the description Kaggle answered) in the scoreboard: enough to tell submissions apart,
# short enough to leave the row readable (the ledger keeps it whole)
MESSAGE_CELL_CHARS = 60


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
            f"{' where it could be computed, else '.join(estimators.PREFERRED)}; from the logits alone: {legacy}, "
            "which older ledgers without a "
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
