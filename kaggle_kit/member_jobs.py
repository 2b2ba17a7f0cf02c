"""Training a pipeline's ensemble members side by side, one process per GPU.

Why processes and not ``torchrun``: torchrun spreads *one* run over the GPUs and doubles its batch, which the
seed recipes must not; independent members need nothing shared, so each trains alone, exactly as it would one
after another (same config, seed, data, threads and run folder), in a child process that sees one GPU through
``CUDA_VISIBLE_DEVICES``. Kaggle's usual machine (T4x2) otherwise leaves its second T4 idle.

The parent keeps the pipeline state: children only train into their run folders and hand back a small result
file, so the state file has one writer, as it has in the sequential path.
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from kaggle_kit.errors import KitError, RunError, UsageError

PARALLEL_ENV = "KAGGLE_KIT_PARALLEL_MEMBERS"  # the default of `run --parallel-members`: a number or "auto"
TORCHRUN_VARS = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK", "ROLE_RANK",
                 "ROLE_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_RUN_ID")


# ------------------------------------------------------------------------------------------ pure pieces
def parse_parallel(text: str | int | None, where: str = "--parallel-members") -> int | None:
    """``auto`` (or nothing) -> None, a whole number >= 1 -> itself; anything else is a usage error."""
    if text is None or (isinstance(text, str) and text.strip().lower() in ("", "auto")):
        return None
    try:
        value = int(text)
    except (TypeError, ValueError):
        value = 0
    if value < 1:
        raise UsageError(f"{where} must be auto or a whole number >= 1 (1: members train one after another), "
                         f"found {text!r}")
    return value


def members_at_once(requested: int | None, gpus: int, world_size: int, members: int) -> int:
    """How many members train at a time. Auto (None): one per visible CUDA GPU, so a CPU machine or one GPU trains
    them one after another. Under torchrun every process already shares one run's batch: members stay sequential,
    and asking for more is refused rather than silently ignored."""
    if world_size > 1:
        if requested is not None and requested > 1:
            raise UsageError(f"--parallel-members {requested} (or {PARALLEL_ENV}) cannot be combined with torchrun "
                             f"(WORLD_SIZE={world_size}): torchrun already spreads each member over the processes; "
                             f"drop one of the two")
        return 1
    wanted = max(gpus, 1) if requested is None else requested
    return max(1, min(wanted, members))


def device_for_slot(slot: int, devices: Sequence[str]) -> str | None:
    """The ``CUDA_VISIBLE_DEVICES`` entry a child in ``slot`` gets (None: no GPU, leave the variable alone).
    Entries are the parent's own, so ``CUDA_VISIBLE_DEVICES=2,3`` gives children 2 and 3, not 0 and 1."""
    return devices[slot % len(devices)] if devices else None


def visible_cuda_devices() -> list[str]:
    """The CUDA devices this process sees, as ``CUDA_VISIBLE_DEVICES`` entries. Counting them does not start CUDA
    here, so the children are free to pick theirs."""
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is None:
        return [str(i) for i in range(count)]
    return [d.strip() for d in listed.split(",") if d.strip()][:count]


def requested_parallel(option: str | int | None) -> int | None:
    """The option when given, else ``$KAGGLE_KIT_PARALLEL_MEMBERS``, else auto."""
    if option is not None:
        return parse_parallel(option)
    return parse_parallel(os.environ.get(PARALLEL_ENV), PARALLEL_ENV)


def planned_at_once(option: str | int | None, gpus: int, members: int) -> int:
    """How many of ``members`` this process trains at once with ``gpus`` visible: the one choice that `run`
    makes and a kernel's log line reports (a bad option, variable or torchrun setting is the same usage error)."""
    from kaggle_kit.train.distributed import env_int

    world = env_int("WORLD_SIZE", 1)
    env_int("LOCAL_RANK", 0)  # torchrun's variables, set wrong by hand: refused too
    return members_at_once(requested_parallel(option), gpus, world, members)


# ------------------------------------------------------------------------------------------ the parent
@dataclass(frozen=True)
class MemberJob:
    name: str
    config: object          # the member's PipelineConfig
    run_dir: Path           # as the sequential path would pass it (relative paths stay relative: manifests name it)
    resume: bool
    train_key: str = ""     # the pipeline state's key of this training


def _child_env(device: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_VARS}
    env["PYTHONUNBUFFERED"] = "1"  # each epoch line as written, so the log shows members interleaved in time
    if device is not None:
        env["CUDA_VISIBLE_DEVICES"] = device
    return env


