"""The pure pieces of pushing a pipeline as Kaggle kernels and pulling their runs (kernels.py); the requests
themselves are exercised end to end in tests/e2e."""
from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from kaggle_kit import kernels as kn
from kaggle_kit.config import load_pipeline
from kaggle_kit.errors import KaggleError, UsageError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["abcd", "alice/abcd", "a/b/kernel-one", "alice/", "kernel one", "ali.ce/kernel"])
def test_a_bad_kernel_name_is_refused_before_any_request(name):
    """A shorter slug (under five characters) or a third part accepted would reach Kaggle as an opaque 400."""
    with pytest.raises(UsageError, match="kernel name"):
        kn.check_kernel_name(name)


def test_kernel_names_split_into_owner_and_slug():
    """An off-by-one in the slug's length rule would refuse Kaggle's shortest slugs."""
    assert kn.check_kernel_name("alice/abcde") == ("alice", "abcde")
    assert kn.check_kernel_name("kaggle-kit-x") == (None, "kaggle-kit-x")


@pytest.mark.parametrize("value", [0, -1.0, float("inf"), float("nan"), "30"])
def test_a_poll_wait_is_a_finite_number_above_zero(value):
    """Accepting 0 s would poll Kaggle's API in a tight loop."""
    with pytest.raises(UsageError, match="--poll-s must be a finite number of seconds above 0"):
        kn.check_poll_seconds(value)


@pytest.mark.parametrize("args,pattern", [
    (("fast",), r"kaggle-kit-fast"),
    (("fast", 3), r"kaggle-kit-fast-s3"),
    (("fast-s1",), r"kaggle-kit-fast-s1-[0-9a-f]{6}"),         # would be `fast` pushed with --seeds 1
    (("Fast",), r"kaggle-kit-fast-[0-9a-f]{6}"),              # would be `fast`
    (("a" * 45,), r"kaggle-kit-a{32}-[0-9a-f]{6}"),           # cut short to 50 characters
    (("a" * 45, 7), r"kaggle-kit-a{29}-[0-9a-f]{6}-s7")])
def test_kernel_slugs_keep_different_pipelines_apart_within_50_characters(args, pattern):
    """Without the hash, a cut-short name or one ending like a seed's tail would push over another kernel."""
    slug = kn.kernel_slug(*args)
    assert re.fullmatch(pattern, slug) and len(slug) <= 50, slug


def test_kernel_metadata_is_a_private_offline_script_on_the_chosen_gpu():
    """Internet on or a public kernel would break competition rules; a missing shape runs on the wrong GPU."""
    assert kn.kernel_metadata("alice/kaggle-kit-x", "comp", "t4x2") == {
        "id": "alice/kaggle-kit-x", "title": "kaggle-kit-x", "code_file": "kaggle_kit_kernel.py",
        "language": "python", "kernel_type": "script", "is_private": True, "enable_gpu": True, "enable_tpu": False,
        "enable_internet": False, "dataset_sources": [], "competition_sources": ["comp"], "kernel_sources": [],
        "model_sources": [], "machine_shape": "NvidiaTeslaT4Highmem"}
    cpu = kn.kernel_metadata("alice/kaggle-kit-x", "comp", "none")
    assert cpu["enable_gpu"] is False and "machine_shape" not in cpu
    with pytest.raises(UsageError, match="--gpu must be one of t4x2, t4, none, found 'p100'"):
        kn.kernel_metadata("alice/kaggle-kit-x", "comp", "p100")


@pytest.mark.parametrize("text,seeds", [(None, [None]), ("", [None]), ("0,2", [0, 2]), ("0-3", [0, 1, 2, 3]),
                                        ("5, 1-2", [5, 1, 2]), ("0-99", list(range(100)))])
def test_seeds_are_a_list_or_an_inclusive_range(text, seeds):
    """A range that drops its upper end would push one kernel fewer than asked."""
    assert kn.parse_seeds(text) == seeds


@pytest.mark.parametrize("text,message", [("3-1", "range '3-1' is empty"), ("0-100", "range '0-100' makes 101 kernels"),
                                          ("1,1", "lists a seed twice"), ("1,x", "must look like 0,1,2 or 0-4")])
