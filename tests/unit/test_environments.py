"""The CLI where users run it, not only on the happy path: ASCII-only or C locales, non-ASCII and spaced paths,
stdout piped into a command that stops reading. Each runs ``python -m kaggle_kit`` in a subprocess with the
environment changed, as the user's shell would start it."""
from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from kaggle_kit import ledger
from kaggle_kit.fsio import atomic_write_text, one_at_a_time
from kaggle_kit.testing import on_disk, unprivileged

ROOT = Path(__file__).resolve().parents[2]
C_LOCALE = {"LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}  # no UTF-8 mode, ASCII
SURROGATES = "d\udcc3\udca4"  # how Python under LC_ALL=C names a folder 'dä' (its UTF-8 bytes, undecodable)


def _env(**changes: str) -> dict[str, str]:
    """This environment with ``changes``, importing the kaggle_kit under test."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **changes}


def _kit(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kaggle_kit", *args], cwd=cwd, env=_env(**env), capture_output=True,
                          timeout=120)


@pytest.fixture()
def comp(tmp_path):
    """A three-image competition pickle and a valid CSV for it, in a folder whose name is not ASCII."""
    folder = tmp_path / on_disk("prój ect")
    folder.mkdir()
    pkl = folder / "comp.pkl"
    pkl.write_bytes(pickle.dumps({b"data": np.zeros((3, 32, 32, 3), np.uint8), b"ids": np.array([0, 1, 2])}))
    csv = folder / on_disk("sübmission.csv")
    csv.write_text("ID,Labels\n0,1\n1,2\n2,3\n")
    return folder, pkl, csv


def test_an_ascii_only_stdout_gets_escapes_not_a_traceback(comp):
    """PYTHONIOENCODING=ascii (or a terminal in a legacy code page): printing a path with 'ó' raised
    UnicodeEncodeError, exit 1 with a traceback, after the work was done."""
    folder, pkl, csv = comp
    # UTF-8 mode: names are read as UTF-8 whatever locale runs the tests, so only the output is ASCII
    proc = _kit(["validate", str(csv), "--against", str(pkl)], folder, PYTHONIOENCODING="ascii", PYTHONUTF8="1")
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"Traceback" not in proc.stderr
    assert proc.stdout.decode("ascii").endswith(": valid (3 rows, header ID,Labels, labels 0-9)\n")
    assert "s\\xfcbmission.csv" in proc.stdout.decode("ascii")


def test_a_dry_run_submit_under_the_c_locale_records_the_non_ascii_path_in_the_ledger(comp):
    """LC_ALL=C without UTF-8 mode: the CSV's path reaches Python as undecodable bytes (surrogates), and writing
    it into the ledger raised UnicodeEncodeError; after a real upload that lost the submission's ledger row."""
    folder, pkl, csv = comp
    proc = _kit(["submit", csv.name, "-m", "c locale", "--upload", "never", "--against", pkl.name], folder,
                **C_LOCALE)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"Traceback" not in proc.stderr
    rows = ledger._read_rows(folder / "submissions" / "ledger.csv")
    assert [(r["file"], r["status"]) for r in rows] == [("sübmission.csv", ledger.DRY_RUN)]


def _tiny_data(folder: Path) -> Path:
    """A data folder ``data verify --no-md5`` accepts: 2 images per CIFAR-10 batch and a 4-image competition."""
    batches = folder / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"batch_label": b"x", b"labels": [0, 1], b"data": np.zeros((2, 3072), np.uint8),
                 b"filenames": [b"f"] * 2}
        (batches / name).write_bytes(pickle.dumps(batch, protocol=2))
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    (batches / "batches.meta").write_bytes(pickle.dumps({b"label_names": names}, protocol=2))
    (folder / "cifar_test_nolabel.pkl").write_bytes(pickle.dumps({b"data": np.zeros((4, 32, 32, 3), np.uint8),
                                                                  b"ids": np.arange(4)}))
    return folder


