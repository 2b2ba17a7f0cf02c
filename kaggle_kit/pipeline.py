"""``kaggle-kit run PIPELINE``: data -> train (members) -> predict -> ensemble -> CSV -> validate -> upload
-> sync -> report, skipping every stage whose inputs are unchanged.

Why a state file and content keys rather than timestamps: a stage is skipped only when a hash of everything
that determines its output (its config section, the data fingerprint, the sha256 of upstream artifacts) equals
the key recorded when it last *finished*. A training stage records its run folder before it starts, so a run
killed mid-training resumes from ``last.pt`` in the same folder instead of starting over.

Members train one after another, each predicted right after it trained; with several CUDA GPUs (or
``--parallel-members``) every member's folder is chosen first, in the same order, then they train side by side in
processes of their own (member_jobs.py) and are predicted afterwards: the same runs, sooner.
"""
from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from kaggle_kit.config import STAGES, PipelineConfig, config_hash, member_config
from kaggle_kit.errors import ConfigError
from kaggle_kit.fsio import atomic_write_text, check_not_held, held_lock, one_at_a_time, sha256_file
from kaggle_kit.ledger import as_fraction
from kaggle_kit.member_jobs import MemberJob, planned_at_once, train_members, visible_cuda_devices
from kaggle_kit.runs import REFERENCE_FILE, new_run_id
from kaggle_kit.text import noun_for, percent



# ------------------------------------------------------------------------------------------ state file
@dataclass
class PipelineState:
    """``runs/pipelines/<name>.json``: per stage id, the key it finished with, what it produced and each output's
    sha256, so an output that another command, another pipeline or a hand changed since is not a finished stage's;
    per training key, the run folder it trained into, so switching a setting back or renaming a member reuses
    the run (finished or half-trained) instead of training again. Paths are kept relative to the work folder,
    so a rerun from another current directory finds them."""

    path: Path
    root: Path = Path(".")
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, root: Path = Path(".")) -> "PipelineState":
        state = cls(path, root)
        try:
            raw = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            raw = {}  # a corrupt state only costs recomputation
        if isinstance(raw, dict):
            for name, section in (("stages", state.stages), ("runs", state.runs)):
                loaded = raw.get(name)
                if isinstance(loaded, dict):
                    section.update({k: v for k, v in loaded.items() if isinstance(v, dict)})
        return state

    def save(self) -> None:
        atomic_write_text(self.path, json.dumps({"stages": self.stages, "runs": self.runs}, indent=2, default=str))

    def relative(self, path: Path) -> str:
        try:
            return Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def resolve(self, stored: str) -> Path:
        """A stored path under the work folder; an older state file's path relative to its current directory
        is used as it is when that is where the thing is."""
        p = Path(stored)
        inside = p if p.is_absolute() else self.root / p
        return p if not inside.exists() and p.exists() else inside

    def intact(self, entry: Mapping[str, Any], outputs: Sequence[Path]) -> bool:
        """Every output exists and, where the entry recorded its sha256, still has it."""
        recorded = entry.get("outputs") or {}
        for p in outputs:
            if not Path(p).exists():
                return False
            sha = recorded.get(self.relative(p)) if isinstance(recorded, dict) else None
            if sha is not None and (not Path(p).is_file() or sha256_file(p) != sha):
                return False
        return True

    def done(self, stage_id: str, key: str, outputs: Sequence[Path] = ()) -> dict | None:
        entry = self.stages.get(stage_id)
        if entry and entry.get("key") == key and entry.get("finished") and self.intact(entry, outputs):
            return entry
        return None

    def _entry(self, key: str, finished: bool, outputs: Sequence[Path], info: Mapping[str, Any]) -> dict:
        return {"key": key, "finished": finished, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "outputs": {self.relative(p): sha256_file(p) for p in outputs if Path(p).is_file()},
                **{k: self.relative(v) if isinstance(v, Path) else v for k, v in info.items()}}

    def mark(self, stage_id: str, key: str, finished: bool, outputs: Sequence[Path] = (), **info: Any) -> None:
        self.stages[stage_id] = self._entry(key, finished, outputs, info)
        self.save()

    def mark_run(self, train_key: str, run_dir: Path, finished: bool, outputs: Sequence[Path] = ()) -> None:
        self.runs[train_key] = self._entry(train_key, finished, outputs, {"run_dir": run_dir})
        self.save()

    def run_for(self, train_key: str, stage_id: str, legacy_key: str, taken: set[Path]) -> dict | None:
        """Where this member's training went: its own stage entry when its key (or, from a state file of before,
        the old key) matches; else the last run of this training key that no other member of this pipeline
        uses (``taken``): two members may train alike and differ in prediction, and each keeps its own run."""
        own = self.stages.get(stage_id) or {}
        if own.get("key") in (train_key, legacy_key) and isinstance(own.get("run_dir"), str):
            return own
        run = self.runs.get(train_key) or {}
        if isinstance(run.get("run_dir"), str) and self.resolve(run["run_dir"]) not in taken:
            return run
        return None


