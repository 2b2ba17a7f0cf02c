"""Training on Kaggle's GPUs: build a kernel folder per pipeline (and seed), push it, follow it, pull its runs.

Why a single self-contained script: competition kernels run without internet, so ``pip install kaggle-kit``
is impossible there. The script carries the toolkit's own source as a base64 tar.gz (a few hundred KB),
unpacks it to a temporary folder, puts it on ``sys.path`` and runs the pipeline's data, train and predict
stages with ``/kaggle/working`` as the working directory. Its run folders (logits, model, manifests) become
the kernel's output; ``pull`` moves them into ``runs/`` where they ensemble like local runs.
"""
from __future__ import annotations

import base64
import contextlib
import dataclasses
import gzip
import hashlib
import io
import json
import math
import os
import re
import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

import kaggle_kit
from kaggle_kit.config import KERNEL_GPUS, config_hash, load_pipeline, member_config
from kaggle_kit.errors import KaggleError, RunError, UsageError
from kaggle_kit.fsio import (atomic_write_bytes, atomic_write_text, check_dir_target, escape_problem, new_paths,
                             remove_created)
from kaggle_kit.interrupts import signals_held
from kaggle_kit.runs import claim_run
from kaggle_kit.text import noun_for

SCRIPT_NAME = "kaggle_kit_kernel.py"
METADATA_NAME = "kernel-metadata.json"
# --gpu choice -> Kaggle machine shape. T4s only: the current Kaggle image's PyTorch no longer runs on P100.
GPU_SHAPES = {"t4x2": "NvidiaTeslaT4Highmem", "t4": "NvidiaTeslaT4", "none": None}
assert tuple(GPU_SHAPES) == KERNEL_GPUS
KERNEL_STAGES = "[data,train,predict]"
TERMINAL = ("COMPLETE", "ERROR", "CANCEL_ACKNOWLEDGED")
FAILED = ("ERROR", "CANCEL_REQUESTED", "CANCEL_ACKNOWLEDGED")  # no runs to pull: `kernel status` exits 1
MAX_SEEDS = 100  # kernels one push may create; more is a typo (0-1000), not a plan
_NAME_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def check_kernel_name(name: str) -> tuple[str | None, str]:
    """``owner/slug`` or a bare ``slug`` (the credentials' user's kernel) -> (owner or None, slug); anything
    else (more slashes, empty parts, spaces, dots) is a ``UsageError`` before any request is sent."""
    parts = name.split("/")
    if len(parts) > 2 or not all(_NAME_PART.fullmatch(p) for p in parts):
        raise UsageError(f"kernel name '{name}' is not owner/slug or slug (letters, digits, '-' and '_' only), "
                         f"e.g. kaggle-kit-tiny-s0 or alice/kaggle-kit-tiny-s0")
    if len(parts[-1]) < 5:
        raise UsageError(f"kernel name '{name}': a kernel slug has at least five characters, found "
                         f"'{parts[-1]}'")
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


def check_poll_seconds(value: float, option: str = "--poll-s") -> float:
    """A wait between polls (or a timeout): a finite number of seconds above zero."""
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise UsageError(f"{option} must be a finite number of seconds above 0, found {value!r}")
    return float(value)


def check_owner(owner: str) -> str:
    """A Kaggle username, the first part of a kernel id ``owner/slug``: one name part, no slash or space."""
    if not _NAME_PART.fullmatch(owner or ""):
        raise UsageError(f"--owner '{owner}' is not a Kaggle username (letters, digits, '-' and '_' only, "
                         f"no '/'): the kernel ids are owner/slug")
    return owner


