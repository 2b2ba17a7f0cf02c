"""Kaggle kernels end to end against the fake server, through the real client: build, push, status, pull,
then ensemble the pulled runs like local ones."""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from kaggle_kit import kaggle_api, kernels
from kaggle_kit.cli import main
from kaggle_kit.config import COMPETITION_SLUG
from kaggle_kit.errors import UsageError
from kaggle_kit.runs import Logits, load_logits, save_logits, write_manifest
from kaggle_kit.testing.fake_kaggle import DEFAULT_USER, FakeKaggle, FakeKaggleConfig, Fault, KernelResult
from kaggle_kit.testing import use_env

SLUG = COMPETITION_SLUG
PIPELINE = "name: tiny\ntrain:\n  epochs: 1\n  seed: 0\n"


def fake_run(root: Path, run_id: str, seed: int) -> Path:
    """What a kernel's train+predict leaves in /kaggle/working: runs/<id>/ with logits and manifests."""
    rng = np.random.default_rng(seed)
    folder = root / "runs" / run_id
    folder.mkdir(parents=True)
    np.save(folder / "holdout_indices.npy", np.arange(50))
    labels = np.random.default_rng(0).integers(0, 10, 50)  # the same holdout for every seed, as on Kaggle
    for split, ids, lab in (("holdout", np.arange(50), labels), ("test", np.arange(50), labels),
                            ("comp", np.arange(1000, 1030), None)):
        logits = rng.normal(size=(len(ids), 10)).astype(np.float32)
        if lab is not None:
            logits[np.arange(len(ids)), lab] += 2.0
        save_logits(folder / f"logits_{split}.npz", Logits(ids=ids, logits=logits, labels=lab, tta="none"))
    write_manifest(folder, "predict", extra={"comp_complete": True})
    return folder


@pytest.fixture()
def outputs(tmp_path):
    out = {}
    for seed in (0, 1):
        root = tmp_path / "kernel-outputs" / f"s{seed}"
        fake_run(root, f"20250101-00000{seed}-tiny-abcdef{seed}", seed)
        out[f"{DEFAULT_USER}/kaggle-kit-tiny-s{seed}"] = root
    return out


@pytest.fixture()
def fake(tmp_path, monkeypatch, outputs):
    server = FakeKaggle(FakeKaggleConfig(kernel_outputs=outputs, kernel_running_polls=2)).start()
    use_env(monkeypatch, server.sandbox_env(tmp_path / "client"))
    monkeypatch.chdir(tmp_path)
    Path("tiny.yaml").write_text(PIPELINE)
    monkeypatch.setattr(kaggle_api, "DEFAULT_RETRY", kaggle_api.RetryPolicy(attempts=3, base_delay_s=0.01))
    yield server
    server.stop()


def test_folder_metadata_and_script(tmp_path):
    (tmp_path / "tiny.yaml").write_text(PIPELINE)
    folder = kernels.build_kernel_folder(tmp_path / "tiny.yaml", tmp_path / "k", owner="alice", seed=3,
                                         overrides=["train.epochs=2"])
    slug = folder.kernel_id.split("/")[1]
    assert folder.kernel_id.startswith("alice/kaggle-kit-tiny-s3-") and folder.path == tmp_path / "k" / slug
    meta = json.loads((folder.path / "kernel-metadata.json").read_text())
    assert meta == {"id": folder.kernel_id, "title": slug, "code_file": "kaggle_kit_kernel.py", "language": "python",
                    "kernel_type": "script", "is_private": True, "enable_gpu": True, "enable_tpu": False,
                    "enable_internet": False, "dataset_sources": [], "competition_sources": [SLUG],
                    "kernel_sources": [], "model_sources": [], "machine_shape": "NvidiaTeslaT4Highmem"}
    script = (folder.path / "kaggle_kit_kernel.py").read_text()
    compile(script, "kaggle_kit_kernel.py", "exec")
    assert "OVERRIDES = ['train.epochs=2', 'train.seed=3']" in script
    assert '"stages=[data,train,predict]"' in script and '"/kaggle/working"' in script
    assert kernels.kernel_metadata("a/b-cdef", SLUG, "none")["enable_gpu"] is False
    with pytest.raises(UsageError, match="--gpu must be one of t4x2, t4, none, found 'p100'"):
        kernels.kernel_metadata("a/b-cdef", SLUG, "p100")