# ------------------------------------------------------------------------------------------ progress
class Progress:
    """One line per stage: which stage, how far through the pipeline, how long it took or why it was skipped."""

    def __init__(self, total: int, echo: Callable[[str], None] = print):
        self.total, self.index, self.echo = total, 0, echo
        self.timings: dict[str, float] = {}
        self.open: dict[str, tuple[int, float]] = {}  # key -> (index, start) of stages started with a key

    def start(self, label: str, key: str | None = None) -> float:
        """``key``: the label ``finish`` names it by, when stages run side by side (members training at once)."""
        self.index += 1
        self.echo(f"[{self.index}/{self.total}] {label} ...")
        t0 = time.perf_counter()
        if key is not None:
            self.open[key] = (self.index, t0)
        return t0

    def finish(self, label: str, t0: float | None, detail: str = "") -> None:
        index, started = self.open.pop(label, (self.index, t0))
        seconds = time.perf_counter() - started
        self.timings[label] = round(seconds, 2)
        self.echo(f"[{index}/{self.total}] {label} done in {seconds:.1f} s" + (f": {detail}" if detail else ""))

    def skip(self, label: str, why: str = "inputs unchanged") -> None:
        self.index += 1
        self.timings[label] = 0.0
        self.echo(f"[{self.index}/{self.total}] {label} skipped ({why})")


# ------------------------------------------------------------------------------------------ helpers
def member_configs(cfg: PipelineConfig) -> list[tuple[str, PipelineConfig]]:
    """Each ensemble member's full pipeline config: the pipeline with the member's dotted overrides applied."""
    if not cfg.members:
        return [("m0", cfg)]
    out = []
    for member in cfg.members:
        try:
            resolved = member_config(cfg, member)
        except ConfigError as err:
            raise ConfigError(f"member '{member.name}': {err}") from None
        out.append((member.name, resolved))
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise ConfigError(f"member names must be unique, found {names}")
    return out


def check_member_models(members: Sequence[tuple[str, PipelineConfig]]) -> list[int]:
    """Build every member's model on the meta device (no memory, no init time), check its parameter budget, that it
    classifies a CIFAR-sized batch and that it has BatchNorm if ``predict.adapt_bn`` asks to adapt it, and return
    each one's trainable parameters.

    Training checks the budget too, but only when it reaches that member: the members before it would train
    first, for hours on a real recipe, and a run that cannot finish would leave them behind.
    """
    import warnings

    import torch

    from kaggle_kit.bn_adapt import batchnorm_layers
    from kaggle_kit.config import CIFAR10_CLASSES
    from kaggle_kit.errors import UsageError
    from kaggle_kit.models import count_parameters
    from kaggle_kit.train.loop import build_model

    counts = []
    for name, mcfg in members:
        try:
            with torch.device("meta"), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch's note that a zero-size tensor is not initialised
                model, kwargs = build_model(mcfg, CIFAR10_CLASSES, meta_only=True)  # its budget check's build
                counts.append(count_parameters(model))
                _check_forward(model, mcfg.model.name, kwargs, min(2, mcfg.train.batch_size))
                if mcfg.predict.adapt_bn and not batchnorm_layers(model):
                    raise ConfigError(f"predict.adapt_bn: model {mcfg.model.name} has no BatchNorm layer to adapt; "
                                      f"set predict.adapt_bn: false")
        except UsageError as err:
            if len(members) == 1:
                raise
            raise type(err)(f"member '{name}': {err}") from None
    return counts


def _check_forward(model, name: str, kwargs: dict, batch: int = 2) -> None:
    """One training-mode forward pass of a CIFAR-sized batch on the meta device (shapes only, no compute): a model
    that builds but cannot run (a width of 0) stops the run here, not at its first training step after the data
    is read. ``batch`` 1 (train.batch_size 1) also meets BatchNorm on a 1x1 map (timm's rexnet), which needs more
    than one value per channel in training."""
    import torch

    from kaggle_kit.config import CIFAR10_CLASSES

    try:
        out = model(torch.empty(batch, 3, 32, 32, device="meta"))
    except NotImplementedError:  # an operation without a meta kernel: not the config's fault; training will tell
        return
    except Exception as err:  # torch's words for a shape that does not fit: RuntimeError, IndexError, ValueError
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if batch == 1:
            raise ConfigError(f"model '{name}' cannot train on batches of one image ({first}); raise "
                              f"train.batch_size") from None
        raise ConfigError(f"model '{name}' with model.kwargs {kwargs} cannot classify a 32x32 image ({first}); "
                          f"fix model.kwargs") from None
    if tuple(getattr(out, "shape", ())) != (batch, CIFAR10_CLASSES):
        raise ConfigError(f"model '{name}' with model.kwargs {kwargs} gives outputs of shape "
                          f"{tuple(getattr(out, 'shape', ()))} for {batch} images, not ({batch}, {CIFAR10_CLASSES})")