def test_bad_seeds_are_refused_with_their_reason(text, message):
    """An empty range, 101 kernels or a seed twice accepted would push nothing, too much, or one kernel twice."""
    with pytest.raises(UsageError, match=re.escape(message)):
        kn.parse_seeds(text)


@pytest.mark.parametrize("names", [["runs/./x.npz"], ["runs//x.npz"], ["runs/"], ["../x"],
                                   ["runs/a", "runs/a/b.npz"], ["runs", "runs/a/b.npz"]])
def test_an_output_name_that_would_land_outside_or_clash_is_refused(tmp_path, names):
    """An empty or '.' part, or a name that is also another's folder, would be downloaded anyway."""
    with pytest.raises(KaggleError, match="^kernel alice/kaggle-kit-x lists .*; nothing was downloaded"):
        kn.check_output_names("alice/kaggle-kit-x", names, tmp_path)
    kn.check_output_names("alice/kaggle-kit-x", ["runs/a/b.npz", "runs/a/c.json", "kaggle-kit-x.log"], tmp_path)


def test_pull_refuses_an_unfinished_kernel_before_writing_anything(tmp_path, monkeypatch):
    """Not waiting for a terminal status would download a running kernel's half-written outputs."""
    from kaggle_kit import kaggle_api

    monkeypatch.setattr(kaggle_api, "kernel_status", lambda ref: SimpleNamespace(status="RUNNING"))
    monkeypatch.setattr(kn, "download_kernel_outputs", lambda *a: pytest.fail("downloaded"))
    with pytest.raises(KaggleError, match="^kernel alice/kaggle-kit-x is RUNNING; wait until it is COMPLETE"):
        kn.pull_kernels(["alice/kaggle-kit-x"], tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_members_setting_their_own_seed_are_named():
    """A flipped comparison would let --seeds push kernels that all train the members' own seeds."""
    assert kn.members_fixing_seed(load_pipeline(ROOT / "pipelines" / "default.yaml")) == ["s0", "s1", "s2"]
    with pytest.raises(UsageError, match=r"train.seed is set by its members s0, s1, s2, so --seeds"):
        kn.kernel_folder_path(ROOT / "pipelines" / "default.yaml", "kernels", seed=1)


def test_the_kernel_script_knows_how_many_members_it_trains(tmp_path):
    """A script told one member would log 'one after another' for a pipeline that trains three side by side."""
    folder = kn.build_kernel_folder(ROOT / "pipelines" / "default.yaml", tmp_path, owner="alice")
    script = (folder.path / kn.SCRIPT_NAME).read_text(encoding="utf-8")
    assert "\nMEMBERS = 3\n" in script and folder.kernel_id == f"alice/{folder.path.name}"


def test_the_kernel_log_says_one_per_gpu_when_there_are_enough(monkeypatch):
    """A strict comparison would call two members on two GPUs 'sharing GPUs'."""
    import torch
    from test_member_jobs import _kernel_environment_line

    from kaggle_kit.member_jobs import PARALLEL_ENV

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: "T4")
    monkeypatch.setenv(PARALLEL_ENV, "2")
    assert _kernel_environment_line()(3).endswith(", 2 CUDA GPUs: T4, T4; training 3 members 2 at a time, one per GPU")


def test_the_kernel_attaches_the_competition_its_config_names():
    """A flipped comparison would attach one competition while the bundled toolkit looks for another's data."""
    pipeline = ROOT / "pipelines" / "default.yaml"
    own = load_pipeline(pipeline).submit.competition
    seed = ["train.seed=4"]
    assert kn.with_competition(pipeline, seed, None) == seed == kn.with_competition(pipeline, seed, own)
    assert kn.with_competition(pipeline, seed, "other-comp") == [*seed, "submit.competition=other-comp"]