@pytest.mark.parametrize("torn", [kernels.SCRIPT_NAME, kernels.METADATA_NAME])
def test_a_push_stopped_mid_write_leaves_the_previous_kernel_files_whole(tmp_path, monkeypatch, torn):
    """Was: both files written in place, so a Ctrl-C during a re-push left a truncated script or metadata that the
    next push (or a `kaggle kernels push` by hand) uploaded as it was."""
    (tmp_path / "tiny.yaml").write_text(PIPELINE)
    folder = kernels.build_kernel_folder(tmp_path / "tiny.yaml", tmp_path / "k", owner="alice").path
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    real_open = Path.open

    class Torn:  # half the data reaches the file, then the interrupt lands
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            self.fh.write(data[:len(data) // 2])
            self.fh.flush()
            raise KeyboardInterrupt

    def torn_open(self, mode="r", *args, **kwargs):
        fh = real_open(self, mode, *args, **kwargs)
        return Torn(fh) if "w" in mode and torn in self.name else fh

    (tmp_path / "tiny.yaml").write_text(PIPELINE.replace("epochs: 1", "epochs: 2"))  # a new script
    monkeypatch.setattr(Path, "open", torn_open)
    with pytest.raises(KeyboardInterrupt):
        kernels.build_kernel_folder(tmp_path / "tiny.yaml", tmp_path / "k", owner="alice", gpu="none")  # new metadata
    monkeypatch.undo()
    after = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert after.keys() == before.keys()  # no temporary file left either
    assert after[torn] == before[torn]
    assert json.loads(after[kernels.METADATA_NAME]) and compile(after[kernels.SCRIPT_NAME], "s", "exec")


def test_source_bundle_is_reproducible_and_complete():
    import io
    import tarfile

    bundle = kernels.source_bundle()
    assert bundle == kernels.source_bundle()
    names = tarfile.open(fileobj=io.BytesIO(bundle), mode="r:gz").getnames()
    assert {"kaggle_kit/cli.py", "kaggle_kit/pipeline.py", "kaggle_kit/commands/run.py"} <= set(names)
    assert not [n for n in names if "__pycache__" in n]


def test_slugs_and_seeds():
    from kaggle_kit.config import config_hash

    # Kaggle slugs are lower-case: `Seed000` and `seed000` (or `seed_000` and `seed-000`) were one kernel, the
    # second push replacing the first; a name the slug changes gets a hash of it, one it keeps is as it was
    assert kernels.kernel_slug("Seed000") == f"kaggle-kit-seed000-{config_hash('Seed000', 6)}"
    assert kernels.kernel_slug("seed000") == "kaggle-kit-seed000"
    for pair in (("Fast", "fast"), ("FAST", "Fast"), ("seed_000", "seed-000"), ("a.b", "a_b")):
        assert len({kernels.kernel_slug(n) for n in pair}) == 2, pair
        assert len({kernels.kernel_slug(n, seed=1) for n in pair}) == 2, pair

    assert kernels.kernel_slug("x" * 80, seed=12) == "kaggle-kit-" + "x" * 28 + f"-{config_hash('x' * 80, 6)}-s12"
    # names cut short to fit were one kernel when alike in their first 39 characters: the second push replaced the
    # first pipeline's kernel
    long = "seed000-long-schedule-with-cutmix-and-mixup-variant-"
    slugs = {kernels.kernel_slug(long + "one"), kernels.kernel_slug(long + "two")}
    assert len(slugs) == 2 and all(len(s) <= 50 for s in slugs)
    assert kernels.kernel_slug("x" * 39) == "kaggle-kit-" + "x" * 39  # one that fits is unchanged
    # a name ending like a tail: pipeline 'fast-s1' was 'fast' pushed with --seeds 1, 'fast-<hash>' with settings
    overrides = ["train.epochs=3"]
    assert kernels.kernel_slug("fast-s1") != kernels.kernel_slug("fast", seed=1) == "kaggle-kit-fast-s1"
    tail = config_hash(overrides, 6)
    assert kernels.kernel_slug(f"fast-{tail}") != kernels.kernel_slug("fast", overrides=overrides)
    assert kernels.kernel_slug("fast-s1", seed=1) != kernels.kernel_slug("fast-s1-s1")
    assert kernels.kernel_slug("seed000-long") == "kaggle-kit-seed000-long"  # other names keep their kernel
    assert kernels.parse_seeds("0,2-4") == [0, 2, 3, 4] and kernels.parse_seeds(None) == [None]
    with pytest.raises(UsageError, match="--seeds lists a seed twice"):
        kernels.parse_seeds("1,1")


def test_seed_sweep_is_refused_when_members_set_their_own_seeds(tmp_path, monkeypatch, capsys):
    """A member's ``set`` is applied after the kernel's overrides, so ``--seeds`` on a pipeline whose members
    fix train.seed (default.yaml) would push kernels that all train the same seeds: refused before any push."""
    monkeypatch.chdir(tmp_path)
    Path("three.yaml").write_text(PIPELINE + "members:\n  - {name: a, set: {train.seed: 0}}\n"
                                  "  - {name: b, set: {train.seed: 1}}\n  - {name: c, set: {train.epochs: 2}}\n")
    assert main(["kernel", "push", "three.yaml", "--seeds", "0-2", "--build-only", "--owner", "bob"]) == 2
    assert capsys.readouterr().err == (
        "error: three.yaml: train.seed is set by its members a, b, so --seeds would push kernels that train "
        "the same seeds; push it once without --seeds (one kernel trains every member)\n")
    assert not Path("kernels").exists()
    assert main(["kernel", "push", "three.yaml", "--build-only", "--owner", "bob"]) == 0
    Path("free.yaml").write_text(PIPELINE + "members:\n  - {name: a, set: {train.epochs: 2}}\n")
    assert main(["kernel", "push", "free.yaml", "--seeds", "0,1", "--build-only", "--owner", "bob"]) == 0


def test_push_status_pull_then_ensemble(fake, capsys):
    assert main(["kernel", "push", "tiny.yaml", "--seeds", "0,1"]) == 0
    refs = [f"{DEFAULT_USER}/kaggle-kit-tiny-s{s}" for s in (0, 1)]
    assert capsys.readouterr().out.splitlines() == [
        f"pushed {refs[0]} version 1: http://localhost/code/{refs[0]}",
        f"pushed {refs[1]} version 1: http://localhost/code/{refs[1]}",
        f"follow with: kaggle-kit kernel status {refs[0]} {refs[1]} --wait; then: kaggle-kit kernel pull "
        f"{refs[0]} {refs[1]}"]
    for seed, ref in enumerate(refs):
        sent = fake.kernels[ref].request
        assert (sent["isPrivate"], sent["enableGpu"], sent["enableInternet"], sent["machineShape"]) == \
               (True, True, False, "NvidiaTeslaT4Highmem")
        assert sent["competitionDataSources"] == [SLUG] and sent["kernelType"] == "script"
        assert sent["text"] == Path(f"kernels/kaggle-kit-tiny-s{seed}/kaggle_kit_kernel.py").read_text()
        assert f"'train.seed={seed}'" in sent["text"]
        fake.wait_for_kernel(ref)

    assert main(["kernel", "status", "kaggle-kit-tiny-s0", "kaggle-kit-tiny-s1", "--wait", "--poll-s", "0.01"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"{refs[0]}: RUNNING", f"{refs[1]}: RUNNING", f"{refs[0]}: RUNNING", f"{refs[1]}: RUNNING",
                     f"{refs[0]}: COMPLETE", f"{refs[1]}: COMPLETE"]

    assert main(["kernel", "pull", *refs]) == 0
    pulled = sorted(Path("runs").iterdir())
    assert [p.name for p in pulled] == ["20250101-000000-tiny-abcdef0", "20250101-000001-tiny-abcdef1"]
    for p in pulled:
        assert load_logits(p / "logits_comp.npz").logits.shape == (30, 10)
        assert json.loads((p / "kernel.json").read_text())["kernel"].startswith(DEFAULT_USER + "/")
        assert "copied outputs" in (p / "kernel.log").read_text()

    from kaggle_kit.ensemble import ensemble_runs

    ens = ensemble_runs(pulled, "mean_probs", "from-kernels", out_root=Path("ensembles"))
    assert load_logits(ens / "logits_comp.npz").ids.tolist() == list(range(1000, 1030))

    capsys.readouterr()
    assert main(["kernel", "pull", refs[0]]) == 2
    assert capsys.readouterr().err == (f"error: runs/{pulled[0].name} already exists (pulled before?); pass --force "
                                       f"to replace it\n")
    assert main(["kernel", "pull", refs[0], "--force"]) == 0


def test_a_forced_pull_refuses_a_run_another_command_predicts_or_trains_into(fake, capsys):
    """`pull --force` moved the run aside while a `predict` (or `train --resume`) held it: that command went on
    writing by path, into the newly pulled run (logits of the old model beside the new manifest). Now the
    pull is refused in one line and the old run is left as it was."""
    from kaggle_kit.fsio import lock_folder

    ref = f"{DEFAULT_USER}/kaggle-kit-tiny-s0"
    assert main(["kernel", "push", "tiny.yaml", "--seeds", "0"]) == 0
    fake.wait_for_kernel(ref)
    assert main(["kernel", "status", ref, "--wait", "--poll-s", "0.01"]) == 0
    assert main(["kernel", "pull", ref]) == 0
    (run,) = Path("runs").iterdir()
    (run / "mine.txt").write_text("kept")
    held = lock_folder(run)  # what predict_run and train_run hold (another descriptor: it conflicts in-process)
    assert held is not None
    try:
        capsys.readouterr()
        assert main(["kernel", "pull", ref, "--force"]) == 2
        assert capsys.readouterr().err == (f"error: {run}: another kaggle-kit command is predicting or training "
                                           f"into this folder right now; wait for it to finish, then pull again\n")
        assert (run / "mine.txt").read_text() == "kept" and [p.name for p in Path("runs").iterdir()] == [run.name]
    finally:
        os.close(held)
    assert main(["kernel", "pull", ref, "--force"]) == 0
    assert not (run / "mine.txt").exists()


def test_pull_catches_a_file_the_client_saved_from_an_error_reply(fake, capsys):
    ref = f"{DEFAULT_USER}/kaggle-kit-tiny-s0"
    assert main(["kernel", "push", "tiny.yaml", "--seeds", "0"]) == 0
    fake.wait_for_kernel(ref)
    capsys.readouterr()
    assert main(["kernel", "pull", ref]) == 1  # the first status poll still answers RUNNING
    assert capsys.readouterr().err == (f"error: kernel {ref} is RUNNING; wait until it is COMPLETE (`kaggle-kit "
                                       f"kernel status {ref} --wait`), then pull again\n")
    assert main(["kernel", "status", ref, "--wait", "--poll-s", "0.01"]) == 0
    fake.faults.append(Fault(status=500, times=1, method="file"))
    capsys.readouterr()
    assert main(["kernel", "pull", ref]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: output file ") and err.endswith(
        f"of kernel {ref} did not download correctly (ValueError); rerun `kaggle-kit kernel pull {ref}`\n")
    assert not Path("runs").exists() or [p.name for p in Path("runs").iterdir()] == []
    assert main(["kernel", "pull", ref]) == 0


@contextlib.contextmanager
def pushed_kernel_that_ends(tmp_path, monkeypatch, capsys, result: KernelResult, *push_args: str):
    """A fake Kaggle whose kernel run ends with ``result``; yields (server, ref) once the pushed kernel ended."""
    with FakeKaggle(FakeKaggleConfig(kernel_runner=lambda record, workdir: result, kernel_running_polls=0)) as server:
        use_env(monkeypatch, server.sandbox_env(tmp_path / "client"))
        monkeypatch.chdir(tmp_path)
        Path("tiny.yaml").write_text(PIPELINE)
        ref = f"{DEFAULT_USER}/kaggle-kit-tiny"
        assert main(["kernel", "push", "tiny.yaml", *push_args]) == 0
        server.wait_for_kernel(ref)
        capsys.readouterr()
        yield server, ref


def test_failed_kernel_and_unknown_kernel(tmp_path, monkeypatch, capsys):
    crash = KernelResult("ERROR", "CUDA error: out of memory", log="Traceback ...\nCUDA error: out of memory\n")
    with pushed_kernel_that_ends(tmp_path, monkeypatch, capsys, crash, "--gpu", "t4") as (server, ref):
        assert server.kernels[ref].request["machineShape"] == "NvidiaTeslaT4"
        assert main(["kernel", "status", ref]) == 1
        assert capsys.readouterr().out == f"{ref}: ERROR (CUDA error: out of memory)\n"
        assert main(["kernel", "pull", ref]) == 1
        assert capsys.readouterr().err == (f"error: kernel {ref} ended ERROR: CUDA error: out of memory; its log is "
                                           f"in runs/kernel-kaggle-kit-tiny.log\n")
        assert "Traceback" in Path("runs/kernel-kaggle-kit-tiny.log").read_text()
        assert main(["kernel", "status", "nope-kernel"]) == 1
        assert capsys.readouterr().err == (f"error: kernel '{DEFAULT_USER}/nope-kernel' was not found on Kaggle "
                                           f"(404); check the name or push it first with `kaggle-kit kernel push`\n")


def test_a_kernels_failure_message_shows_on_one_line_without_escape_sequences(tmp_path, monkeypatch, capsys):
    """Kaggle's failure message of a kernel was printed as it came: escape sequences and line breaks included."""
    crash = KernelResult("ERROR", "oom\x1b[2J\nerror: fake\x07", log="Traceback ...\n")
    with pushed_kernel_that_ends(tmp_path, monkeypatch, capsys, crash) as (_, ref):
        assert main(["kernel", "status", ref]) == 1
        assert capsys.readouterr().out == f"{ref}: ERROR (oom\\x1b[2J\\nerror: fake\\x07)\n"
        assert main(["kernel", "pull", ref]) == 1
        assert capsys.readouterr().err == (f"error: kernel {ref} ended ERROR: oom\\x1b[2J\\nerror: fake\\x07; its log "
                                           f"is in runs/kernel-kaggle-kit-tiny.log\n")


def test_cancelled_kernel_fails_status_wait_and_pull(tmp_path, monkeypatch, capsys):
    """A cancelled kernel has no runs: `kernel status --wait && kernel pull` must stop at the status."""
    cancelled = KernelResult("CANCEL_ACKNOWLEDGED", log="cancelled by the user\n")
    with pushed_kernel_that_ends(tmp_path, monkeypatch, capsys, cancelled) as (_, ref):
        assert main(["kernel", "status", ref, "--wait", "--poll-s", "0.01"]) == 1
        assert capsys.readouterr().out == f"{ref}: CANCEL_ACKNOWLEDGED\n"
        assert main(["kernel", "pull", ref]) == 1
        assert capsys.readouterr().err.startswith(f"error: kernel {ref} ended CANCEL_ACKNOWLEDGED")


def test_kernel_that_completes_without_runs_keeps_its_log(tmp_path, monkeypatch, capsys):
    """A kernel can end COMPLETE having trained nothing (e.g. stages without train): its log says why, and the
    failed pull must not throw it away."""
    nothing = KernelResult("COMPLETE", log="no competition data found under /kaggle/input\n")
    with pushed_kernel_that_ends(tmp_path, monkeypatch, capsys, nothing) as (_, ref):
        assert main(["kernel", "pull", ref]) == 1
        assert capsys.readouterr().err == (f"error: kernel {ref} finished but left no run folders with logits under "
                                           f"runs/; its log is in runs/kernel-kaggle-kit-tiny.log\n")
        assert Path("runs/kernel-kaggle-kit-tiny.log").read_text() == "no competition data found under /kaggle/input\n"
        assert sorted(p.name for p in Path("runs").iterdir()) == ["kernel-kaggle-kit-tiny.log"]


def test_a_failed_kernels_log_is_written_whole_or_not_at_all(tmp_path, monkeypatch, capsys):
    """The log a failed pull keeps was written in place: a full disk (or a kill) half-way through left half a
    log where the earlier pull's whole one was. Written atomically, the earlier log stays and no temporary is left."""
    import errno

    crash = KernelResult("ERROR", "out of memory", log="Traceback ...\n" + "line\n" * 2000)
    with pushed_kernel_that_ends(tmp_path, monkeypatch, capsys, crash) as (_, ref):
        assert main(["kernel", "pull", ref]) == 1
        log = Path("runs/kernel-kaggle-kit-tiny.log")
        before = log.read_text()
        real_open = Path.open

        def full_disk(self, mode="r", *args, **kwargs):  # writes to the log (or its temporary) stop half-way
            fh = real_open(self, mode, *args, **kwargs)
            if "w" not in mode or "kernel-kaggle-kit-tiny.log" not in self.name:
                return fh

            class Half:
                def __enter__(self):
                    return self

                def __exit__(self, *exc):
                    fh.close()

                def write(self, data):
                    fh.write(data[: len(data) // 2])
                    fh.flush()
                    raise OSError(errno.ENOSPC, "No space left on device")

            return Half()

        with monkeypatch.context() as patched:
            patched.setattr(Path, "open", full_disk)
            assert main(["kernel", "pull", ref]) == 1
        assert log.read_text() == before  # before: half of the new one
        assert capsys.readouterr().err.endswith("error: runs/kernel-kaggle-kit-tiny.log: No space left on device "
                                                "(OSError)\n")  # before: no file named
        assert sorted(p.name for p in Path("runs").iterdir()) == ["kernel-kaggle-kit-tiny.log"]


def test_push_needs_credentials_but_build_only_does_not(tmp_path, monkeypatch, capsys):
    with FakeKaggle() as server:
        use_env(monkeypatch, server.sandbox_env(tmp_path / "client", credentials=False))
        monkeypatch.chdir(tmp_path)
        Path("tiny.yaml").write_text(PIPELINE)
        assert main(["kernel", "push", "tiny.yaml"]) == 2
        assert capsys.readouterr().err.startswith("error: no Kaggle credentials found; create an API token")
        assert main(["kernel", "push", "tiny.yaml", "--build-only"]) == 2
        assert capsys.readouterr().err == ("error: --build-only without credentials needs --owner USER for the "
                                           "kernel ids\n")
        assert main(["kernel", "push", "tiny.yaml", "--build-only", "--owner", "bob", "--gpu", "none"]) == 0
        assert capsys.readouterr().out == ("built kernels/kaggle-kit-tiny (bob/kaggle-kit-tiny); push it with: "
                                           "kaggle kernels push -p kernels/kaggle-kit-tiny\n")
        assert server.calls == []
        assert os.path.isfile("kernels/kaggle-kit-tiny/kaggle_kit_kernel.py")


def test_pushed_script_runs_the_bundled_toolkit_inside_a_kernel(tmp_path, monkeypatch, capsys):
    """The fake runs the pushed script as Kaggle would (KAGGLE_KERNEL_RUN_TYPE set, no proxy, outputs in its
    working folder). With no competition data attached the bundled toolkit's own data stage must fail with
    its one-line error, having looked in the kernel's input folders: proof the script unpacked and ran it."""
    from kaggle_kit.testing.fake_kaggle import ScriptRunner

    with FakeKaggle(FakeKaggleConfig(kernel_runner=ScriptRunner(data_dir=None, timeout_s=120),
                                     kernel_running_polls=0)) as server:
        use_env(monkeypatch, server.sandbox_env(tmp_path / "client"))
        monkeypatch.chdir(tmp_path)
        Path("tiny.yaml").write_text(PIPELINE)
        ref = f"{DEFAULT_USER}/kaggle-kit-tiny"
        assert main(["kernel", "push", "tiny.yaml", "--gpu", "none"]) == 0
        record = server.wait_for_kernel(ref, timeout_s=120)
        first, *_, last = record.log.strip().splitlines()
        assert first.startswith("kaggle-kit from /") and "/kaggle-kit-src-" in first  # not the repo's copy
        assert first.endswith("/tiny.yaml --set stages=[data,train,predict]")
        unpacked = Path(first.removeprefix("kaggle-kit from ").split(":")[0]).parent
        assert unpacked.name.startswith("kaggle-kit-src-") and not unpacked.exists()  # went with the "machine"
        assert last.startswith(f"error: no competition data found (CIFAR-10 batches and cifar_test_nolabel.pkl; "
                               f"looked in: data, /kaggle/input/competitions/{SLUG}, /kaggle/input/{SLUG})")
        capsys.readouterr()
        assert main(["kernel", "status", ref]) == 1
        assert capsys.readouterr().out.startswith(f"{ref}: ERROR (script exited with code 2: error: no competition")


TINY_TRAINING = """name: kernel-tiny
data: {holdout_size: 200, train_subset: 400, test_subset: 200, comp_subset: 200}
model: {name: resnet8}
train: {epochs: 1, batch_size: 100, seed: 0, amp: false, augment: {preset: standard}}
predict: {tta: none, batch_size: 200}
"""


def test_kernel_trains_on_the_fake_and_its_runs_ensemble_at_home(shared_data, tmp_path, monkeypatch, capsys):
    """The whole kernel path for real: two seeds pushed, each script trains and predicts with the bundled
    toolkit on the competition data (CPU, tiny), pull brings both runs home, and they ensemble."""
    from kaggle_kit.ensemble import ensemble_runs
    from kaggle_kit.testing.fake_kaggle import ScriptRunner

    runner = ScriptRunner(data_dir=shared_data, timeout_s=300)
    with FakeKaggle(FakeKaggleConfig(kernel_runner=runner, kernel_running_polls=0)) as server:
        use_env(monkeypatch, server.sandbox_env(tmp_path / "client"))
        monkeypatch.chdir(tmp_path)
        Path("kernel-tiny.yaml").write_text(TINY_TRAINING)
        assert main(["kernel", "push", "kernel-tiny.yaml", "--seeds", "0,1", "--gpu", "none"]) == 0
        refs = [f"{DEFAULT_USER}/kaggle-kit-kernel-tiny-s{s}" for s in (0, 1)]
        for ref in refs:
            record = server.wait_for_kernel(ref, timeout_s=300)
            assert record.status == "COMPLETE", record.log[-2000:]
        capsys.readouterr()
        assert main(["kernel", "pull", *refs]) == 0
        runs = sorted(Path("runs").iterdir())
        assert len(runs) == 2 and all("kernel-tiny" in r.name for r in runs)
        for run in runs:
            assert load_logits(run / "logits_holdout.npz").logits.shape == (200, 10)
            assert (run / "model.pt").is_file() and "kaggle-kit from" in (run / "kernel.log").read_text()
        ens = ensemble_runs(runs, "mean_probs", "kernels", out_root=Path("ensembles"))
        assert load_logits(ens / "logits_comp.npz").ids.shape == (200,)