def cifar_fingerprint(paths) -> str:
    """Hash of the CIFAR-10 batches alone: training reads only them, so a new competition pickle re-predicts but
    does not retrain."""
    return config_hash(_batch_hashes(paths), length=16)


def _batch_hashes(paths) -> dict[str, str]:
    from kaggle_kit.data import TEST_BATCH, TRAIN_BATCHES

    return {n: sha256_file(paths.cifar_dir / n) for n in (*TRAIN_BATCHES, TEST_BATCH)}


def data_fingerprints(paths) -> tuple[str, str]:
    """The hash of the batches with the competition pickle, and ``cifar_fingerprint``, each file read once (the data
    stage keys on both: 180 MB of batches hashed twice cost a quarter of a second)."""
    batches = _batch_hashes(paths)
    files = dict(batches)
    if paths.comp_pickle is not None:
        files[paths.comp_pickle.name] = sha256_file(paths.comp_pickle)
    return config_hash(files, length=16), config_hash(batches, length=16)


def read_data(data_dir: str | Path | None, competition: str):
    """The data stage's reads: the data folder, CIFAR-10, the competition set, and the fingerprints of both and of
    the batches alone, all read while a download cannot move new files in (``staged_move.reading``): the
    fingerprint keys every later stage, so it must be of the very files loaded, not of older ones."""
    from kaggle_kit.data import load_cifar10, load_competition
    from kaggle_kit.datapaths import reading_data

    with reading_data(data_dir, competition=competition, require_comp=True) as paths:
        data = load_cifar10(paths.cifar_dir)
        comp = load_competition(paths.comp_pickle)
        return (paths, data, comp, *data_fingerprints(paths))


def train_keys(mcfg: PipelineConfig, cifar_fp: str, data_fp: str) -> tuple[str, str]:
    """(key, key before 2026-12) of a member's training: its ``training_key`` (model, train settings but
    ``SPEED_ONLY``, split) and the CIFAR-10 batches. The old key also hashed the competition pickle,
    ``data.comp_subset`` and ``train.num_workers``; it finds runs that state files of before recorded, so they are
    not trained again.

    ``data.test_subset`` only picks the images of the run's final test accuracy, never its weights, so it does not
    retrain (the predict stage, which makes the test logits, is keyed by it). It stays in the hash as None, what
    every pipeline that does not set it hashed, so their keys are unchanged; ``key_with_test_subset`` finds the
    runs of those that did."""
    legacy = config_hash({"model": mcfg.model, "train": mcfg.train, "data": mcfg.data, "fp": data_fp})
    return _training_hash(mcfg, cifar_fp, None), legacy


def key_with_test_subset(mcfg: PipelineConfig, cifar_fp: str) -> str:
    """The training key as state files before 2026-12-02 recorded it, with ``data.test_subset`` in it."""
    return _training_hash(mcfg, cifar_fp, mcfg.data.test_subset)


def _training_hash(mcfg: PipelineConfig, cifar_fp: str, test_subset: int | None) -> str:
    """The one hash both training keys are: ``train_keys``' with ``test_subset`` None, the pre-2026-12-02 key with
    the member's own. Its fields, names and order are what recorded state files hold: change none of them."""
    from kaggle_kit.train.loop import training_key

    return config_hash({"training": training_key(mcfg), "test_subset": test_subset, "fp": cifar_fp})


def _would_dry_run(upload: str, kaggle_env: dict[str, str] | None) -> bool:
    from kaggle_kit import kaggle_api
    from kaggle_kit.upload import resolve_mode

    with kaggle_api.applied_env(kaggle_env):
        return resolve_mode(upload) == "dry-run"


def _predicted_subset(folder: Path) -> int | None | str:
    """The data.comp_subset the folder's logits were predicted with, by its predict manifest: a state entry of a
    version that predicted with the run's own value may name this pipeline's key over other logits."""
    from kaggle_kit.runs import read_manifest

    return (read_manifest(folder, "predict") or {}).get("comp_subset", "unknown")


@dataclass
class PipelineOutcome:
    run_dirs: list[Path]
    final_dir: Path
    csv: Path | None
    ledger_row: dict | None
    report: Path | None
    timings_s: dict[str, float]
    ledger: Path | None = None   # the workdir's ledger, once it exists