def kernel_slug(pipeline_name: str, seed: int | None = None, overrides: Sequence[str] = ()) -> str:
    """``kaggle-kit-<pipeline>[-s<seed>][-<hash of overrides>]``: lowercase, hyphens, at most 50 characters,
    so the same pipeline pushed with different seeds or settings becomes different kernels. A name the slug cannot
    keep as it is (cut short to fit, or with capitals, ``_`` or other characters: ``Fast`` and ``fast``, ``seed_0``
    and ``seed-0`` would be one kernel, the second push replacing the first), or ending like a seed's or the
    settings' tail, gets a hash of the whole name. A name
    with no ASCII letter or digit would give every such pipeline the one kernel ``kaggle-kit``, so it is refused."""
    if not re.search(r"[a-z0-9]", pipeline_name.lower()):
        raise UsageError(f"pipeline name '{pipeline_name}' has no ASCII letter or digit to name its kernel "
                         f"(kaggle-kit-<name>); give the pipeline a name such as 'seed000-long'")
    base = re.sub(r"[^a-z0-9]+", "-", f"kaggle-kit-{pipeline_name}".lower()).strip("-")
    tail = (f"-s{seed}" if seed is not None else "") + (f"-{config_hash(list(overrides), 6)}" if overrides else "")
    # two names would be one kernel: cut short, changed by the slug, or ending as a tail does (``fast-s1`` is
    # ``fast`` pushed with --seeds 1, ``fast-0a1b2c`` is ``fast`` with settings that hash to 0a1b2c)
    looks_like_a_tail = re.search(r"-(s[0-9]+|[0-9a-f]{6})$", base) is not None
    if len(base) + len(tail) > 50 or base != f"kaggle-kit-{pipeline_name}" or looks_like_a_tail:
        tail = f"-{config_hash(pipeline_name, 6)}{tail}"
    return base[: 50 - len(tail)].rstrip("-") + tail


def source_bundle(package_dir: Path | None = None) -> bytes:
    """The toolkit's source (``*.py`` and packaged pipeline YAMLs) as a reproducible tar.gz."""
    root = Path(package_dir or Path(kaggle_kit.__file__).parent)
    files = sorted(p for p in root.rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".yaml"))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in files:
            data = path.read_bytes()
            info = tarfile.TarInfo(f"kaggle_kit/{path.relative_to(root).as_posix()}")
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


SCRIPT_TEMPLATE = '''\
"""kaggle-kit kernel {kernel_id}: data, train and predict of pipeline '{pipeline_name}' on Kaggle's machine.

Generated by `kaggle-kit kernel push` (toolkit source sha256 {source_sha}); regenerate it, do not edit it.
Competition kernels have no internet, so the toolkit's source travels inside this file: it is unpacked to a
temporary folder and put on sys.path. Run folders (logits, model, manifests) are written under
/kaggle/working/runs/, the kernel's output; `kaggle-kit kernel pull {kernel_id}` brings them home.
"""
import base64
import io
import os
import sys
import tarfile
import tempfile

PIPELINE_NAME = {pipeline_name!r}
PIPELINE_YAML = {pipeline_yaml!r}
OVERRIDES = {overrides!r}
MEMBERS = {members!r}
SOURCE_TGZ_B64 = (
{source_lines}
)


def environment_line(members=1):
    """Which Python, torch and GPUs this kernel got: the first question about a slow or failed run."""
    import platform

    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    names = ", ".join(torch.cuda.get_device_name(i) for i in range(count))
    gpus = (str(count) + " CUDA GPU" + "s" * (count > 1) + ": " + names if count else
            "no CUDA GPU: training runs on the CPU")
    line = "python " + platform.python_version() + ", torch " + torch.__version__ + ", " + gpus
    if members > 1:  # the pipeline trains its members side by side, one per GPU (`run --parallel-members`)
        from kaggle_kit.errors import KitError
        from kaggle_kit.member_jobs import planned_at_once

        try:  # `run`'s own choice, from $KAGGLE_KIT_PARALLEL_MEMBERS and the GPUs
            at_once = planned_at_once(None, count, members)
        except KitError:  # a bad value: `run`, right after this line, refuses it in one line (exit 2)
            return line
        line += ("; training " + str(members) + " members " + ("one after another" if at_once == 1 else
                 str(at_once) + " at a time, " + ("one per GPU" if count >= at_once else "sharing GPUs" if count
                                                  else "in CPU processes")))
    return line


def main():
    for stream in (sys.stdout, sys.stderr):  # the kernel's log is a file: each line as written, in order
        if hasattr(stream, "reconfigure"):  # not in a notebook cell, whose streams flush themselves
            stream.reconfigure(line_buffering=True)
    workdir = os.environ.get("KAGGLE_KIT_KERNEL_WORKDIR", "/kaggle/working")
    src = tempfile.mkdtemp(prefix="kaggle-kit-src-")
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(SOURCE_TGZ_B64)), mode="r:gz") as tar:
        try:
            tar.extractall(src, filter="data")
        except TypeError:  # Python without extraction filters; the archive is our own source
            tar.extractall(src)
    sys.path.insert(0, src)
    pipeline = os.path.join(src, PIPELINE_NAME + ".yaml")
    with open(pipeline, "w", encoding="utf-8") as fh:
        fh.write(PIPELINE_YAML)
    os.makedirs(workdir, exist_ok=True)
    os.chdir(workdir)
    import kaggle_kit
    from kaggle_kit.cli import main as kaggle_kit_main

    # no --no-progress: it would also drop the per-epoch lines, all a kernel's log shows of a long run (no
    # progress bars either way: the log is not a terminal)
    argv = ["run", pipeline, "--set", "stages={stages}"]
    for override in OVERRIDES:
        argv += ["--set", override]
    print("kaggle-kit from " + os.path.dirname(kaggle_kit.__file__) + ": " + " ".join(argv), flush=True)
    print(environment_line(MEMBERS), flush=True)
    code = kaggle_kit_main(argv)
    if code:  # only a failure raises: in a notebook cell even SystemExit(0) marks the cell as failed
        sys.exit(code)


if __name__ == "__main__":
    main()
'''


