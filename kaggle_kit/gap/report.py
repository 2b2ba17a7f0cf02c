"""``reports/gap.html`` + ``reports/gap.md``: why the leaderboard differs from the local score.

One function per section, in the module of its subject: ``report_scoreboard`` (1), ``report_prediction`` (2, with
its correction by the leaderboard in ``report_correction``), ``report_shift`` (3-5), ``report_accuracy`` (7); each
turns the runs (``report_runs``: logits and estimates), the ledger and the images into a ``Section`` of paragraphs,
tables and figures (matplotlib's object API, no pyplot state). Here: the summary and
advice sections that draw on the others, and ``build_report``, which computes all eight before writing anything,
then writes the PNGs, ``gap.md`` and the self-contained ``gap.html`` (``report_render``), each atomically.
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Sequence

import pandas as pd

from kaggle_kit.background import in_background
from kaggle_kit.config import ReportConfig, config_hash
from kaggle_kit.data import Cifar10, CompetitionSet
from kaggle_kit.errors import RunError
from kaggle_kit.fsio import atomic_write_bytes, atomic_write_text, sha256_file
from kaggle_kit.gap import advice as advice_mod
from kaggle_kit.gap import estimators, leaderboard_feedback
from kaggle_kit.gap.report_accuracy import accuracy_section
from kaggle_kit.gap.report_correction import corrected_for, runs_of
from kaggle_kit.gap.report_prediction import (expected_for, measured_error, prediction_section, recommended_estimator,
                                              versus)
from kaggle_kit.gap.report_render import Section, figures, literal, render_html, render_markdown
from kaggle_kit.gap.report_runs import RunView, load_run
from kaggle_kit.gap.report_scoreboard import scoreboard_section
from kaggle_kit.gap.report_shift import covariate_evidence, covariate_section, label_shift_section, per_class_section
from kaggle_kit.text import count_words, percent

SECTIONS = ("summary", "scoreboard", "prediction", "label-shift", "covariate-shift", "per-class", "advice", "accuracy")


def summary_section(main: RunView, best: str, errors: dict, ledger: pd.DataFrame, competition: str | None,
                    cov_info: dict, items: Sequence[advice_mod.Advice]) -> Section:
    """Three lines for the reader who reads nothing else: where the run stands, the main measured difference,
    and what to try first; each points to the section with the evidence."""
    sec = Section("summary", "In short")
    holdout = main.result["holdout_acc"]
    own = leaderboard_feedback.own_public_score(ledger, runs_of(main), competition)
    c = corrected_for(main, best, ledger, competition)
    rng = estimators.prediction_range(errors, main.result["estimates"], holdout, best)
    if own is not None:
        stand = (f"is on the leaderboard: public score **{percent(own, 2)}**, {versus(own, holdout)} its holdout "
                 f"accuracy ({percent(holdout, 2)}; section 1)")
    elif c is not None:
        span = "" if c.low is None else f" ({percent(c.low, 1)} to {percent(c.high, 1)})"
        stand = (f"is expected on the leaderboard: **{percent(c.accuracy, 1)}**{span}, {versus(c.accuracy, holdout)} "
                 f"its holdout accuracy ({percent(holdout, 2)}), corrected by your scored submissions (section 2)")
    elif main.result["estimates"].get(best) is not None:
        est = main.result["estimates"][best]
        span = "" if rng is None else f" ({percent(rng[0], 1)} to {percent(rng[1], 1)})"
        stand = (f"is expected on the leaderboard: **{percent(est, 1)}**{span}, {versus(est, holdout)} its holdout "
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
        # only the described run gets the advice on adapting BatchNorm, so only it reads its reference twice
        runs = [load_run(d, data, comp, cfg.synthetic_per_set, with_adapt=k == len(run_dirs) - 1)
                for k, d in enumerate(run_dirs)]
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
        predictor_mae=(expected_for(errors, best, main.result) or {}).get("mae"), prior_tv_em=ls_info["tv_em"],
        prior_tv_bbse=ls_info["tv_bbse"],
        moved_classes=ls_info["moved"], near_dup_share=cov_info["near_dup_share"],
        near_dup_threshold=cov_info["near_dup_threshold"], temperature=main.result["temperature"],
        ledger_slope=line[0] if line else None, ledger_intercept=line[1] if line else None,
        ledger_points=n_scored, adapt_bn_changed=main.adapt_bn_changed,
        bn_evidence=measured_error("measured_bn_adapt.json"), preferred=best, adapt_change=main.adapt_change)
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