# ------------------------------------------------------------------------------------------ the runner
def run_pipeline(cfg: PipelineConfig, *, data_dir: str | Path | None = None, workdir: str | Path = ".",
                 progress: bool = True, echo: Callable[[str], None] = print,
                 kaggle_env: dict[str, str] | None = None, again: str | None = None,
                 parallel_members: int | str | None = None, checked: Checked | None = None) -> PipelineOutcome:
    """Run (or resume) every stage the pipeline lists; returns where the outputs are. ``again``: the command a dry
    run names for the upload (the pipeline's own, so the ledger keeps its runs and predictions).
    ``parallel_members``: how many members train at once (None: ``$KAGGLE_KIT_PARALLEL_MEMBERS``, else auto, one
    per visible CUDA GPU; see member_jobs.py). ``checked``: ``check_before_work(cfg, parallel_members)`` when the
    caller ran it already (the demo), so the members' models are not built again.

    One run of a pipeline per folder at a time: a second (`make submit` in two terminals) would train the same
    members again beside the first and race it for the state file, so it is refused at once."""
    where = Path(workdir).resolve()
    busy = (f"another `kaggle-kit run` of pipeline '{cfg.name}' is running in {where}; wait for it to finish (its "
            f"finished stages are then skipped here) or run in another folder")
    with one_at_a_time(f"pipeline:{where}:{cfg.name}", busy):
        members, parallel = _preflight(cfg, workdir=Path(workdir), echo=echo, kaggle_env=kaggle_env,
                                      parallel_members=parallel_members, checked=checked)
        # the temporary folder's lock misses a run with another TMPDIR (a Slurm job's) or on another machine
        # sharing this folder; this one, beside the state file, does not. A run holding it is refused now; it is
        # taken (and its file made) only once the data stage has found and read the data, so a run the checks or
        # the data refuse writes nothing
        lock = Path(workdir) / "runs" / "pipelines" / f".{cfg.name}.lock"
        check_not_held(lock, busy)
        with contextlib.ExitStack() as held:
            def take_lock() -> None:
                lock.parent.mkdir(parents=True, exist_ok=True)
                held.enter_context(held_lock(lock, busy))

            return _run_pipeline(cfg, members, data_dir=data_dir, workdir=workdir, progress=progress, echo=echo,
                                 kaggle_env=kaggle_env, again=again, take_lock=take_lock, parallel=parallel)


def check_stages_and_models(cfg: PipelineConfig) -> tuple[list[tuple[str, PipelineConfig]], list[int]]:
    """The stages, and every member's model (each built on the meta device). Returns the members' configs and
    their trainable parameters."""
    unknown = [s for s in cfg.stages if s not in STAGES]
    if unknown:
        raise ConfigError(f"unknown stage '{unknown[0]}' (valid stages: {', '.join(STAGES)})")
    if "data" not in cfg.stages or "train" not in cfg.stages:
        raise ConfigError("a pipeline must list at least the 'data' and 'train' stages")
    members = member_configs(cfg)
    params = check_member_models(members)  # a model over budget or unbuildable stops the run now, not after training
    return members, params


@dataclass(frozen=True)
class Checked:
    """What the pre-flight checks that need no work folder or credentials found (``check_before_work``)."""
    cfg: PipelineConfig
    members: list[tuple[str, PipelineConfig]]
    params: list[int]                   # each member's trainable parameters
    parallel: tuple[int, list[str]]     # how many members train at once, and the CUDA devices they are given


def check_before_work(cfg: PipelineConfig, parallel_members: int | str | None = None) -> Checked:
    """The stages, every member's model and how many members train at once. The demo runs these before it writes
    its folder and starts its fake Kaggle, and hands them to ``run_pipeline`` (``checked=``), which would
    otherwise build every member's model again."""
    members, params = check_stages_and_models(cfg)
    devices = visible_cuda_devices()
    at_once = planned_at_once(parallel_members, len(devices), len(members))
    return Checked(cfg, members, params, (at_once, devices))