def render_script(kernel_id: str, pipeline_name: str, pipeline_yaml: str, overrides: Sequence[str],
                  bundle: bytes, members: int = 1) -> str:
    b64 = base64.b64encode(bundle).decode("ascii")
    lines = "\n".join(f'    "{b64[i:i + 100]}"' for i in range(0, len(b64), 100))
    return SCRIPT_TEMPLATE.format(kernel_id=kernel_id, pipeline_name=pipeline_name, pipeline_yaml=pipeline_yaml,
                                  overrides=list(overrides), source_lines=lines, stages=KERNEL_STAGES,
                                  members=members,
                                  source_sha=hashlib.sha256(bundle).hexdigest()[:16])


def kernel_metadata(kernel_id: str, competition: str, gpu: str) -> dict:
    """``kernel-metadata.json`` as the client reads it: a private script with the competition's data
    attached, internet off (as competition rules require), on the chosen GPU."""
    if gpu not in GPU_SHAPES:
        raise UsageError(f"--gpu must be one of {', '.join(GPU_SHAPES)}, found '{gpu}' "
                         f"(P100 is not offered: the current Kaggle image's PyTorch no longer supports it)")
    meta = {
        "id": kernel_id, "title": kernel_id.split("/", 1)[1], "code_file": SCRIPT_NAME, "language": "python",
        "kernel_type": "script", "is_private": True, "enable_gpu": GPU_SHAPES[gpu] is not None,
        "enable_tpu": False, "enable_internet": False, "dataset_sources": [], "competition_sources": [competition],
        "kernel_sources": [], "model_sources": [],
    }
    if GPU_SHAPES[gpu]:
        meta["machine_shape"] = GPU_SHAPES[gpu]
    return meta


@dataclass(frozen=True)
class KernelFolder:
    path: Path
    kernel_id: str        # owner/slug
    metadata: dict


def with_competition(pipeline: str | Path, overrides: Sequence[str], competition: str | None) -> list[str]:
    """The overrides, plus ``submit.competition=<competition>`` when that differs from the pipeline's: the
    kernel attaches the competition its config names, and the bundled toolkit looks for the data where Kaggle
    mounts that one (``/kaggle/input[/competitions]/<slug>``), so the two cannot disagree."""
    if competition is None or load_pipeline(Path(pipeline), list(overrides)).submit.competition == competition:
        return list(overrides)
    return [*overrides, f"submit.competition={competition}"]