def test_a_checkpoint_that_is_an_error_page_fails_the_pull(tmp_path):
    """Not checking .pt files would move a downloaded error body into runs/ as a model."""
    import zipfile

    with zipfile.ZipFile(tmp_path / "ok.pt", "w") as z:
        z.writestr("data.pkl", b"x")
    kn._check_outputs(tmp_path, "alice/kaggle-kit-x")
    (tmp_path / "model.pt").write_text("404 Not Found")
    with pytest.raises(KaggleError, match=r"^output file model.pt of kernel alice/kaggle-kit-x did not download "
                                          r"correctly \(ValueError\)"):
        kn._check_outputs(tmp_path, "alice/kaggle-kit-x")


def test_pull_handles_a_failed_kernel_before_downloading_the_others(tmp_path, monkeypatch):
    """Downloading the finished kernels first would fetch gigabytes for a pull that fails anyway."""
    from kaggle_kit import kaggle_api

    status = {"alice/kaggle-kit-good": SimpleNamespace(status="COMPLETE", failure_message=None),
              "alice/kaggle-kit-bad": SimpleNamespace(status="ERROR", failure_message="out of memory")}
    downloaded = []
    monkeypatch.setattr(kaggle_api, "kernel_status", status.get)
    monkeypatch.setattr(kn, "download_kernel_outputs", lambda ref, dest: downloaded.append(ref))
    with pytest.raises(KaggleError, match="^kernel alice/kaggle-kit-bad ended ERROR: out of memory; its log is in"):
        kn.pull_kernels(list(status), tmp_path / "runs")
    assert downloaded == ["alice/kaggle-kit-bad"] and (tmp_path / "runs" / "kernel-kaggle-kit-bad.log").is_file()