def _child_command(spec: Path) -> list[str]:
    """This very toolkit in the child, also where it is not installed (a Kaggle kernel unpacks it to a temporary
    folder and runs under ``python -I``, which ignores PYTHONPATH)."""
    import kaggle_kit

    src = str(Path(kaggle_kit.__file__).resolve().parent.parent)
    boot = ("import sys; sys.path.insert(0, sys.argv[1]); from kaggle_kit.member_jobs import child_main; "
            "sys.exit(child_main(sys.argv[2]))")
    return [sys.executable, "-c", boot, src, str(spec)]


STOPPED_BY = {130: "Ctrl-C (SIGINT)", 143: "a kill (SIGTERM)"}  # child_main's exits once its cleanups ran


def _failure(name: str, returncode: int, result: dict | None) -> KitError:
    """The child's own error, named after its member: a usage error stays one (exit 2), anything else is a
    runtime failure (exit 1)."""
    if not result and returncode in STOPPED_BY:
        return RunError(f"member '{name}': its training process was stopped by {STOPPED_BY[returncode]} (exit code "
                        f"{returncode}) before it finished; a rerun resumes it from its last finished epoch")
    if not result:
        return RunError(f"member '{name}': its training process ended with exit code {returncode} and no result "
                        f"(killed? out of memory?); its log lines above start with [{name}]; a rerun resumes it "
                        f"from its last finished epoch")
    from kaggle_kit import errors

    cls = getattr(errors, str(result.get("error")), None)
    if isinstance(cls, type) and issubclass(cls, KitError):
        return cls(f"member '{name}': {result.get('message')}")
    return RunError(f"member '{name}': training failed with {result.get('message')} (traceback above, in the lines "
                    f"starting with [{name}])")