def build_kernel_folder(pipeline: str | Path, out_root: str | Path, *, owner: str,
                        competition: str | None = None, gpu: str = "t4x2", seed: int | None = None,
                        overrides: Sequence[str] = ()) -> KernelFolder:
    """Write ``<out_root>/<slug>/{kernel-metadata.json, kaggle_kit_kernel.py}`` for one pipeline (and seed);
    ``competition`` None: the pipeline's submit.competition."""
    if not owner:
        raise UsageError("a kernel needs an owner (your Kaggle username) for its id owner/slug")
    pipeline = Path(pipeline)
    overrides = with_competition(pipeline, overrides, competition)
    all_overrides = [*overrides, *([f"train.seed={seed}"] if seed is not None else [])]
    folder = kernel_folder_path(pipeline, out_root, seed, overrides)
    slug = folder.name
    kernel_id = f"{owner}/{slug}"
    cfg = load_pipeline(pipeline, all_overrides)
    meta = kernel_metadata(kernel_id, cfg.submit.competition, gpu)
    folder.mkdir(parents=True, exist_ok=True)
    script = render_script(kernel_id, pipeline.stem, pipeline.read_text(encoding="utf-8"), all_overrides,
                           source_bundle(), members=max(len(cfg.members), 1))
    # atomically: a push stopped mid-write (Ctrl-C) leaves the folder's previous file, never half of one. Strict
    # UTF-8, not atomic_write_text's surrogateescape: a name a C locale could not decode stays an error with its cure
    atomic_write_bytes(folder / SCRIPT_NAME, script.encode("utf-8"))
    atomic_write_text(folder / METADATA_NAME, json.dumps(meta, indent=2) + "\n")
    return KernelFolder(folder, kernel_id, meta)


def kernel_folder_path(pipeline: str | Path, out_root: str | Path, seed: int | None = None,
                       overrides: Sequence[str] = ()) -> Path:
    """``<out_root>/<slug>`` for one pipeline (and seed), checked: the pipeline loads with the overrides and
    the folder is (or can be made) a folder. Writes nothing and sends nothing."""
    all_overrides = [*overrides, *([f"train.seed={seed}"] if seed is not None else [])]
    cfg = load_pipeline(Path(pipeline), all_overrides)  # fail here, not an hour later on Kaggle
    fixed = members_fixing_seed(cfg) if seed is not None else []
    if fixed:
        raise UsageError(f"{pipeline}: train.seed is set by its {noun_for(len(fixed), 'member')} "
                         f"{', '.join(fixed)}, so --seeds would push "
                         f"kernels that train the same seeds; push it once without --seeds (one kernel trains "
                         f"every member)")
    from kaggle_kit.pipeline import check_member_models, member_configs

    check_member_models(member_configs(cfg))  # `run` checks these before data; on Kaggle that is after the push
    folder = Path(out_root) / kernel_slug(cfg.name, seed, overrides)
    check_dir_target(out_root, "kernel folders' root (--out)")
    check_dir_target(folder, "kernel folder")
    return folder


def members_fixing_seed(cfg) -> list[str]:
    """Names of the members whose resolved train.seed does not follow the pipeline's: a member's ``set`` is
    applied after the kernel's overrides, so ``--seeds`` cannot reach them."""
    def member_seed(seed: int, member) -> int:
        return member_config(dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, seed=seed)),
                             member).train.seed

    return [m.name for m in cfg.members if member_seed(0, m) == member_seed(1, m)]


def parse_seeds(text: str | None) -> list[int | None]:
    """``"0,1,2"`` or ``"0-3"`` -> seeds; None -> [None] (one kernel, the pipeline's own seed)."""
    if not text:
        return [None]
    seeds: list[int | None] = []
    try:
        for part in text.split(","):
            if "-" in part.strip()[1:]:
                lo, hi = (int(x) for x in part.split("-", 1))
                if hi < lo:
                    raise UsageError(f"--seeds range '{part.strip()}' is empty (it ends below its start); "
                                     f"write it low-high, e.g. {hi}-{lo}")
                if hi - lo + 1 > MAX_SEEDS:
                    raise UsageError(f"--seeds range '{part.strip()}' makes {hi - lo + 1} kernels; "
                                     f"at most {MAX_SEEDS} per push")
                seeds.extend(range(lo, hi + 1))
            else:
                seeds.append(int(part))
    except ValueError:
        raise UsageError(f"--seeds must look like 0,1,2 or 0-4, found '{text}'") from None
    if len(seeds) > MAX_SEEDS:
        raise UsageError(f"--seeds lists {len(seeds)} seeds; at most {MAX_SEEDS} per push")
    if len(set(seeds)) != len(seeds):
        raise UsageError(f"--seeds lists a seed twice: '{text}'")
    return seeds


