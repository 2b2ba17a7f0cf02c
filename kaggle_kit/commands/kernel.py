"""``kaggle-kit kernel push|status|pull``: train on Kaggle's GPUs, then bring the runs home to ensemble."""
from __future__ import annotations

import argparse
import time

from kaggle_kit.config import COMPETITION_SLUG, KERNEL_GPUS
from kaggle_kit.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("kernel", help="train pipelines in Kaggle kernels and pull their runs")
    ksub = p.add_subparsers(dest="kernel_command", metavar="ACTION", required=True)

    push = ksub.add_parser("push", help="build a kernel folder per pipeline (and seed) and push it")
    push.add_argument("pipeline", help="pipeline YAML")
    push.add_argument("--gpu", choices=KERNEL_GPUS, default=KERNEL_GPUS[0], help="accelerator (default %(default)s)")
    push.add_argument("--seeds", help="push one kernel per seed, e.g. 0,1,2 or 0-4 (sets train.seed)")
    push.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                      help="override a pipeline value in the kernel (repeatable)")
    push.add_argument("--competition", help="Kaggle competition slug whose data the kernel attaches and reads "
                      f"(default: the pipeline's submit.competition, usually {COMPETITION_SLUG})")
    push.add_argument("--out", default="kernels", help="where kernel folders are written (default: kernels/)")
    push.add_argument("--owner", help="Kaggle username for the kernel ids (default: the credentials' user)")
    push.add_argument("--build-only", action="store_true", help="write the folders, do not push")
    push.set_defaults(func=run_push)

    status = ksub.add_parser("status", help="show kernels' run status")
    status.add_argument("names", nargs="+", metavar="NAME", help="owner/slug, or slug for your own kernels")
    status.add_argument("--wait", action="store_true", help="poll until every kernel has finished")
    status.add_argument("--poll-s", type=float, default=30.0,
                        help="seconds between polls with --wait (default: %(default)g)")
    status.set_defaults(func=run_status)

    pull = ksub.add_parser("pull", help="download finished kernels' run folders into runs/")
    pull.add_argument("names", nargs="+", metavar="NAME", help="owner/slug, or slug for your own kernels")
    pull.add_argument("--runs-dir", default="runs", help="where the pulled run folders go (default: %(default)s)")
    pull.add_argument("--force", action="store_true", help="replace run folders pulled before")
    pull.set_defaults(func=run_pull)


def _refs(names: list[str]) -> list[str]:
    """owner/slug for every name; every name is checked before the username is asked for (a request)."""
    from kaggle_kit import kaggle_api
    from kaggle_kit.kernels import check_kernel_name

    parsed = [check_kernel_name(n) for n in names]
    if all(owner for owner, _ in parsed):
        return list(names)
    user = kaggle_api.current_username()
    return [f"{owner or user}/{slug}" for owner, slug in parsed]


def run_push(args: argparse.Namespace) -> int:
    import shutil
    import tempfile

    from kaggle_kit import kaggle_api
    from kaggle_kit.fsio import check_dir_target
    from kaggle_kit.kernels import build_kernel_folder, check_owner, kernel_folder_path, parse_seeds, with_competition

    seeds = parse_seeds(args.seeds)
    if args.owner is not None:
        check_owner(args.owner)
    check_dir_target(args.out, "kernel folders' root (--out)")
    # every folder checked (pipeline loads, no file in the way) before credentials or the network
    overrides = with_competition(args.pipeline, args.overrides, args.competition)
    paths = [kernel_folder_path(args.pipeline, args.out, seed, overrides) for seed in seeds]
    if args.build_only and not args.owner and not kaggle_api.has_credentials():
        raise UsageError("--build-only without credentials needs --owner USER for the kernel ids")
    if not args.build_only:
        kaggle_api.require_credentials()
    owner = args.owner or kaggle_api.current_username()
    ids = []
    # Built and pushed from a staging folder: a kernel's folder under --out is written once Kaggle took the push
    # (it is what Kaggle runs), so a refused push leaves --out as it was, a folder from an earlier build included.
    with tempfile.TemporaryDirectory(prefix="kaggle-kit-kernels-") as staging:
        for seed, final in zip(seeds, paths):
            folder = build_kernel_folder(args.pipeline, staging, owner=owner, gpu=args.gpu, seed=seed,
                                         overrides=overrides)
            pushed = None if args.build_only else kaggle_api.push_kernel(folder.path)
            final.mkdir(parents=True, exist_ok=True)
            for file in sorted(folder.path.iterdir()):
                shutil.move(str(file), str(final / file.name))
            ids.append(folder.kernel_id)
            if pushed is None:
                print(f"built {final} ({folder.kernel_id}); push it with: kaggle kernels push -p {final}")
            else:
                print(f"pushed {pushed.ref} version {pushed.version}: {pushed.url}")
    if not args.build_only:
        names = " ".join(ids)
        print(f"follow with: kaggle-kit kernel status {names} --wait; then: kaggle-kit kernel pull {names}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    from kaggle_kit import kaggle_api
    from kaggle_kit.kernels import FAILED, TERMINAL, check_poll_seconds
    from kaggle_kit.text import spelled_out

    poll_s = check_poll_seconds(args.poll_s, "--poll-s")
    refs = _refs(args.names)
    while True:
        statuses = [kaggle_api.kernel_status(ref) for ref in refs]
        for s in statuses:
            why = f" ({spelled_out(s.failure_message)})" if s.failure_message else ""  # Kaggle's words, one line
            print(f"{s.ref}: {s.status}{why}", flush=True)
        if not args.wait or all(s.status in TERMINAL for s in statuses):
            break
        time.sleep(poll_s)
    return 1 if any(s.status in FAILED for s in statuses) else 0


def run_pull(args: argparse.Namespace) -> int:
    from kaggle_kit.fsio import check_dir_target
    from kaggle_kit.kernels import check_kernel_name, pull_kernels

    for name in args.names:
        check_kernel_name(name)
    check_dir_target(args.runs_dir, "runs folder (--runs-dir)")
    for pulled in pull_kernels(_refs(args.names), args.runs_dir, force=args.force):
        for run in pulled.runs:
            print(f"{pulled.ref}: {run}")
    return 0