def train_members(jobs: Sequence[MemberJob], data_dir: Path, *, at_once: int, devices: Sequence[str],
                  progress: bool, cifar_fp: str | None = None, on_start: Callable[[MemberJob, str | None], None],
                  on_done: Callable[[MemberJob, object], None], echo: Callable[[str], None] = print,
                  out=None) -> None:
    """Train ``jobs`` ``at_once`` at a time, each in its own process (on its own GPU when ``devices`` lists any).

    ``on_start(job, device)`` and ``on_done(job, TrainResult)`` run in this thread, so the caller's state file has
    one writer. When a member fails, no further member starts, the running ones finish (hours of GPU time are
    not thrown away; their runs are recorded) and the first failure is raised. Each child's output is copied to
    ``out`` (stderr) line by line, prefixed ``[member]``. Each child loads CIFAR-10 from the data folder
    ``data_dir`` as every reader does (``datapaths.reading_data``), not while a download moves files in, and
    refuses batches other than those the parent fingerprinted (``cifar_fp``), which key the member's training."""
    import torch

    from kaggle_kit.config import to_dict
    from kaggle_kit.train.loop import TrainResult

    out = out or sys.stderr
    write_lock = threading.Lock()
    done: "queue.Queue[tuple[int, int]]" = queue.Queue()
    pending = list(enumerate(jobs))
    running: dict[int, tuple[MemberJob, subprocess.Popen, Path, int]] = {}
    free_slots = list(range(at_once))
    errors: list[KitError] = []

    def pump(index: int, proc: subprocess.Popen, name: str) -> None:
        for line in proc.stdout:
            with write_lock:
                out.write(f"[{name}] {line.rstrip()}\n")
                out.flush()
        done.put((index, proc.wait()))

    with tempfile.TemporaryDirectory(prefix="kaggle-kit-members-") as tmp:
        def start(index: int, job: MemberJob) -> None:
            slot = free_slots.pop(0)
            device = device_for_slot(slot, devices)
            spec = Path(tmp) / f"{index}.json"
            spec.write_text(json.dumps({
                "config": to_dict(job.config), "data_dir": str(Path(data_dir).absolute()), "run_dir": str(job.run_dir),
                "resume": job.resume, "progress": progress, "cifar_fp": cifar_fp, "threads": torch.get_num_threads(),
                "result": str(Path(tmp) / f"{index}.result.json"), "parent": os.getpid()}))
            on_start(job, device)
            proc = subprocess.Popen(_child_command(spec), env=_child_env(device), stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                                    encoding="utf-8", errors="replace")
            running[index] = (job, proc, Path(tmp) / f"{index}.result.json", slot)
            threading.Thread(target=pump, args=(index, proc, job.name), daemon=True).start()

        try:
            while pending and free_slots:
                start(*pending.pop(0))
            while running:
                index, code = done.get()
                job, _, result_path, slot = running.pop(index)
                free_slots.append(slot)
                try:
                    result = json.loads(result_path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    result = None
                if code == 0 and result and result.get("ok"):
                    on_done(job, TrainResult(job.run_dir, result["holdout_acc"], result["test_acc"],
                                             result["epochs_done"], result["seconds"], result["stopped_epoch"]))
                else:
                    errors.append(_failure(job.name, code, result))
                    if running:
                        others = ", ".join(j.name for j, *_ in running.values())
                        echo(f"member '{job.name}' failed; waiting for {others} to finish before stopping (their "
                             f"runs are kept)")
                if not errors:
                    while pending and free_slots:
                        start(*pending.pop(0))
        finally:  # Ctrl-C or an error in a callback: no child trains on unrecorded, with no parent to record it
            for _, proc, _, _ in running.values():
                proc.terminate()
            for _, proc, _, _ in running.values():
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    if errors:
        raise errors[0]


# ------------------------------------------------------------------------------------------ the child
def _exit_with_parent(parent: int, folder: Path) -> None:
    """A child whose parent died (killed, out of memory) stops: a rerun resumes its folder, and two processes
    must not train into one folder. It also removes the parent's temporary ``folder`` (the children's specs and
    results), which a killed parent leaves behind; only the parent's children use it, and they are stopping."""
    def watch() -> None:
        while True:
            if os.getppid() != parent:
                shutil.rmtree(folder, ignore_errors=True)
                os._exit(1)
            time.sleep(1.0)

    threading.Thread(target=watch, daemon=True).start()


def child_main(spec_path: str) -> int:
    """Train one member as the pipeline's sequential path would (``train_run`` with the same arguments), and write
    its result (or its error) where the parent reads it. Ctrl-C or a ``kill`` (the parent's own, when it stops)
    unwinds as in the CLI: the cleanups run (no temporary file is left beside a checkpoint) and the exit is 130
    (SIGINT) or 143 (SIGTERM), with no result."""
    from kaggle_kit.interrupts import Terminated, stopped_once

    try:
        with stopped_once():
            return _train_member(spec_path)
    except KeyboardInterrupt as err:
        return 143 if isinstance(err, Terminated) else 130


def _train_member(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    _exit_with_parent(int(spec["parent"]), Path(spec_path).parent)
    outcome: dict
    try:
        import torch

        from kaggle_kit.config import PipelineConfig, from_dict
        from kaggle_kit.data import load_cifar10
        from kaggle_kit.datapaths import reading_data
        from kaggle_kit.pipeline import cifar_fingerprint
        from kaggle_kit.train import train_run

        torch.set_num_threads(int(spec["threads"]))  # the parent's: CPU results may depend on the thread count
        cfg = from_dict(PipelineConfig, spec["config"])
        with reading_data(spec["data_dir"]) as paths:
            # a child starts when a slot frees, maybe hours after the parent read the data: a download since would
            # have it train on other batches than its training key (and the parent's report) says
            if spec.get("cifar_fp") and cifar_fingerprint(paths) != spec["cifar_fp"]:
                raise RunError(f"{paths.cifar_dir}: the CIFAR-10 batches changed after this pipeline read them (a "
                               f"download since?); rerun it to train every member on the new ones")
            data = load_cifar10(paths.cifar_dir)
        r = train_run(cfg, data, Path(spec["run_dir"]), resume=bool(spec["resume"]), progress=bool(spec["progress"]))
        outcome = {"ok": True, "holdout_acc": r.holdout_acc, "test_acc": r.test_acc, "epochs_done": r.epochs_done,
                   "seconds": r.seconds, "stopped_epoch": r.stopped_epoch}
    except KitError as err:
        outcome = {"ok": False, "error": type(err).__name__, "message": str(err)}
    except Exception as err:  # noqa: BLE001 - reported to the parent, which names the member
        import traceback

        traceback.print_exc()
        outcome = {"ok": False, "error": type(err).__name__, "message": f"{type(err).__name__}: {err}"}
    from kaggle_kit.fsio import atomic_write_text

    atomic_write_text(spec["result"], json.dumps(outcome))
    return 0 if outcome["ok"] else 1