# ------------------------------------------------------------------------------------------ pull
@dataclass(frozen=True)
class PulledKernel:
    ref: str
    runs: list[Path]


def _check_outputs(folder: Path, ref: str) -> None:
    """The client writes a failed file GET's error body into the output file without a word; catch that
    here, before a broken file reaches an ensemble. Checked: the files later stages load (logits, holdout
    indices, checkpoints, manifests)."""
    from kaggle_kit.runs import load_logits

    for path in sorted(folder.rglob("*")):
        try:
            if path.suffix == ".npz" and path.name.startswith("logits_"):
                load_logits(path)
            elif path.suffix == ".npz":
                np.load(path, allow_pickle=False).close()
            elif path.suffix == ".npy":
                np.load(path, allow_pickle=False)
            elif path.suffix == ".json":
                json.loads(path.read_text(encoding="utf-8"))
            elif path.suffix == ".pt" and not zipfile.is_zipfile(path):  # torch.save writes a zip archive
                raise ValueError("not a torch checkpoint")
        except (RunError, ValueError, OSError, UnicodeDecodeError, EOFError, zipfile.BadZipFile) as err:
            raise KaggleError(f"output file {path.name} of kernel {ref} did not download correctly "
                              f"({type(err).__name__}); rerun `kaggle-kit kernel pull {ref}`") from None


def check_output_names(ref: str, names: Sequence[str], dest: str | Path) -> None:
    """Every file name a kernel's output list gives must land inside ``dest``: no absolute names, no ``..``
    (or empty, or ``.``) component, nothing that resolves outside ``dest``, and no name that is also the
    folder of another. Checked before anything is downloaded; the error names the kernel and the name."""
    dest = Path(dest).resolve()
    names = list(names)
    listed = set(names)
    for name in names:
        parts = re.split(r"[\\/]", name) if isinstance(name, str) else [""]
        # beyond what would escape, a file name has no empty or '.' part (a zip's folder entries end in '/')
        bad = (not isinstance(name, str) or escape_problem(name, dest) is not None
               or any(part in ("", ".") for part in parts))
        if bad:
            raise KaggleError(f"kernel {ref} lists an output file named {name!r}, which would be written outside "
                              f"the download folder (absolute, '..' or empty part); nothing was downloaded")
        clash = next(("/".join(parts[:i]) for i in range(1, len(parts)) if "/".join(parts[:i]) in listed), None)
        if clash is not None:
            raise KaggleError(f"kernel {ref} lists {clash!r} both as a file and as the folder of {name!r}; "
                              f"nothing was downloaded")


def list_kernel_outputs(ref: str) -> list[str]:
    """The file names of a kernel's output, every page, without downloading anything."""
    from kaggle_kit import kaggle_api

    owner, slug = ref.split("/", 1)

    def op(api) -> list[str]:
        from kagglesdk.kernels.types.kernels_api_service import ApiListKernelSessionOutputRequest

        names: list[str] = []
        token = None
        with api.build_kaggle_client() as kaggle:
            while True:
                request = ApiListKernelSessionOutputRequest()
                request.user_name, request.kernel_slug, request.page_size = owner, slug, 100
                if token:
                    request.page_token = token
                response = kaggle.kernels.kernels_api_client.list_kernel_session_output(request)
                names += [item.file_name for item in response.files or []]
                token = response.next_page_token
                if not token:
                    return names

    return kaggle_api._call(kaggle_api.Target("kernel", ref, f"the output listing of kernel {ref}"), op)