def test_kernel_status_waits_for_every_kernel_names_own_ones_and_exits_1_on_a_failure(monkeypatch, capsys):
    """Stopping when any kernel ended, exiting 0 on an ERROR, keeping a bare slug or a message's newline would fail."""
    from kaggle_kit import kaggle_api
    from kaggle_kit.cli import main
    from kaggle_kit.commands import kernel as cmd

    now = {"alice/kaggle-kit-a": "COMPLETE", "bob/kaggle-kit-b": "RUNNING"}  # the first poll; the second: ERROR
    monkeypatch.setattr(kaggle_api, "current_username", lambda: "bob")
    monkeypatch.setattr(cmd.time, "sleep", lambda s: now.update({"bob/kaggle-kit-b": "ERROR"}))
    monkeypatch.setattr(kaggle_api, "kernel_status", lambda ref: SimpleNamespace(
        ref=ref, status=now[ref], failure_message="out of\nmemory" if now[ref] == "ERROR" else None))
    assert main(["kernel", "status", "alice/kaggle-kit-a", "kaggle-kit-b", "--wait", "--poll-s", "1"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "alice/kaggle-kit-a: COMPLETE", "bob/kaggle-kit-b: RUNNING",
        "alice/kaggle-kit-a: COMPLETE", "bob/kaggle-kit-b: ERROR (out of\\nmemory)"]


@pytest.mark.parametrize("argv, line", [
    (["push", "P", "--build-only"], "error: --build-only without credentials needs --owner USER for the kernel ids"),
    (["push", "P"], "error: no Kaggle credentials"),
    (["push", "P", "--build-only", "--owner", "bo b"], "error: --owner 'bo b' is not a Kaggle username"),
    (["pull", "kaggle-kit-a", "--runs-dir", "FILE"], "error: FILE: is a file, not a folder"),
])
def test_kernel_push_and_pull_refuse_a_missing_owner_or_credentials_or_a_bad_target_before_any_request(
        argv, line, tmp_path, monkeypatch, capsys):
    """A dropped credentials, --owner or --runs-dir check would ask Kaggle (or build kernels) before refusing."""
    from kaggle_kit import kaggle_api
    from kaggle_kit.cli import main
    from kaggle_kit.errors import CredentialsError

    def refused(*a, **k):
        raise CredentialsError("no Kaggle credentials found")

    (tmp_path / "FILE").write_text("x")
    for name in ("current_username", "push_kernel", "kernel_status"):
        monkeypatch.setattr(kaggle_api, name, lambda *a, **k: pytest.fail("asked Kaggle"))
    monkeypatch.setattr(kaggle_api, "has_credentials", lambda: False)
    monkeypatch.setattr(kaggle_api, "require_credentials", refused)
    monkeypatch.chdir(tmp_path)
    argv = [str(ROOT / "pipelines" / "default.yaml") if a == "P" else a for a in argv]
    assert main(["kernel", *argv, "--out", "kernels"] if argv[0] == "push" else ["kernel", *argv]) == 2
    assert capsys.readouterr().err.startswith(line) and not (tmp_path / "kernels").exists()


def test_kernel_push_build_only_with_an_owner_needs_no_credentials(tmp_path, monkeypatch, capsys):
    """Asking for --owner (or credentials) when it was given would refuse an offline build."""
    from kaggle_kit import kaggle_api
    from kaggle_kit.cli import main

    monkeypatch.setattr(kaggle_api, "has_credentials", lambda: False)
    monkeypatch.chdir(tmp_path)
    assert main(["kernel", "push", str(ROOT / "pipelines" / "default.yaml"), "--build-only", "--owner", "bob"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("built kernels/") and "(bob/kaggle-kit-" in out and "follow with" not in out


def test_the_kernel_script_carries_the_bundle_and_its_values_whole():
    """An off-by-one in the 100-character lines, or a value left out of the template, would ship a broken kernel."""
    import base64
    import hashlib

    bundle = bytes(range(250))  # 336 base64 characters: three full lines and a short one
    script = kn.render_script("alice/k", "fast", "name: fast\n", ["a=1", "b=2"], bundle, members=2)
    lines = re.findall(r'^    "([A-Za-z0-9+/=]*)"$', script, re.M)
    assert [len(x) for x in lines] == [100, 100, 100, 36]
    namespace: dict = {"__name__": "kernel"}
    exec(script, namespace)  # noqa: S102 - our own script; main() runs only as __main__
    assert base64.b64decode(namespace["SOURCE_TGZ_B64"]) == bundle
    assert (namespace["PIPELINE_NAME"], namespace["PIPELINE_YAML"], namespace["OVERRIDES"], namespace["MEMBERS"]) == (
        "fast", "name: fast\n", ["a=1", "b=2"], 2)
    assert f"sha256 {hashlib.sha256(bundle).hexdigest()[:16]}" in script
    assert '"stages=[data,train,predict]"' in script


def test_the_source_bundle_holds_the_py_and_yaml_files_reproducibly(tmp_path):
    """Dropping the YAMLs, the sub-folders' paths, the sort, the __pycache__ filter or mtime 0 would ship a wrong
    (or a differently hashed) bundle."""
    import io
    import os
    import tarfile

    for name in ("e.py", "c.py", "a.py", "d.py", "b.py", "sub/b.py", "pipelines/x.yaml", "notes.txt",
                 "__pycache__/c.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f"# {name}\n", encoding="utf-8")
    first = kn.source_bundle(tmp_path)
    os.utime(tmp_path / "a.py", (1_700_000_000, 1_700_000_000))
    assert kn.source_bundle(tmp_path) == first
    with tarfile.open(fileobj=io.BytesIO(first), mode="r:gz") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == [f"kaggle_kit/{n}" for n in ("a.py", "b.py", "c.py", "d.py", "e.py",
                                                                          "pipelines/x.yaml", "sub/b.py")]
        assert {m.mtime for m in members} == {0}
        assert tar.extractfile("kaggle_kit/sub/b.py").read() == b"# sub/b.py\n"


def test_a_rebuilt_kernel_folder_is_rewritten_with_the_seed_it_trains(tmp_path):
    """A script without the train.seed override, or a rebuild refused, would push the wrong or no kernel."""
    pipeline = ROOT / "pipelines" / "fast.yaml"
    folder = kn.build_kernel_folder(pipeline, tmp_path, owner="alice", seed=3)
    (folder.path / kn.SCRIPT_NAME).write_text("stale", encoding="utf-8")
    again = kn.build_kernel_folder(pipeline, tmp_path, owner="alice", seed=3)
    assert again.path == folder.path
    script = (again.path / kn.SCRIPT_NAME).read_text(encoding="utf-8")
    assert "\nOVERRIDES = ['train.seed=3']\n" in script
    assert json.loads((again.path / kn.METADATA_NAME).read_text(encoding="utf-8"))["id"] == again.kernel_id