def _preflight(cfg: PipelineConfig, *, workdir: Path, echo: Callable[[str], None],
               kaggle_env: dict[str, str] | None, parallel_members: int | str | None = None,
               checked: Checked | None = None) -> tuple[list[tuple[str, PipelineConfig]], tuple[int, list[str]]]:
    """Every check that can refuse the run before anything is read or written; returns the members' configs and
    (how many train at once, the CUDA devices they are given). ``checked``: ``check_before_work``'s findings for
    this very config, when the caller ran it already."""
    if checked is None or checked.cfg != cfg:
        checked = check_before_work(cfg, parallel_members)
    members, params = checked.members, checked.params
    if "upload" in cfg.stages or "sync" in cfg.stages:  # a bad ledger stops the run now, not after training
        from kaggle_kit.upload import check_ledger

        check_ledger(workdir / "submissions" / "ledger.csv")
    if "upload" in cfg.stages:  # so does submit.upload: always without credentials, and a message it would refuse
        from kaggle_kit.upload import check_message

        _would_dry_run(cfg.submit.upload, kaggle_env)
        if cfg.submit.message:  # empty: the upload names the submission itself
            check_message(cfg.submit.message, "submit.message")
    if "ensemble" in cfg.stages and len(members) > 1:  # said now, not after hours of training
        from kaggle_kit.models.counting import combined_parameters_note

        note = combined_parameters_note(params)
        if note:
            echo(f"{note}: `kaggle-kit submit --from RUN -m MSG` with one member's run folder once it is trained")
    return members, checked.parallel


def _plan_training(state: PipelineState, name: str, mcfg: PipelineConfig, cfg: PipelineConfig, work: Path,
                   cifar_fp: str, data_fp: str, taken: set[Path], label: str, prog: Progress,
                   echo: Callable[[str], None]) -> tuple[Path, MemberJob | None]:
    """Where a member's training goes: (its folder, None) when a finished, intact run is found (recorded as this
    member's and reported skipped), else (the folder, the training to run: resuming or new)."""
    train_key, legacy_key = train_keys(mcfg, cifar_fp, data_fp)
    sid = f"train:{name}"
    entry = state.run_for(train_key, sid, legacy_key, taken)
    if entry is None and mcfg.data.test_subset is not None:
        entry = state.run_for(key_with_test_subset(mcfg, cifar_fp), sid, legacy_key, taken)
    folder = state.resolve(entry["run_dir"]) if entry else None
    model = None if folder is None else folder / "model.pt"
    finished = bool(entry and entry.get("finished"))
    if finished and state.intact(entry, [model]):
        if train_key not in state.runs:  # found by the old key
            state.mark_run(train_key, folder, finished=True, outputs=[model])
        # found by key, by the old key or under another member's name: now this member's entry too
        if entry is not state.stages.get(sid) or entry.get("key") != train_key:
            state.mark(sid, train_key, finished=True, outputs=[model], run_dir=folder,
                       holdout_acc=entry.get("holdout_acc"))
        prog.skip(label, f"inputs unchanged; {folder}")
        return folder, None
    if finished and model.exists():  # changed since training wrote it
        model.unlink()
    if finished and mcfg.train.select_best:
        echo(f"{model}: missing or changed since training; with train.select_best it held the best "
             f"epoch's weights, which last.pt cannot restore, so {label} starts again in a new folder")
        folder = None
    resume = folder is not None and (folder / "last.pt").exists()
    if folder is None:
        folder = work / "runs" / new_run_id(f"{cfg.name}-{name}", {"key": train_key})
    return folder, MemberJob(name, mcfg, folder, resume, train_key)


@dataclass(frozen=True)
class _Stages:
    """What every stage after the data stage reads: the pipeline, its folder and state, the data, where lines go."""
    cfg: PipelineConfig
    work: Path
    state: PipelineState
    prog: Progress
    echo: Callable[[str], None]
    data: Any
    comp: Any
    data_fp: str
    kaggle_env: dict[str, str] | None

    @property
    def ledger_path(self) -> Path:
        return self.work / "submissions" / "ledger.csv"


