"""Section 2's correction by the leaderboard: each run's prediction corrected by the ledger's earlier misses, as the
upload would make it, and the evidence for it that section 7 shows (``leaderboard_feedback`` does the arithmetic).
"""
from __future__ import annotations

from typing import Sequence

import pandas as pd

from kaggle_kit.gap import estimators, leaderboard_feedback
from kaggle_kit.gap.report_render import Table, literal
from kaggle_kit.gap.report_runs import RunView
from kaggle_kit.text import percent


def runs_of(v: RunView) -> list[str]:
    """The ledger's ``runs`` of a submission of this run: an ensemble is submitted as its members."""
    return list(v.members or [v.name])


def corrected_for(v: RunView, estimator: str, ledger: pd.DataFrame | None, competition: str | None,
                  measured: dict | None = None) -> leaderboard_feedback.Corrected | None:
    """``v``'s prediction corrected by the ledger's earlier misses, as the upload would make it; None without one."""
    if ledger is None or ledger.empty:
        return None
    est = estimators.finite_estimates(v.result["estimates"])
    return None if estimator not in est else leaderboard_feedback.corrected_prediction(
        est, estimator, ledger, competition, runs_of(v), estimators.logits_only_estimator(), measured, v.recipe)


def _wider_words(c: leaderboard_feedback.Corrected, v: RunView, errors: dict) -> str:
    """Why a corrected range can be wider than the uncorrected one above it, said where it happens."""
    holdout, est = v.result.get("holdout_acc"), v.result["estimates"]
    before = None if holdout is None else estimators.prediction_range(
        errors, est, holdout, estimators.recommended_estimator(errors, available=est))
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
    errors = estimators.measured_error() if errors is None else errors
    lines, last, said_wider = [], None, False
    measured = leaderboard_feedback.measurements()
    if competition is not None and not (ledger["competition"] == competition).any():
        found = ", ".join(literal(c) for c in sorted(set(ledger["competition"]) - {""})) or "none named"
        return [f"No ledger row is for competition '{literal(competition)}' (the ledger's: {found}), so nothing "
                f"corrects the prediction."], []
    for v in runs:
        c = corrected_for(v, estimator, ledger, competition, measured)
        own = leaderboard_feedback.own_public_score(ledger, runs_of(v), competition)
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