def test_data_verify_under_the_c_locale_prints_paths_as_their_bytes_and_no_escapes(tmp_path):
    """LC_ALL=C without UTF-8 mode, the data in a folder named 'dätä': the summary printed its path as
    'd\\udcc3\\udca4t\\udcc3\\udca4' (a path one cannot paste back) and its dash as '\\u2014'."""
    data = _tiny_data(tmp_path / on_disk("dätä"))
    proc = _kit(["data", "verify", "--no-md5", "--data-dir", str(data)], tmp_path, **C_LOCALE)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert b"\\u" not in proc.stdout + proc.stderr and b"Traceback" not in proc.stderr
    lines = proc.stdout.decode("utf-8").splitlines()  # strict: the path's bytes came back as they are on disk
    assert lines[0] == f"CIFAR-10: {tmp_path}/dätä/cifar-10-batches-py: 10 train, 2 test images"
    assert lines[-3] == f"competition: {tmp_path}/dätä/cifar_test_nolabel.pkl: 4 images, ids 0..3 (unique)"
    assert lines[-1] == "data OK"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_commit_in_a_manifest_survives_git_quoting_a_non_ascii_folder_under_the_c_locale(tmp_path):
    """git's refusal (here a broken .git file; for a container's root, 'dubious ownership') names the folder
    in its bytes; decoded as ASCII under LC_ALL=C that raised UnicodeDecodeError from write_manifest."""
    folder = tmp_path / on_disk("dä")
    folder.mkdir()
    (folder / ".git").write_bytes(b"gitdir: " + os.fsencode(tmp_path) + "/gone-ä\n".encode())
    code = "import sys; from kaggle_kit.runs import git_commit; print(git_commit(sys.argv[1]))"
    proc = subprocess.run([sys.executable, "-c", code, str(folder)], env=_env(**C_LOCALE), capture_output=True,
                          timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"None\n", b"")


def test_ledger_and_text_outputs_keep_a_c_locale_paths_bytes(tmp_path):
    path = tmp_path / "ledger.csv"
    ledger.append_row(path, file=f"{SURROGATES}/s.csv", sha256="0" * 64, message="m", status=ledger.DRY_RUN)
    assert ledger._read_rows(path)[0]["file"] == "dä/s.csv"
    assert atomic_write_text(tmp_path / "gap.md", f"runs in {SURROGATES}\n").read_bytes() == "runs in dä\n".encode()


def test_the_run_lock_takes_a_c_locale_path(tmp_path):
    """`kaggle-kit run` locks on its workdir's path: under LC_ALL=C a folder named 'dä' stopped it with
    UnicodeEncodeError before any stage ran."""
    with one_at_a_time(f"pipeline:{tmp_path}/{SURROGATES}:demo", "busy"):
        pass


FULL_DISK = """
import resource, sys
import torch
from kaggle_kit.checkpoint import save_model
from kaggle_kit.cli import os_error_line
from kaggle_kit.fsio import atomic_write_text
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.RLIM_INFINITY))  # writes past 64 KiB fail: EFBIG
model = torch.nn.Linear(300, 300)
for write in (lambda p: save_model(p, model, model_name="linear", model_kwargs={}, class_names=[], config={}),
              lambda p: atomic_write_text(p, "x" * 10**6)):
    try:
        write(sys.argv[1])
    except OSError as err:
        print(os_error_line(err))
"""