def _run_pipeline(cfg: PipelineConfig, members: list[tuple[str, PipelineConfig]], *, data_dir: str | Path | None,
                  workdir: str | Path, progress: bool, echo: Callable[[str], None],
                  kaggle_env: dict[str, str] | None, again: str | None,
                  take_lock: Callable[[], None], parallel: tuple[int, list[str]] = (1, [])) -> PipelineOutcome:
    """The stages in order, each skipped while its key and outputs are unchanged (one function per stage below)."""
    work = Path(workdir)
    n_member_stages = sum(s in cfg.stages for s in ("train", "predict")) * len(members)
    total = len(cfg.stages) + n_member_stages - sum(s in cfg.stages for s in ("train", "predict"))
    prog = Progress(total, echo)

    # -- data: always loaded (later stages need the arrays); its fingerprint keys everything downstream
    t0 = prog.start("data")
    paths, data, comp, data_fp, cifar_fp = read_data(data_dir, cfg.submit.competition)
    subset = (f"; training uses {cfg.data.train_subset:,} of the non-holdout images (data.train_subset)"
              if cfg.data.train_subset else "")
    prog.finish("data", t0, f"{len(data.train_labels):,} train + {len(data.test_labels):,} test CIFAR-10 images, "
                f"{len(comp.ids):,} competition images from {paths.root} (fingerprint {data_fp[:7]}){subset}")
    take_lock()  # before the first write
    # read only now, under the lock: a run of this pipeline that finished while this one read the data (one with
    # another TMPDIR) has recorded its members, which this run then reuses instead of training them again beside
    # them and saving a state without them
    state = PipelineState.load(work / "runs" / "pipelines" / f"{cfg.name}.json", work)
    st = _Stages(cfg, work, state, prog, echo, data, comp, data_fp, kaggle_env)

    run_dirs = _member_stages(st, members, parallel, paths.root, cifar_fp, progress)
    outcome = PipelineOutcome(run_dirs=run_dirs, final_dir=run_dirs[0], csv=None, ledger_row=None, report=None,
                              timings_s=prog.timings)
    if "predict" not in cfg.stages:
        return outcome
    if "ensemble" in cfg.stages:
        outcome.final_dir = _ensemble_stage(st, run_dirs)
    if "submission" in cfg.stages:
        outcome.csv = _submission_stage(st, outcome.final_dir)
    csv_sha = None  # the uploaded (or dry-run) CSV's
    if "upload" in cfg.stages and outcome.csv is not None:
        csv_sha = sha256_file(outcome.csv)
        outcome.ledger_row = _upload_stage(st, outcome.csv, csv_sha, outcome.final_dir, run_dirs, again)
    if "sync" in cfg.stages:
        from kaggle_kit.upload import sync_ledger_if_possible

        t0 = prog.start("sync")
        detail = sync_ledger_if_possible(cfg.submit.competition, workdir=work, env=kaggle_env)
        prog.finish("sync", t0, detail)
    if "report" in cfg.stages and cfg.report.enabled:
        outcome.report = _report_stage(st, run_dirs, outcome.final_dir)

    timings = work / "runs" / "pipelines" / f"{cfg.name}.timings.json"
    atomic_write_text(timings, json.dumps(prog.timings, indent=2))
    outcome.ledger = st.ledger_path if st.ledger_path.is_file() else None
    if csv_sha is not None and outcome.ledger is not None:
        # this CSV's row as the ledger has it now (after sync), also when the upload was skipped
        from kaggle_kit.ledger import rows_with_sha, submitted

        rows = rows_with_sha(st.ledger_path, csv_sha, cfg.submit.competition)
        outcome.ledger_row = (submitted(rows) or rows or [outcome.ledger_row])[-1]
    return outcome


def _member_stages(st: _Stages, members: list[tuple[str, PipelineConfig]], parallel: tuple[int, list[str]],
                   data_root: Path, cifar_fp: str, progress: bool) -> list[Path]:
    """Train and predict every member: one after another, each predicted before the next is planned, or side by
    side (``parallel``: how many at once, and the CUDA devices they are given), then predicted in member order.
    Returns the members' run folders in member order."""
    from kaggle_kit.predict import predict_run
    from kaggle_kit.train import train_run

    cfg, state, prog = st.cfg, st.state, st.prog
    run_dirs: list[Path] = []
    labels = {name: "train" if len(members) == 1 else f"train {name}" for name, _ in members}

    def start_training(job: MemberJob, device: str | None = None) -> None:
        state.mark_run(job.train_key, job.run_dir, finished=False)
        state.mark(f"train:{job.name}", job.train_key, finished=False, run_dir=job.run_dir)
        where = f" (resuming {job.run_dir})" if job.resume else f" -> {job.run_dir}"
        prog.start(labels[job.name] + where + ("" if device is None else f" on GPU {device}"), key=labels[job.name])

    def record_training(job: MemberJob, result) -> None:
        folder = job.run_dir
        state.mark_run(job.train_key, folder, finished=True, outputs=[folder / "model.pt"])
        state.mark(f"train:{job.name}", job.train_key, finished=True, outputs=[folder / "model.pt"], run_dir=folder,
                   holdout_acc=result.holdout_acc)
        prog.finish(labels[job.name], None, f"holdout {percent(result.holdout_acc, 2, 'n/a')} after "
                    f"{result.epochs_done} epoch{'' if result.epochs_done == 1 else 's'}"
                    f"{'' if result.stopped_epoch is None else ' (early stop)'}")

    def train_here(job: MemberJob) -> None:  # in this process, as every member trains without side by side
        start_training(job)
        record_training(job, train_run(job.config, st.data, job.run_dir, resume=job.resume, progress=progress))

    def predict_member(name: str, mcfg: PipelineConfig, folder: Path) -> None:
        label = "predict" if len(members) == 1 else f"predict {name}"
        pkey = config_hash({"predict": mcfg.predict, "data": mcfg.data, "model": sha256_file(folder / "model.pt"),
                            "fp": st.data_fp})
        outputs = [folder / f"logits_{s}.npz" for s in ("holdout", "test", "comp")]
        if state.done(f"predict:{name}", pkey, outputs) and _predicted_subset(folder) == mcfg.data.comp_subset:
            prog.skip(label)
        else:
            t0 = prog.start(label)
            logits = predict_run(folder, st.data, st.comp, mcfg.predict, comp_subset=mcfg.data.comp_subset,
                                 test_subset=mcfg.data.test_subset)
            state.mark(f"predict:{name}", pkey, finished=True, outputs=outputs)
            prog.finish(label, t0, f"tta={mcfg.predict.tta}: holdout {percent(logits['holdout'].accuracy, 2, 'n/a')}, "
                        f"test {percent(logits['test'].accuracy, 2, 'n/a')}")

    at_once, devices = parallel
    jobs = []
    for name, mcfg in members:  # one after another: each member trained and predicted before the next is planned
        folder, job = _plan_training(state, name, mcfg, cfg, st.work, cifar_fp, st.data_fp, set(run_dirs),
                                     labels[name], prog, st.echo)
        run_dirs.append(folder)
        if at_once > 1:  # side by side: every member's folder first (in member order), then the trainings
            jobs += [job] if job is not None else []
            continue
        if job is not None:
            train_here(job)
        if "predict" in cfg.stages:
            predict_member(name, mcfg, folder)
    if at_once > 1:
        if len(jobs) == 1:
            train_here(jobs[0])
        elif jobs:
            at_once = min(at_once, len(jobs))
            st.echo(f"training {len(jobs)} members {at_once} at a time, each in its own process"
                    + ((f", one per GPU of {', '.join(devices)}" if at_once <= len(devices) else
                        f", sharing {noun_for(len(devices), 'GPU')} {', '.join(devices)}") if devices else
                       " on the CPU")
                    + "; their epoch lines start with [member] (--parallel-members 1: one after another)")
            train_members(jobs, data_root, at_once=at_once, devices=devices, progress=progress, cifar_fp=cifar_fp,
                          on_start=start_training, on_done=record_training, echo=st.echo)
        if "predict" in cfg.stages:
            for (name, mcfg), folder in zip(members, run_dirs):
                predict_member(name, mcfg, folder)
    return run_dirs


