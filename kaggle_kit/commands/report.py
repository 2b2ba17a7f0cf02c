"""``kaggle-kit report [--runs RUN...] [--ledger L] [--out DIR]``: the gap report (HTML + Markdown + PNGs)."""
from __future__ import annotations

import argparse
from pathlib import Path

from kaggle_kit.config import ReportConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write reports/gap.html and gap.md: local vs leaderboard gap, explained")
    p.add_argument("--runs", nargs="+", metavar="RUN",
                   help="run or ensemble folders / ids with logits; the last one is described in detail "
                        "(default: the runs named in the ledger's last row, and the ensemble of them it submitted)")
    p.add_argument("--ledger", help="submission ledger (default: submissions/ledger.csv; none there yet is fine)")
    p.add_argument("--out", default="reports", help="output folder (default: %(default)s)")
    p.add_argument("--data-dir", help="data folder (default: $KAGGLE_KIT_DATA when set (only there), "
                                      "else ./data, then Kaggle input)")
    p.add_argument("--domain-max-images", type=int,
                   help=f"images per side for the domain classifier (default: {ReportConfig.domain_max_images})")
    p.add_argument("--synthetic-per-set", type=int,
                   help=f"holdout images per corruption and severity for the CC-Synth estimator (0 = skip it; "
                        f"default: {ReportConfig.synthetic_per_set})")
    p.add_argument("--competition", help="only this competition's ledger rows correct the prediction, and only "
                                          "they and rows naming none (older ledgers) make the scoreboard "
                                          "(default: every row)")
    p.set_defaults(func=run)


def _runs_from_ledger(ledger_path: str) -> list[Path]:
    """The run folders of the ledger's last row that names runs; when they are an ensemble's members, the
    submitted ensemble too, last (the report describes the last folder in detail)."""
    from kaggle_kit.ledger import RUN_SEPARATOR, read_ledger
    from kaggle_kit.runs import RecipeKeys, run_dir

    df = read_ledger(ledger_path)
    for _, row in df.iloc[::-1].iterrows():
        names = [r for r in str(row["runs"]).split(RUN_SEPARATOR) if r and r != "nan"]
        if names:
            folders = [run_dir(n) for n in names]
            keys = RecipeKeys.from_ledger_row(row)
            ens = _submitted_ensemble(names, keys.exact) if keys and len(names) > 1 else None
            return folders + ([ens] if ens is not None else [])
    return []


def _submitted_ensemble(members: list[str], recipe: str) -> Path | None:
    """The newest folder under ``ensembles/`` with exactly these members and the row's recipe key (which holds
    the ensembling method); None if there is none."""
    from kaggle_kit.errors import RunError
    from kaggle_kit.runs import member_names, recipe_keys

    root = Path("ensembles")
    found = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        try:
            names = set(member_names(folder))
        except RunError:  # another, broken ensemble: not the one submitted
            continue
        keys = recipe_keys(folder) if names == set(members) else None
        if keys is not None and keys.exact == recipe:
            found.append(folder)
    return max(found, key=lambda f: f.stat().st_mtime) if found else None


def _ledger_arg(given: str | None) -> str:
    """The ledger to read: the default may not exist yet (nothing submitted), but a path the user named must, or
    a typo would be reported as 'No submissions in the ledger yet'."""
    from kaggle_kit.errors import UsageError
    from kaggle_kit.ledger import DEFAULT_LEDGER

    if given is not None and not Path(given).is_file():
        raise UsageError(f"{given}: no such ledger file; give the path of a submissions ledger.csv, or leave "
                         f"--ledger out")
    return str(DEFAULT_LEDGER) if given is None else given


def run(args: argparse.Namespace) -> int:
    from kaggle_kit.config import from_dict
    from kaggle_kit.data import load_cifar10, load_competition
    from kaggle_kit.datapaths import reading_data
    from kaggle_kit.errors import ConfigError, RunError
    from kaggle_kit.gap.report import build_report
    from kaggle_kit.runs import run_dir

    from kaggle_kit.fsio import check_dir_target

    check_dir_target(args.out, "report folder (--out)")  # before minutes of work
    # the pipeline's report section and its rules: the flags accept what `--set report.*` accepts
    flags = {"domain_max_images": args.domain_max_images, "synthetic_per_set": args.synthetic_per_set}
    for key, value in flags.items():
        if value is not None:
            try:
                from_dict(ReportConfig, {key: value})
            except ConfigError as err:
                raise ConfigError(f"--{key.replace('_', '-')}: {str(err).split(': ', 1)[1]}") from None
    cfg = from_dict(ReportConfig, {k: v for k, v in flags.items() if v is not None})
    args.ledger = _ledger_arg(args.ledger)
    folders = [run_dir(n) for n in args.runs] if args.runs else _runs_from_ledger(args.ledger)
    if not folders:
        raise RunError(f"no runs to report on: pass --runs RUN..., or submit first so {args.ledger} names some")
    with reading_data(args.data_dir, require_comp=True) as paths:  # one download's files, not old and new mixed
        data, comp = load_cifar10(paths.cifar_dir), load_competition(paths.comp_pickle)
    html = build_report(folders, Path(args.ledger), data, comp, Path(args.out), cfg, args.competition)
    print(f"wrote {html} and {html.with_suffix('.md')}")
    return 0
