"""The demo pipeline end to end on a real-data subset, with the real kaggle client against the fake server.

One module-scoped demo run (tiny model, 1 epoch, two members) feeds several checks; the kill/resume and
corrupt-input tests run their own pipelines in subprocesses, as a user's interrupted `make submit` would.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from kaggle_kit.cli import main
from kaggle_kit.runs import recipe_key
from kaggle_kit.submission import validate_submission

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "pipelines" / "demo.yaml"
# Small enough for CI (2 cores), large enough that every stage does real work.
FAST = ["model.name=tinycnn", "data.train_subset=1500", "data.holdout_size=1000", "data.test_subset=1000",
        "train.epochs=1", "train.batch_size=250"]
SECTIONS = ["In short", "Scoreboard", "Predicted leaderboard accuracy", "Label shift", "Covariate shift", "Per-class",
            "Advice"]


def _cli(args: list[str], cwd: Path) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "kaggle_kit", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"}, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, shared_data):
    work = tmp_path_factory.mktemp("demo")
    # 500 images a side for the report's domain classifier (5,000 by default): no check here reads its numbers, and
    # its 5-fold fits were the slowest part of the suite's slowest fixture
    args = ["demo", "--pipeline", str(DEMO), "--workdir", str(work), "--data-dir", str(shared_data),
            "--no-progress", *[a for kv in [*FAST, "report.domain_max_images=500"] for a in ("--set", kv)]]
    t0 = time.perf_counter()
    rc, out = _cli(args, ROOT)
    first_s = time.perf_counter() - t0
    assert rc == 0, out
    rc2, out2 = _cli(args, ROOT)
    assert rc2 == 0, out2
    return work, out, out2, first_s


def test_demo_writes_a_valid_csv(demo_run, standin):
    work, out, _, _ = demo_run
    csvs = sorted((work / "submissions").glob("demo-*.csv"))
    assert len(csvs) == 1, out
    assert validate_submission(csvs[0], standin.ids) == []


def test_demo_ledger_has_a_scored_upload(demo_run):
    work, out, _, _ = demo_run
    ledger = pd.read_csv(work / "submissions" / "ledger.csv", dtype=str, keep_default_na=False)
    assert len(ledger) == 1, out
    row = ledger.iloc[0]
    assert row["status"] == "COMPLETE" and row["kaggle_ref"]
    assert 0.0 < float(row["public_score"]) <= 1.0
    assert float(row["local_holdout_acc"]) > 0.1
    # ... with the submitted ensemble's recipe (its method and its members' recipes), for later corrections
    (ens,) = (work / "ensembles").iterdir()
    assert row["recipe"] == recipe_key(ens) and len(row["recipe"]) == 12
    assert row["recipe"] not in {recipe_key(d) for d in (work / "runs").iterdir()}
    # the upload stage recorded the report's recommended prediction (from the members' weights, and their BatchNorm
    # references combined into the ensemble's) and printed it
    predicted = float(row["predicted_lb_acc"])
    assert row["predicted_by"] == "Ref-Stack-Gated" and 0.0 < predicted <= 1.0
    assert (ens / "logits_comp_reference.npz").is_file()
    assert re.search(rf": predicted leaderboard accuracy {100 * predicted:.1f}% \(Ref-Stack-Gated; expect "
                     rf"\d+\.\d% to \d+\.\d%\)", out), out
    # ... and the report stage, reusing the cached synthetic logits, says the same
    md = (work / "reports" / "gap.md").read_text()
    assert f"Ref-Stack-Gated predicts **{100 * predicted:.1f}%**" in md
    # ... and, from that reference, whether re-estimating BatchNorm is predicted to pay (check 34's rule)
    assert md.count("Re-estimating BatchNorm on the competition images is predicted to ") == 1
    assert "Shift-Gated predicts " in md and " points from the run's BatchNorm reference" in md
    # the closing summary names the ledger and the score as a percentage, and what to do next
    score = f"{100 * float(row['public_score']):.2f}%"
    assert f"ledger:       {work / 'submissions' / 'ledger.csv'} (this submission: COMPLETE, public score {score})" \
        in out, out
    assert "(and gap.md beside it)" in out and "\nnext:" in out
    assert all((d / "gap_synthetic.npz").is_file() for d in (work / "runs").iterdir() if d.name != "pipelines")


def test_demo_report_has_every_section_and_embedded_figures(demo_run):
    work, _, _, _ = demo_run
    html = (work / "reports" / "gap.html").read_text()
    md = (work / "reports" / "gap.md").read_text()
    for section in SECTIONS:
        assert section in html and section in md, section
    assert html.count("data:image/png;base64,") >= 4
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html


def test_second_run_skips_every_stage(demo_run):
    _, first, second, _ = demo_run
    stage_lines = [l for l in second.splitlines() if l.startswith("[")]
    worked = [l for l in stage_lines if " done in " in l and not l.split("] ")[1].startswith(("data", "sync"))]
    assert worked == [], second
    assert sum(" skipped (" in l for l in stage_lines) >= 7, second
    assert "resuming" not in second
    # a rerun still names the ledger and this CSV's row in it, though its upload was skipped
    assert "ledger:       " in second and "(this submission: COMPLETE, public score " in second, second
    # the demo's fake Kaggle remembers the first run's upload, so the rerun's sync finds it, as on Kaggle
    sync = next(l for l in stage_lines if "] sync done" in l)
    assert sync.endswith("1 submission on Kaggle: 0 ledger rows updated, 0 added, 0 still pending; the ledger "
                         "was already up to date"), second


def test_killed_training_resumes_without_losing_work(tmp_path, shared_data, standin):
    """SIGINT during epoch 2 of 3; the rerun resumes from last.pt in the same run folder and finishes. Up to the
    CSV only: the upload and the report after it (demo_run covers them) have nothing to do with resuming."""
    args = ["demo", "--pipeline", str(DEMO), "--workdir", str(tmp_path), "--data-dir", str(shared_data),
            "--no-progress", *[a for kv in FAST for a in ("--set", kv)],
            "--set", "train.epochs=3", "--set", "members=[{name: only}]",
            "--set", "stages=[data, train, predict, submission]"]
    proc = subprocess.Popen([sys.executable, "-m", "kaggle_kit", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.time() + 300
    metrics = None
    while time.time() < deadline and proc.poll() is None:
        found = list((tmp_path / "runs").glob("*/last.pt"))  # written last: epoch 1 is done
        if found:
            metrics = found[0].with_name("metrics.csv")
            break
        time.sleep(0.01)  # epoch 2 of 3 may be short on a fast machine: interrupt it early
    assert metrics is not None, proc.communicate()[0]
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0, out
    run_folder = metrics.parent
    assert (run_folder / "last.pt").exists()
    assert not list((tmp_path / "submissions").glob("demo-*.csv"))

    rc, out2 = _cli(args, ROOT)
    assert rc == 0, out2
    assert f"resuming {run_folder}" in out2
    rows = pd.read_csv(run_folder / "metrics.csv")
    assert rows["epoch"].tolist() == [1, 2, 3]
    csv = next((tmp_path / "submissions").glob("demo-*.csv"))
    assert validate_submission(csv, standin.ids) == []


def test_corrupted_pickle_stops_with_one_line_and_no_csv(tmp_path, shared_data, capsys):
    data = tmp_path / "data"
    (data / "cifar-10-python").mkdir(parents=True)
    (data / "cifar-10-python" / "cifar-10-batches-py").symlink_to(
        shared_data / "cifar-10-python" / "cifar-10-batches-py")
    blob = (shared_data / "standin" / "cifar_test_nolabel.pkl").read_bytes()
    (data / "cifar_test_nolabel.pkl").write_bytes(blob[: len(blob) // 3])
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        rc = main(["run", str(DEMO), "--data-dir", str(data), "--no-progress",
                   *[a for kv in FAST for a in ("--set", kv)], "--set", "stages=[data, train, predict, submission]"])
    finally:
        os.chdir(cwd)
    err = capsys.readouterr().err
    assert rc == 2
    assert err == f"error: {data / 'cifar_test_nolabel.pkl'}: truncated pickle (the file ends early); download it again\n"
    assert not (tmp_path / "submissions").exists() or not list((tmp_path / "submissions").glob("*.csv"))
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").glob("*/model.pt"))


def test_demo_downloads_cifar10_when_no_data_is_found(tmp_path, shared_data, monkeypatch):
    """No data anywhere: the demo downloads the archive; only the network call is replaced (by the real
    batches served from memory), and the md5 of every batch is still checked."""
    import hashlib
    import io
    import tarfile
    import urllib.request

    from kaggle_kit import demo
    from kaggle_kit.demo import find_demo_data

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        src = shared_data / "cifar-10-python" / "cifar-10-batches-py"
        for f in sorted(src.iterdir()):
            tar.add(f, arcname=f"cifar-10-batches-py/{f.name}")
    payload = buf.getvalue()
    requested = []

    class _Response(io.BytesIO):
        status = 200
        code = 200

        def __init__(self, data, url):
            super().__init__(data)
            self.url = url
            self.length = len(data)
            self.headers = {"content-length": str(len(data))}

        def getcode(self):
            return 200

        def geturl(self):
            return requested[-1]

        def info(self):
            return self.headers

    def fake_urlopen(req, *a, **k):
        url = req.full_url if hasattr(req, "full_url") else req
        requested.append(url)
        return _Response(payload, url)

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    monkeypatch.setattr(demo, "CIFAR10_TGZ_MD5", hashlib.md5(payload).hexdigest())  # re-packed: not the official
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KAGGLE_KIT_DATA", raising=False)
    monkeypatch.setenv("KAGGLE_KIT_SHARED_DATA", str(tmp_path / "no-shared"))
    found = find_demo_data(None, tmp_path / "work", echo=lambda s: None)
    assert requested and requested[0].endswith("cifar-10-python.tar.gz")
    assert (found.root / "cifar_test_nolabel.pkl").is_file()
    labels = pd.read_csv(found.labels_csv)
    assert len(labels) == 5000 and set(labels["Labels"]) == set(range(10))


def test_no_data_and_no_download_is_one_line(tmp_path, monkeypatch):
    from kaggle_kit.demo import find_demo_data
    from kaggle_kit.errors import DataNotFoundError

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KAGGLE_KIT_DATA", raising=False)
    monkeypatch.setenv("KAGGLE_KIT_SHARED_DATA", str(tmp_path / "none"))
    with pytest.raises(DataNotFoundError, match=r"no CIFAR-10 data found \(looked in: data, .*none\); put it in"):
        find_demo_data(None, tmp_path / "w", allow_download=False)


def test_a_wrong_kaggle_kit_data_stops_the_demo_rather_than_using_other_data(tmp_path, monkeypatch, shared_data):
    """The demo looked in ./data and the shared folder after a KAGGLE_KIT_DATA that held nothing, so a typo in it
    ran the demo on other data (or started a 163 MB download) without a word."""
    from kaggle_kit.demo import find_demo_data
    from kaggle_kit.errors import DataNotFoundError

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KAGGLE_KIT_DATA", str(tmp_path / "typo"))
    with pytest.raises(DataNotFoundError, match=r"typo: no CIFAR-10 batches there .*\(from KAGGLE_KIT_DATA; unset "):
        find_demo_data(None, tmp_path / "w", echo=lambda s: None)
    assert not (tmp_path / "w").exists()


def test_demo_defaults_to_its_own_workdir():
    """Demo submissions must never land in the real submissions/ledger.csv."""
    from kaggle_kit.cli import build_parser

    args = build_parser().parse_args(["demo"])
    assert args.workdir == "demo"


def test_an_over_budget_member_stops_the_run_before_any_member_trains(tmp_path, shared_data, capsys):
    """The second member widens tinycnn to 90,081,010 parameters: the run used to train the first member, then
    refuse the second. Every member's model is now built (on the meta device) and checked before any data or
    training, so nothing is left behind."""
    pipeline = tmp_path / "two.yaml"
    pipeline.write_text("name: two\nstages: [data, train]\n"
                        "data: {holdout_size: 100, train_subset: 100, test_subset: 100}\n"
                        "model: {name: tinycnn}\ntrain: {epochs: 1, batch_size: 50}\n"
                        "members:\n  - {name: small, set: {train.seed: 0}}\n"
                        "  - {name: wide, set: {model.kwargs.width: 1000}}\n")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        rc = main(["run", str(pipeline), "--data-dir", str(shared_data), "--no-progress"])
    finally:
        os.chdir(cwd)
    err = capsys.readouterr().err
    assert rc == 2
    assert err == ("error: member 'wide': model tinycnn has 90,081,010 trainable parameters, over the budget of "
                   "5,000,000; choose a smaller model or narrower model.kwargs\n")
    assert not (tmp_path / "runs").exists()