def _ensemble_stage(st: _Stages, run_dirs: list[Path]) -> Path:
    """The folder whose logits are final: the ensemble's, or the one member's."""
    if len(run_dirs) == 1:
        st.prog.skip("ensemble", "one member: its logits are the final logits")
        return run_dirs[0]
    from kaggle_kit.ensemble import ensemble_runs

    cfg, work = st.cfg, st.work
    # keyed by the members' logits themselves (the sha256 of upstream artifacts, as every stage is): a predict stage
    # that made them again under the same key must not leave the ensemble of the old ones
    ekey = config_hash({"members": [sha256_file(d / f"logits_{s}.npz") for d in run_dirs
                                    for s in ("holdout", "test", "comp")], "ensemble": cfg.ensemble,
                        **references_key(run_dirs)})
    ens_name = f"{cfg.name}-{ekey}"
    ens_dir = work / "ensembles" / ens_name
    ens_outputs = [ens_dir / n for n in ("logits_holdout.npz", "logits_comp.npz", "ensemble.json")]
    if st.state.done("ensemble", ekey, ens_outputs):
        st.prog.skip("ensemble")
        return ens_dir
    t0 = st.prog.start(f"ensemble ({cfg.ensemble.method}, {len(run_dirs)} members)")
    ens_dir = ensemble_runs(run_dirs, cfg.ensemble.method, ens_name, out_root=work / "ensembles",
                            replace=True)  # its name is a key of its inputs: the same ensemble
    st.state.mark("ensemble", ekey, finished=True, outputs=ens_outputs, dir=ens_dir)
    st.prog.finish("ensemble", t0, str(ens_dir))
    return ens_dir


def _submission_stage(st: _Stages, final_dir: Path) -> Path:
    """The submission CSV of the final logits, written and validated against the competition ids."""
    from kaggle_kit.predict import submission_from_run
    from kaggle_kit.submission import check_submission

    skey = config_hash({"logits": sha256_file(final_dir / "logits_comp.npz")})
    csv = st.work / "submissions" / f"{st.cfg.name}-{skey}.csv"
    if st.state.done("submission", skey, [csv]):
        check_submission(csv, st.comp.ids)
        st.prog.skip("submission", f"inputs unchanged; {csv} re-validated")
        return csv
    t0 = st.prog.start("submission")
    submission_from_run(final_dir, csv, force=True)
    check_submission(csv, st.comp.ids)
    st.state.mark("submission", skey, finished=True, outputs=[csv], csv=csv)
    st.prog.finish("submission", t0, f"{csv} ({len(st.comp.ids):,} rows, validated)")
    return csv