def test_a_write_that_hits_a_size_limit_names_the_file_and_leaves_nothing(tmp_path):
    """A full disk (here a file-size limit, EFBIG) during a checkpoint: torch.save raised an opaque RuntimeError
    (a traceback, exit 1) and a plain write named no file; now both are the OSError the CLI prints in one line,
    naming the output, and no temporary or partial file is left where the next run would look."""
    target = tmp_path / "last.pt"
    proc = subprocess.run([sys.executable, "-c", FULL_DISK, str(target)], capture_output=True, text=True, env=_env(),
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [f"{target}: File too large (OSError)"] * 2
    assert list(tmp_path.iterdir()) == []


def test_predict_on_a_read_only_run_says_so_before_any_work(tmp_path):
    """Runs attached to a Kaggle notebook are read-only: predict loaded the data, ran every view over every image,
    and only then failed on a hidden temporary file's name."""
    import yaml

    from kaggle_kit.checkpoint import save_model
    from kaggle_kit.config import ModelConfig, PipelineConfig, to_dict
    from kaggle_kit.data import CLASS_NAMES
    from kaggle_kit.models import create_model

    run = tmp_path / "input" / "run 1"
    run.mkdir(parents=True)
    cfg = to_dict(PipelineConfig(model=ModelConfig(name="tinycnn")))
    (run / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    save_model(run / "model.pt", create_model("tinycnn", num_classes=10), model_name="tinycnn", model_kwargs={},
               class_names=list(CLASS_NAMES), config=cfg)
    run.chmod(0o555)
    try:
        proc = subprocess.run([*unprivileged(), sys.executable, "-m", "kaggle_kit", "predict", str(run),
                               "--device", "cpu", "--data-dir", str(tmp_path / "no-data")], cwd=tmp_path,
                              env=_env(), capture_output=True, text=True, timeout=120)
    finally:
        run.chmod(0o755)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (f"error: {run}: run folder is not writable, and predict writes its logits into it; copy "
                           f"it somewhere writable (cp -r '{run}' runs/) and predict the copy\n")


def test_stdout_whose_reader_has_gone_stops_quietly(tmp_path):
    """`kaggle-kit models | head -1`: the reader closes the pipe and the next write fails with EPIPE; that printed
    'error: Broken pipe (BrokenPipeError)' as if the toolkit had failed. A Unix tool stops without a word."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "kaggle_kit", "models"], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, env=_env(), cwd=tmp_path, timeout=120)
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (1, "")


def test_a_symlinked_ledger_or_report_is_written_through_not_replaced(tmp_path):
    """`submissions/ledger.csv -> ~/shared/ledger.csv` (one ledger for several project folders): each write put a
    regular file in place of the link, so the shared ledger silently stopped receiving rows, and its lock was
    taken beside the link, not beside the file the other projects lock."""
    shared, project = tmp_path / "shared", tmp_path / "project"
    shared.mkdir()
    (project / "submissions").mkdir(parents=True)
    ledger.append_row(shared / "ledger.csv", file="a.csv", sha256="a" * 64, message="one", status=ledger.DRY_RUN)
    link = project / "submissions" / "ledger.csv"
    link.symlink_to(shared / "ledger.csv")
    ledger.append_row(link, file="b.csv", sha256="b" * 64, message="two", status=ledger.DRY_RUN)
    assert link.is_symlink()
    assert [r["file"] for r in ledger._read_rows(shared / "ledger.csv")] == ["a.csv", "b.csv"]
    assert sorted(p.name for p in shared.iterdir()) == ["ledger.csv", "ledger.csv.lock"]
    assert sorted(p.name for p in link.parent.iterdir()) == ["ledger.csv"]

    report = project / "gap.md"
    report.symlink_to(shared / "gap.md")
    atomic_write_text(report, "new\n")
    assert report.is_symlink() and (shared / "gap.md").read_text() == "new\n"


def test_text_a_c_locale_cannot_hand_on_is_one_line_with_the_cure(tmp_path):
    """A pipeline named 'dém.yaml' under LC_ALL=C without UTF-8 mode: its name reaches the kernel script as
    surrogates, which UTF-8 cannot write; that was a traceback."""
    (tmp_path / on_disk("dém.yaml")).write_text("train: {epochs: 1}\n")
    proc = _kit(["kernel", "push", on_disk("dém.yaml"), "--build-only", "--owner", "bob"], tmp_path, **C_LOCALE)
    assert proc.returncode == 1
    assert proc.stderr.decode("ascii") == (
        "error: cannot write '\\udcc3\\udca9' as utf-8 (surrogates not allowed); this locale reads names as ascii: "
        "run with a UTF-8 locale (LC_ALL=C.UTF-8) or PYTHONUTF8=1\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == [on_disk("dém.yaml")]


@pytest.mark.parametrize("how", ["env", "flag"])
def test_a_data_folder_given_with_a_tilde_is_found(tmp_path, monkeypatch, how):
    """KAGGLE_KIT_DATA='~/kdata' from a CI file or .env (nothing expands the '~' there) or a quoted --data-dir:
    the error said 'looked in: ~/kdata' of a folder that exists."""
    from kaggle_kit.datapaths import locate_data

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    batches = tmp_path / "kdata" / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    (batches / "data_batch_1").write_bytes(b"")
    (tmp_path / "kdata" / "cifar_test_nolabel.pkl").write_bytes(b"")
    monkeypatch.setenv("KAGGLE_KIT_DATA", "~/kdata")
    found = locate_data(*(["~/kdata"] if how == "flag" else []), require_comp=True)
    assert (found.cifar_dir, found.comp_pickle) == (batches, tmp_path / "kdata" / "cifar_test_nolabel.pkl")


DRAW = """
import os
from kaggle_kit.gap.report_render import figure_png  # the toolkit first, as `kaggle-kit report` imports it
from matplotlib.figure import Figure
fig = Figure(figsize=(2, 2))
fig.add_subplot().set_title("a title")  # text: the font cache is read, or built
assert figure_png(fig).startswith(b"\\x89PNG")
print(os.environ.get("MPLCONFIGDIR"))
"""


def _no_matplotlib_env(home: Path, tmp: Path, **changes: str) -> dict[str, str]:
    env = _env(HOME=str(home), TMPDIR=str(tmp))
    for key in ("MPLCONFIGDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        env.pop(key, None)
    return {**env, **changes}


@pytest.mark.parametrize("home_is", ["read-only folder", "file"])
def test_a_home_matplotlib_cannot_write_to_gets_no_matplotlib_warnings(tmp_path, home_is):
    """A read-only HOME (a container, a CI job): matplotlib warned twice on stderr that it could not make its config
    and cache folders, and rebuilt its font cache in a fresh temporary folder in every process."""
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    tmp.mkdir()
    prefix = []
    if home_is == "file":
        home.write_text("")
    else:
        home.mkdir(mode=0o555)
        prefix = unprivileged()
    runs = [subprocess.run([*prefix, sys.executable, "-c", DRAW], capture_output=True, text=True, timeout=120,
                           env=_no_matplotlib_env(home, tmp)) for _ in range(2)]
    for proc in runs:
        assert proc.returncode == 0, proc.stderr
        assert "matplotlib" not in proc.stderr.lower(), proc.stderr
    folder = Path(runs[0].stdout.strip())
    assert folder.parent == tmp and runs[1].stdout == runs[0].stdout  # one folder: the font cache is built once
    assert list(folder.glob("fontlist-*.json"))


def test_a_usable_home_keeps_matplotlibs_own_folders_and_kaggle_kit_makes_none(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    proc = subprocess.run([sys.executable, "-c", "import os, kaggle_kit; print(os.environ.get('MPLCONFIGDIR'))"],
                          capture_output=True, text=True, timeout=120, env=_no_matplotlib_env(home, tmp_path))
    assert proc.returncode == 0 and proc.stdout == "None\n", proc.stderr
    assert list(home.iterdir()) == []
    proc = subprocess.run([sys.executable, "-c", "import os, kaggle_kit; print(os.environ.get('MPLCONFIGDIR'))"],
                          capture_output=True, text=True, timeout=120,
                          env=_no_matplotlib_env(home, tmp_path, MPLCONFIGDIR=str(tmp_path / "mine")))
    assert proc.stdout == f"{tmp_path / 'mine'}\n"  # the user's own choice stands


C_LOCALE_FILES = """
import sys
import tempfile
from kaggle_kit.config import load_pipeline
from kaggle_kit.runs import read_manifest, write_manifest
cfg = load_pipeline(sys.argv[1])
write_manifest(sys.argv[2], "train", config=cfg, extra={"note": "r\\u00e9sum\\u00e9 \\u2014 94 %"})
print(ascii([cfg.name, read_manifest(sys.argv[2], "train")["note"]]))
"""


def test_utf8_files_read_and_written_under_the_c_locale(tmp_path):
    """Under LC_ALL=C without UTF-8 mode (or a Windows code page) open() without an encoding reads ASCII: a
    pipeline file with an accent in a comment, or a manifest that names one, must still load."""
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("# résumé — the seed recipe, 94 % locally\nname: dém\nmodel: {name: tinycnn}\n",
                        encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", C_LOCALE_FILES, str(pipeline), str(tmp_path)], cwd=tmp_path,
                          env=_env(**C_LOCALE), capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode("ascii") == "['d\\xe9m', 'r\\xe9sum\\xe9 \\u2014 94 %']\n"


@pytest.mark.parametrize("args", [["--help"], ["validate", "--help"]])
def test_a_command_that_draws_nothing_makes_no_matplotlib_folder(tmp_path, args):
    """With a HOME matplotlib cannot use, every command (its `--help` too) made kaggle-kit-matplotlib-<uid> in the
    temporary folder and imported tempfile and shutil for it at start-up; only the report draws."""
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.write_text("")  # HOME a file: no folder can be made under it
    tmp.mkdir()
    proc = subprocess.run([sys.executable, "-m", "kaggle_kit", *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env=_no_matplotlib_env(home, tmp))
    assert proc.returncode == 0, proc.stderr
    assert list(tmp.iterdir()) == []
    code = "import os, sys, kaggle_kit.cli; print(os.environ.get('MPLCONFIGDIR'), 'matplotlib' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env=_no_matplotlib_env(home, tmp))
    assert proc.stdout == "None False\n", proc.stderr


def test_every_module_that_imports_matplotlib_prepares_its_folder_first():
    """matplotlib reads MPLCONFIGDIR once, at its first import: a toolkit module that imported it without calling
    ensure_writable_folder before would bring the warnings of an unusable HOME back whenever it is imported first."""
    import ast

    def imports_matplotlib(node: ast.AST) -> bool:
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        return any(n == "matplotlib" or n.startswith("matplotlib.") for n in names)

    found = []
    for path in sorted((ROOT / "kaggle_kit").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        prepared = False
        for node in tree.body:
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) \
                    and getattr(node.value.func, "id", None) == "ensure_writable_folder":
                prepared = True
            if imports_matplotlib(node):
                found.append(path.name)
                assert prepared, f"{path.relative_to(ROOT)} imports matplotlib before ensure_writable_folder()"
        nested = sum(map(imports_matplotlib, ast.walk(tree))) - sum(map(imports_matplotlib, tree.body))
        assert nested == 0, f"{path.relative_to(ROOT)} imports matplotlib inside a function: prepare the folder there"
    assert sorted(set(found)) == ["report_prediction.py", "report_render.py", "report_scoreboard.py", "report_shift.py",
                                  "shifts.py"]


def _no_torch_cache_env(tmp: Path) -> dict[str, str]:
    env = _env(TMPDIR=str(tmp))
    env.pop("TORCHINDUCTOR_CACHE_DIR", None)
    return env


def test_models_leaves_no_torch_compile_cache_folder_in_the_temporary_folder(tmp_path):
    """`kaggle-kit models` compiles nothing, yet left an empty torchinductor_<user> in TMPDIR: counting FLOPs (as
    an optimizer step or torch.fx tracing) imports torch._dynamo, which makes torch's compile cache folder."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.run([sys.executable, "-m", "kaggle_kit", "models", "--json"], capture_output=True, text=True,
                          timeout=120, env=_no_torch_cache_env(tmp), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert list(tmp.iterdir()) == []


def test_a_torch_compile_cache_folder_with_a_cache_or_there_before_stays(tmp_path, monkeypatch):
    from kaggle_kit import torchcache
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv(torchcache.ENV, raising=False)
    monkeypatch.setattr(torchcache.atexit, "register", lambda *a: None)  # not this pytest process's exit
    folder = torchcache.default_folder()
    assert str(folder) == default_cache_dir()  # where torch itself makes it
    assert torchcache.remove_at_exit_if_left_empty() == folder  # not there yet: this process's to clean
    (folder / "fx").mkdir(parents=True)  # a compile's cache
    torchcache._remove_if_empty(folder)
    assert (folder / "fx").is_dir()
    assert torchcache.remove_at_exit_if_left_empty() is None  # there before: someone else's
    monkeypatch.setenv(torchcache.ENV, str(tmp_path / "mine"))
    assert torchcache.remove_at_exit_if_left_empty() is None  # the user's own choice of folder


def test_output_writes_a_c_locale_names_bytes_back_and_escapes_the_rest():
    """The CLI's streams: a surrogate standing for an undecodable byte goes out as that byte, in the middle of
    characters the encoding lacks, which stay escapes (ASCII, and Latin-1 for one ASCII lacks but it has)."""
    from kaggle_kit.cli import BYTES_OR_ESCAPE

    text = "pr\udcc3\udcb3j \u2014 \xf3\udcff"
    assert text.encode("ascii", BYTES_OR_ESCAPE) == b"pr\xc3\xb3j \\u2014 \\xf3\xff"
    assert text.encode("latin-1", BYTES_OR_ESCAPE) == b"pr\xc3\xb3j \\u2014 \xf3\xff"
    with pytest.raises(UnicodeDecodeError):
        b"\xff".decode("ascii", BYTES_OR_ESCAPE)
