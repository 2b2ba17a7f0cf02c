"""Bad input to `kaggle-kit kernel push|status|pull`: one `error: ...` line, the right exit code, and nothing
written (or moved, or left behind) -- through the real client against the fake server."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from kaggle_kit.cli import main
from kaggle_kit.testing.fake_kaggle import DEFAULT_USER, Fault

from tests.e2e.test_kernels import fake, outputs  # noqa: F401  (fixtures)

REF0, REF1 = (f"{DEFAULT_USER}/kaggle-kit-tiny-s{s}" for s in (0, 1))
RUN0, RUN1 = "20250101-000000-tiny-abcdef0", "20250101-000001-tiny-abcdef1"


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def _finished(fake, capsys, seeds="0,1"):
    assert main(["kernel", "push", "tiny.yaml", "--seeds", seeds]) == 0
    for s in seeds.split(","):
        fake.wait_for_kernel(f"{DEFAULT_USER}/kaggle-kit-tiny-s{s}")
    fake.config.kernel_running_polls = 0
    capsys.readouterr()


def _one_error(capsys, start: str) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"error: {start}") and captured.err.count("\n") == 1, captured.err
    assert "Traceback" not in captured.err
    return captured.err


@pytest.mark.parametrize("evil", ["../../../slipped.txt", "ABS", "runs/../../x.txt", "runs//x.txt", ""])
def test_pull_refuses_output_names_outside_the_destination(fake, capsys, tmp_path, evil):
    _finished(fake, capsys, "0")
    if evil == "ABS":
        evil = str(tmp_path / "abs" / "abs_escape.txt")
    listing = fake.state.ListKernelSessionOutput

    def with_evil(user, body, host):
        out = listing(user, body, host)
        if out["files"]:
            out["files"] = [*out["files"], {"fileName": evil, "url": out["files"][0]["url"]}]
        return out

    fake.state.ListKernelSessionOutput = with_evil
    before = _tree(tmp_path)
    assert main(["kernel", "pull", REF0, "--runs-dir", "dest/runs"]) == 1
    err = _one_error(capsys, f"kernel {REF0} lists an output file named {evil!r}")
    assert "nothing was downloaded" in err
    after = _tree(tmp_path)
    assert not [p for p in after - before if not p.startswith("client")], after - before
    assert not Path("dest").exists() and not (tmp_path / "abs").exists() and not (tmp_path / "slipped.txt").exists()
    assert not (tmp_path.parent / "slipped.txt").exists() and not (tmp_path.parent.parent / "slipped.txt").exists()


@pytest.mark.parametrize("poll", ["-1", "nan", "inf", "0"])
def test_status_poll_seconds_must_be_finite_and_positive(fake, capsys, poll):
    calls = len(fake.calls)
    assert main(["kernel", "status", REF0, "--wait", "--poll-s", poll]) == 2
    _one_error(capsys, "--poll-s must be a finite number of seconds above 0")
    assert len(fake.calls) == calls


@pytest.mark.parametrize("name", ["a/b/c", "/", "owner/", "/slug", "a b", "..", "x/.."])
def test_kernel_names_are_checked_before_any_request(fake, capsys, name):
    for action in ("status", "pull"):
        assert main(["kernel", action, name]) == 2
        _one_error(capsys, f"kernel name '{name}' is not owner/slug or slug")
    assert fake.calls == []


def test_kernel_slugs_have_five_characters(fake, capsys):
    assert main(["kernel", "status", "alice/abcd"]) == 2
    _one_error(capsys, "kernel name 'alice/abcd': a kernel slug has at least five characters")
    assert fake.calls == []


def test_pull_moves_nothing_when_one_destination_is_taken(fake, capsys):
    _finished(fake, capsys)
    Path("runs", RUN1).mkdir(parents=True)
    assert main(["kernel", "pull", REF0, REF1]) == 2
    assert _one_error(capsys, "") == f"error: runs/{RUN1} already exists (pulled before?); pass --force to replace it\n"
    assert sorted(p.name for p in Path("runs").iterdir()) == [RUN1]  # RUN0 was not moved in, no staging left
    assert list(Path("runs", RUN1).iterdir()) == []


def test_a_run_folder_another_pull_moved_in_meanwhile_is_not_nested_into(fake, capsys, monkeypatch):
    """Two pulls of one kernel at once (two terminals): both found runs/RUN free, the first moved its folder there,
    and the second then deleted it and moved its own in, silently (exit 0); had it not, shutil.move would have
    moved its copy INTO it, as runs/RUN/RUN. A pull without --force never deletes a run folder."""
    _finished(fake, capsys)
    write_text = Path.write_text

    def other_pull_moves_in(self, *args, **kwargs):  # test-only: the other pull's move lands just before this one's
        if self.name == "kernel.log" and self.parent.name == RUN1:
            Path("runs", RUN1).mkdir()
            write_text(Path("runs", RUN1, "kernel.json"), "{}")
        return write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", other_pull_moves_in)  # undone with the fixture's chdir, after the test
    assert main(["kernel", "pull", REF0, REF1]) == 2
    assert _one_error(capsys, f"runs/{RUN1} appeared while this pull moved its runs in (another `kaggle-kit kernel "
                              f"pull` into runs?); runs/{RUN0} moved in; check it")
    assert sorted(p.name for p in Path("runs").iterdir()) == [RUN0, RUN1]  # no staging folder left
    assert [p.name for p in Path("runs", RUN1).iterdir()] == ["kernel.json"]  # the other pull's, nothing inside it


def test_pull_checks_every_kernel_exists_before_pulling_any(fake, capsys):
    _finished(fake, capsys, "0")
    assert main(["kernel", "pull", REF0, "nope-kernel"]) == 1
    _one_error(capsys, f"kernel '{DEFAULT_USER}/nope-kernel' was not found on Kaggle (404)")
    assert not Path("runs").exists()


def test_failed_pull_removes_the_folders_it_created(fake, capsys):
    _finished(fake, capsys, "0")
    fake.faults.append(Fault(status=500, times=1, method="file"))
    assert main(["kernel", "pull", REF0, "--runs-dir", "new/deep/runs"]) == 1
    _one_error(capsys, "output file ")
    assert not Path("new").exists()
    assert main(["kernel", "pull", REF0, "--runs-dir", "new/deep/runs"]) == 0
    assert [p.name for p in Path("new/deep/runs").iterdir()] == [RUN0]


def test_file_in_the_way_is_a_usage_error_before_the_network(fake, capsys):
    Path("afile").write_text("x")
    assert main(["kernel", "pull", REF0, "--runs-dir", "afile"]) == 2
    _one_error(capsys, "afile: is a file, not a folder")
    assert main(["kernel", "push", "tiny.yaml", "--out", "afile"]) == 2
    _one_error(capsys, "afile: is a file, not a folder")
    Path("kout").mkdir()
    Path("kout/kaggle-kit-tiny").write_text("x")
    assert main(["kernel", "push", "tiny.yaml", "--out", "kout"]) == 2
    _one_error(capsys, "kout/kaggle-kit-tiny: is a file, not a folder")
    assert fake.calls == []

    _finished(fake, capsys, "0")
    Path("runs").mkdir()
    Path("runs", RUN0).write_text("x")
    assert main(["kernel", "pull", REF0, "--force"]) == 2
    _one_error(capsys, f"runs/{RUN0}: is a file, not a run folder")
    assert Path("runs", RUN0).read_text() == "x" and sorted(os.listdir("runs")) == [RUN0]


@pytest.mark.parametrize("seeds,msg", [("3-1", "--seeds range '3-1' is empty"), ("0-5000", "--seeds range '0-5000' makes"),
                                       ("1,,2", "--seeds must look like"), ("1,1", "--seeds lists a seed twice")])
def test_push_refuses_bad_seed_lists(fake, capsys, seeds, msg):
    assert main(["kernel", "push", "tiny.yaml", "--seeds", seeds]) == 2
    _one_error(capsys, msg)
    assert fake.calls == [] and not Path("kernels").exists()


def test_refused_push_removes_the_kernel_folders_it_made(fake, capsys):
    assert main(["kernel", "push", "tiny.yaml", "--competition", "not-this-one", "--seeds", "0,1"]) == 1
    err = _one_error(capsys, f"Kaggle refused the push of kernel {REF0}")
    assert "check the competition slug (--competition)" in err
    assert "https://www.kaggle.com/competitions/not-this-one/rules" in err
    assert not Path("kernels").exists()
    Path("kernels/mine").mkdir(parents=True)
    assert main(["kernel", "push", "tiny.yaml", "--competition", "not-this-one"]) == 1
    capsys.readouterr()
    assert os.listdir("kernels") == ["mine"]


def test_refused_push_leaves_an_earlier_build_of_the_kernel_as_it_was(fake, capsys):
    assert main(["kernel", "push", "tiny.yaml", "--build-only", "--seeds", "0"]) == 0
    capsys.readouterr()
    folder = Path("kernels/kaggle-kit-tiny-s0")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert main(["kernel", "push", "tiny.yaml", "--competition", "not-this-one", "--seeds", "0"]) == 1
    _one_error(capsys, f"Kaggle refused the push of kernel {REF0}")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert b"not-this-one" not in before["kernel-metadata.json"]


def test_second_push_refused_keeps_only_the_first_kernels_folder(fake, capsys):
    original = fake.state.SaveKernel

    def refuse_s1(user, body, host):
        if body.get("slug", "").endswith("-s1"):
            return {"ref": "", "url": "", "error": "Notebook quota reached"}
        return original(user, body, host)

    fake.state.SaveKernel = refuse_s1
    assert main(["kernel", "push", "tiny.yaml", "--seeds", "0,1"]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(f"pushed {REF0} version 1")
    assert captured.err.startswith(f"error: Kaggle refused the push of kernel {REF1}: Notebook quota reached; "
                                   f"check kernel-metadata.json")
    assert os.listdir("kernels") == ["kaggle-kit-tiny-s0"]


@pytest.mark.parametrize("owner", ["a/b", "", "two words", "../x"])
def test_push_owner_must_be_a_username(fake, capsys, owner):
    assert main(["kernel", "push", "tiny.yaml", "--build-only", "--owner", owner]) == 2
    _one_error(capsys, f"--owner '{owner}' is not a Kaggle username")
    assert fake.calls == [] and not Path("kernels").exists()


@pytest.mark.parametrize("name", ["'!!!'", "'模型'"])
def test_push_refuses_a_pipeline_name_that_gives_no_kernel_slug(fake, capsys, name):
    Path("odd.yaml").write_text(f"name: {name}\ntrain:\n  epochs: 1\n", encoding="utf-8")
    assert main(["kernel", "push", "odd.yaml", "--build-only", "--owner", "alice"]) == 2
    _one_error(capsys, f"pipeline name '{name.strip(chr(39))}' has no ASCII letter or digit")
    assert fake.calls == [] and not Path("kernels").exists()


def test_push_refuses_a_model_over_the_budget_before_anything_is_sent(fake, capsys):
    """`run` checks every member's model before data or training; the kernel it pushed ran that check only on
    Kaggle, after the push, the queue and the data download, and `kernel status` then showed ERROR."""
    assert main(["kernel", "push", "tiny.yaml", "--set", "model.name=timm/resnet18"]) == 2
    _one_error(capsys, "model timm/resnet18 has 11,173,962 trainable parameters, over the budget of 5,000,000")
    Path("members.yaml").write_text("name: members\ntrain:\n  epochs: 1\nmembers:\n  - {name: a}\n"
                                    "  - {name: b, set: {model.name: timm/resnet18}}\n")
    assert main(["kernel", "push", "members.yaml", "--build-only", "--owner", "alice", "--seeds", "0,1"]) == 2
    _one_error(capsys, "member 'b': model timm/resnet18 has 11,173,962 trainable parameters")
    assert fake.calls == [] and not Path("kernels").exists()


def test_the_pushed_kernels_url_from_kaggle_reaches_the_terminal_without_escape_sequences(fake, capsys):
    """`kernel push` printed the URL Kaggle answered with as it came (Kaggle's words: escape sequences and line
    breaks included), like the failure messages `kernel status` now spells out."""
    original = fake.state.SaveKernel

    def odd_url(user, body, host):
        return {**original(user, body, host), "url": "https://www.kaggle.com/code/x\x1b[2J\nerror: not ours"}

    fake.state.SaveKernel = odd_url
    assert main(["kernel", "push", "tiny.yaml"]) == 0
    out = capsys.readouterr().out
    assert "version 1: https://www.kaggle.com/code/x\\x1b[2J\\nerror: not ours\n" in out and "\x1b" not in out