def _upload_stage(st: _Stages, csv: Path, csv_sha: str, final_dir: Path, run_dirs: list[Path],
                  again: str | None) -> dict | None:
    """Upload the CSV (or record a dry run) unless the ledger already has it; returns the new ledger row, or None
    when the stage was skipped."""
    from kaggle_kit.ledger import DRY_RUN, NOT_SUBMITTED, rows_with_sha, submitted
    from kaggle_kit.upload import submit_pipeline_csv

    cfg, state, prog, ledger_path = st.cfg, st.state, st.prog, st.ledger_path
    # decided by the ledger, not the state file: a dry run must not stand in for an upload the settings now make,
    # and a ledger row that is gone is not a recorded submission
    rows = rows_with_sha(ledger_path, csv_sha, cfg.submit.competition)
    on_kaggle = submitted(rows)
    ukey = config_hash({"csv": csv_sha, "competition": cfg.submit.competition, "force": cfg.submit.force})
    uploaded = state.done("upload", ukey) or {}
    if on_kaggle and (not cfg.submit.force or uploaded):
        prog.skip("upload", f"already {on_kaggle[-1]['status'] or 'submitted'} in the ledger as ref "
                  f"{on_kaggle[-1]['kaggle_ref'] or '?'}")
        return None
    if uploaded.get("ref") and uploaded.get("status") not in NOT_SUBMITTED:  # the ledger lost its row
        prog.skip("upload", f"uploaded before as {uploaded['ref']}, but {ledger_path} has no row for it; "
                  f"`kaggle-kit sync` adds it back")
        return None
    if any(r["status"] == DRY_RUN for r in rows) and _would_dry_run(cfg.submit.upload, st.kaggle_env):
        prog.skip("upload", "already dry-run in the ledger")
        return None
    t0 = prog.start("upload")
    try:
        row = submit_pipeline_csv(csv, cfg, final_dir, run_dirs, workdir=st.work, env=st.kaggle_env, echo=st.echo,
                                  expected_ids=st.comp.ids, data=st.data, comp=st.comp, again=again)
    except KeyboardInterrupt:  # Ctrl-C or kill after Kaggle took the file: its row is in the ledger, and with
        # submit.force only this state says the upload happened, so a rerun does not make it again
        now = submitted(rows_with_sha(ledger_path, csv_sha, cfg.submit.competition))
        if len(now) > len(on_kaggle):
            state.mark("upload", ukey, finished=True, status=now[-1]["status"], ref=now[-1]["kaggle_ref"])
        raise
    state.mark("upload", ukey, finished=True, status=row.get("status"), ref=row.get("kaggle_ref"))
    prog.finish("upload", t0, f"status {row.get('status')}" + (
        f", public score {percent(as_fraction(float(row['public_score'])), 2, 'n/a')}"
        if row.get("public_score") not in (None, "") else "") + " (the time includes the leaderboard "
        "prediction recorded with it)")
    return row


def references_key(dirs: list[Path]) -> dict:
    """The sha256 of each folder's BatchNorm reference (None where it has none), a key entry only when one exists:
    members predicted again with ``predict.bn_reference`` turned on keep their logits, so without it the ensemble
    and the report of the old ones were taken as current; a pipeline without references keys as before."""
    shas = [sha256_file(d / REFERENCE_FILE) if (d / REFERENCE_FILE).is_file() else None for d in dirs]
    return {"references": shas} if any(shas) else {}


def _report_stage(st: _Stages, run_dirs: list[Path], final_dir: Path) -> Path:
    """The gap report of the members and the final logits, keyed by their logits, the ledger and the report's
    code."""
    from kaggle_kit.gap.report import build_report, report_fingerprint

    cfg, ledger_path = st.cfg, st.ledger_path
    dirs = run_dirs if final_dir in run_dirs else [*run_dirs, final_dir]
    rkey = config_hash({"logits": [sha256_file(d / "logits_comp.npz") for d in dirs],
                        "ledger": sha256_file(ledger_path) if ledger_path.is_file() else None,
                        "report": cfg.report, "fp": st.data_fp, "competition": cfg.submit.competition,
                        "code": report_fingerprint(), **references_key(dirs)})
    html = st.work / "reports" / "gap.html"
    report_outputs = [html, html.with_name("gap.md")]  # shared by every pipeline of the work folder
    if st.state.done("report", rkey, report_outputs):
        st.prog.skip("report", f"inputs unchanged; {html}")
        return html
    t0 = st.prog.start("report")
    html = build_report(dirs, ledger_path, st.data, st.comp, st.work / "reports", cfg.report, cfg.submit.competition)
    st.state.mark("report", rkey, finished=True, outputs=report_outputs, html=html)
    st.prog.finish("report", t0, str(html))
    return html