def download_kernel_outputs(ref: str, dest: Path) -> None:
    """List the kernel's outputs, check every name (``check_output_names``), then download exactly those
    names (and the log, ``<slug>.log``) into ``dest``: a name the server adds between the two calls is not
    fetched, so nothing lands outside ``dest``."""
    from kaggle_kit import kaggle_api

    names = list_kernel_outputs(ref)
    check_output_names(ref, names, dest)
    pattern = "^(?:" + "|".join(re.escape(n) for n in names) + r")\Z" if names else r"(?!)"

    def op(api) -> None:
        api.kernels_output(ref, str(dest), file_pattern=pattern, force=True, quiet=True)

    kaggle_api._call(kaggle_api.Target("kernel", ref, f"the output download of kernel {ref}"), op)


def pull_kernels(refs: Sequence[str], runs_dir: str | Path = "runs", force: bool = False) -> list[PulledKernel]:
    """Download finished kernels' outputs and move their run folders into ``runs_dir``, all or nothing.

    Every kernel's status is asked first (an unknown or unfinished kernel fails before any download), then
    each kernel's output goes to a staging folder inside ``runs_dir`` and is checked (file names, loadable
    files, run folders present, destinations free); only when every check passed are run folders moved.
    On a failure the staging folder and the folders this call created are removed; the one thing kept is the
    log of a kernel that ended in ERROR or left no runs (``runs_dir/kernel-<slug>.log``), which the error message
    names."""
    from kaggle_kit import kaggle_api

    refs = list(dict.fromkeys(refs))
    for ref in refs:
        owner, _ = check_kernel_name(ref)
        if owner is None:
            raise UsageError(f"kernel name '{ref}' needs its owner: owner/slug")
    runs_dir = Path(runs_dir)
    check_dir_target(runs_dir, "runs folder (--runs-dir)")
    statuses = {ref: kaggle_api.kernel_status(ref) for ref in refs}
    for ref, status in statuses.items():
        if status.status not in TERMINAL:
            raise KaggleError(f"kernel {ref} is {status.status}; wait until it is COMPLETE "
                              f"(`kaggle-kit kernel status {ref} --wait`), then pull again")
    created = new_paths(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    staging_root = Path(tempfile.mkdtemp(prefix=".pull-", dir=runs_dir))
    kept_logs: list[Path] = []  # a failed kernel's log, which the error names: kept, and so is runs_dir
    done = False
    replaced: list[tuple[Path, Path]] = []  # (where a run --force replaces went, where it was)
    claimed = contextlib.ExitStack()  # the runs --force replaces, held against train and predict until the end
    try:
        staged = _stage_outputs(refs, statuses, staging_root, runs_dir, kept_logs)
        _check_destinations(staged, runs_dir, force, claimed)
        pulled = _move_runs_in(staged, runs_dir, force, staging_root, replaced)
        done = True
        return pulled
    finally:  # held: a second Ctrl-C or kill would stop it half way, the old run left hidden in the staging folder
        with signals_held():
            for aside, target in replaced:
                if aside.is_dir() and not target.exists() and not target.is_symlink():  # the new run is not there
                    with contextlib.suppress(OSError):
                        os.rename(aside, target)
            shutil.rmtree(staging_root, ignore_errors=True)
            claimed.close()
            if not done and not kept_logs:
                remove_created(created)


class _Staged(NamedTuple):
    """A kernel's checked output, waiting in the staging folder to be moved in."""

    ref: str
    log_text: str
    run_folders: list[Path]


def _stage_outputs(refs: list[str], statuses: dict, staging_root: Path, runs_dir: Path,
                   kept_logs: list[Path]) -> list[_Staged]:
    """Each kernel's output downloaded into its own staging folder and checked: (ref, log text, run folders), in
    ``refs``' order. A kernel that did not complete, or left no runs, fails the pull with its log kept in
    ``runs_dir`` (appended to ``kept_logs`` before the error)."""
    staged: list[_Staged] = []
    # a kernel that did not complete fails the pull: handle those first, before downloading the others
    for i, ref in enumerate(sorted(refs, key=lambda r: statuses[r].status == "COMPLETE")):
        status, slug = statuses[ref], ref.split("/", 1)[1]
        staging = staging_root / str(i)
        staging.mkdir()
        download_kernel_outputs(ref, staging)
        log_src = staging / f"{slug}.log"
        log_text = log_src.read_text(encoding="utf-8", errors="replace") if log_src.is_file() else ""
        run_folders = sorted({p.parent for p in (staging / "runs").glob("*/logits_*.npz")})
        if status.status != "COMPLETE" or not run_folders:  # keep the log: it is what says why
            keep = runs_dir / f"kernel-{slug}.log"
            # atomically: a kill or a full disk must not leave half a log over an earlier pull's whole one
            atomic_write_bytes(keep, log_text.encode("utf-8"))
            kept_logs.append(keep)
            why = (f"ended {status.status}: {status.failure_message or 'no message'}"
                   if status.status != "COMPLETE" else "finished but left no run folders with logits under runs/")
            raise KaggleError(f"kernel {ref} {why}; its log is in {keep}")
        for folder in run_folders:
            _check_outputs(folder, ref)
        staged.append(_Staged(ref, log_text, run_folders))
    return sorted(staged, key=lambda item: refs.index(item.ref))


def _check_destinations(staged: list[_Staged], runs_dir: Path, force: bool,
                        claimed: contextlib.ExitStack) -> None:
    """Every destination checked before the first move: one kernel per run name, no file in a run's place, and a
    run there already only with ``force`` (then claimed in ``claimed`` against a ``predict`` or ``train --resume``
    in it, which would write into the new run)."""
    owners: dict[str, str] = {}
    for ref, _, run_folders in staged:
        for folder in run_folders:
            target = runs_dir / folder.name
            if folder.name in owners:
                raise RunError(f"kernels {owners[folder.name]} and {ref} both have a run folder "
                               f"{folder.name}; pull them one at a time into different --runs-dir")
            owners[folder.name] = ref
            if target.is_symlink() or (target.exists() and not target.is_dir()):
                raise UsageError(f"{target}: is a file, not a run folder; move it away, then pull again "
                                 f"(--force replaces only run folders)")
            if target.exists() and not force:
                raise RunError(f"{target} already exists (pulled before?); pass --force to replace it")
            if target.is_dir():
                claim_run(target, claimed, ", then pull again")


def _move_runs_in(staged: list[_Staged], runs_dir: Path, force: bool, staging_root: Path,
                  replaced: list[tuple[Path, Path]]) -> list[PulledKernel]:
    """The staged run folders renamed into ``runs_dir``, each with its kernel's log and name. A run ``force``
    replaces is moved aside into ``staging_root`` first and listed in ``replaced`` before the rename, so that
    the caller's cleanup can put it back if the new run never takes its place."""
    pulled = []
    for ref, log_text, run_folders in staged:
        moved = []
        for folder in run_folders:
            target = runs_dir / folder.name
            (folder / "kernel.log").write_text(log_text, encoding="utf-8")
            (folder / "kernel.json").write_text(json.dumps({"kernel": ref}, indent=2) + "\n", encoding="utf-8")
            if force and target.is_dir() and not target.is_symlink():  # checked free otherwise: one there now
                # is another pull's, made meanwhile. Moved aside, not removed: a pull stopped before the new
                # run takes its place (Ctrl-C, kill, a failed rename) puts it back
                aside = staging_root / f"replaced-{len(replaced)}"
                replaced.append((aside, target))  # first: an interrupt may land as the rename returns
                os.rename(target, aside)
            try:  # a rename, not shutil.move: that moves a folder INTO one that another pull put there meanwhile
                os.rename(folder, target)
            except OSError:
                if not target.exists():
                    raise
                kept = [str(p) for p in (*(m for pk in pulled for m in pk.runs), *moved)]
                raise RunError(f"{target} appeared while this pull moved its runs in (another `kaggle-kit kernel "
                               f"pull` into {runs_dir}?); "
                               + (f"{', '.join(kept)} moved in; " if kept else "nothing was moved in; ")
                               + "check it, or pull again with --force to replace it") from None
            moved.append(target)
        pulled.append(PulledKernel(ref, moved))
    return pulled


def pull_kernel(ref: str, runs_dir: str | Path = "runs", force: bool = False) -> PulledKernel:
    """Download a finished kernel's outputs and move its run folders into ``runs_dir``."""
    return pull_kernels([ref], runs_dir, force)[0]
