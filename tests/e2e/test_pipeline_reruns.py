"""Reruns of a pipeline skip exactly what is still valid: outputs changed since a stage wrote them (by another
command, another pipeline, a hand) are rebuilt; settings that change neither weights nor split do not retrain;
a dry run never stands in for an upload the settings now make; a run trained before is found again.

Each case runs the real pipeline in-process (tiny model, real CIFAR-10 subset, the fake Kaggle for uploads).
"""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kaggle_kit.config import PredictConfig
from kaggle_kit.demo import run_demo

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "pipelines" / "demo.yaml"
# predict.bn_reference off: these tests judge which stages run again, and the reference adds 8 passes over the 10,000
# stand-in images to every prediction (it is tested in test_predict.py, the demo's e2e test and the real report test)
FAST = ["model.name=tinycnn", "data.train_subset=1000", "data.holdout_size=500", "data.test_subset=500",
        "train.epochs=1", "train.batch_size=250", "predict.tta=none", "predict.bn_reference=false",
        "members=[{name: m0}]"]
UPTO_CSV = "stages=[data,train,predict,submission]"


def _run(work: Path, shared_data: Path, *extra: str) -> list[str]:
    lines: list[str] = []
    run_demo(DEMO, [*FAST, *extra], data_dir=shared_data, workdir=work, progress=False, echo=lines.append)
    return lines


def _stage(lines: list[str], name: str) -> str:
    found = [l for l in lines if l.startswith("[") and l.split("] ", 1)[1].startswith(name)]
    assert found, lines
    return found[-1]


def _skipped(lines: list[str], name: str) -> bool:
    return " skipped (" in _stage(lines, name)


def _demo_data(work: Path, shared_data: Path):
    """The data the demo used: the shared folder, or the competition it wrote from it."""
    from kaggle_kit.datapaths import locate_data

    return locate_data(work / "demo-data" if (work / "demo-data").is_dir() else shared_data, require_comp=True)


def _runs(work: Path) -> list[str]:
    return sorted(p.name for p in (work / "runs").iterdir() if p.name != "pipelines")


@pytest.fixture(scope="module")
def upto_csv(tmp_path_factory, shared_data) -> Path:
    """A work folder after one run of the pipeline up to the CSV (one member), made once: each test that starts
    from there takes a copy (the state file keeps paths relative to the work folder, and keys by file contents)."""
    work = tmp_path_factory.mktemp("reruns") / "w"
    _run(work, shared_data, UPTO_CSV)
    return work


def _copy(upto_csv: Path, work: Path) -> Path:
    shutil.copytree(upto_csv, work, symlinks=True)
    return work


def test_outputs_changed_since_a_stage_wrote_them_are_rebuilt(upto_csv, tmp_path, shared_data):
    from kaggle_kit.data import load_cifar10, load_competition
    from kaggle_kit.predict import predict_run

    work = _copy(upto_csv, tmp_path / "w")
    (run,) = _runs(work)
    (csv,) = (work / "submissions").glob("demo-*.csv")
    original = csv.read_bytes()

    # `kaggle-kit predict RUN --tta flip` rewrote the logits the pipeline's predict stage made with tta none
    paths = _demo_data(work, shared_data)
    predict_run(work / "runs" / run, load_cifar10(paths.cifar_dir), load_competition(paths.comp_pickle),
                PredictConfig(tta="flip"), device="cpu")
    second = _run(work, shared_data, UPTO_CSV)
    assert _skipped(second, "train") and not _skipped(second, "predict"), second
    assert csv.read_bytes() == original and _skipped(second, "submission")

    # a CSV that lost a row, and a model.pt cut short, are made again (the model from last.pt)
    csv.write_text("\n".join(original.decode().splitlines()[:-1]) + "\n")
    model = work / "runs" / run / "model.pt"
    model.write_bytes(model.read_bytes()[:1000])
    third = _run(work, shared_data, UPTO_CSV)
    assert not _skipped(third, "train") and any(f"train (resuming {work / 'runs' / run})" in l for l in third)
    assert csv.read_bytes() == original, third
    assert _runs(work) == [run]

    # a state file of the wrong shape costs recomputation, not a traceback
    state = work / "runs" / "pipelines" / "demo.json"
    recorded = json.loads(state.read_text())
    for entry in [recorded["stages"]["train:m0"], *recorded["runs"].values()]:
        entry["run_dir"] = 5
    state.write_text(json.dumps(recorded))
    fourth = _run(work, shared_data, UPTO_CSV)
    assert not _skipped(fourth, "train") and len(_runs(work)) == 2, fourth
    state.write_text(json.dumps({"stages": {"train:m0": None, "predict:m0": []}, "runs": []}))
    fifth = _run(work, shared_data, UPTO_CSV)
    assert not _skipped(fifth, "train") and len(_runs(work)) == 3, fifth
    assert csv.read_bytes() == original


def test_settings_that_change_no_weights_do_not_retrain_and_old_runs_are_found_again(upto_csv, tmp_path, shared_data,
                                                                                     monkeypatch):
    work = _copy(upto_csv, tmp_path / "w")
    (run,) = _runs(work)
    for extra in (["train.num_workers=1"], ["data.comp_subset=100", "stages=[data,train,predict]"]):
        lines = _run(work, shared_data, UPTO_CSV, *extra)
        assert _skipped(lines, "train") and _runs(work) == [run], (extra, lines)
    assert not _skipped(lines, "predict")  # comp_subset changes what is predicted

    _run(work, shared_data, UPTO_CSV, "train.seed=1")
    assert len(_runs(work)) == 2
    back = _run(work, shared_data, UPTO_CSV)  # switching back reuses the first run
    assert _skipped(back, "train") and f"inputs unchanged; {work / 'runs' / run}" in _stage(back, "train")
    renamed = _run(work, shared_data, UPTO_CSV, "members=[{name: first}]")
    assert _skipped(renamed, "train") and len(_runs(work)) == 2, renamed

    # from inside the work folder, with the work folder given as '.', the same runs are found
    monkeypatch.chdir(work)
    here = _run(Path("."), shared_data, UPTO_CSV)
    assert _skipped(here, "train") and len(_runs(Path("."))) == 2, here


def test_select_best_without_its_model_trains_again_in_a_new_folder(tmp_path, shared_data):
    work = tmp_path / "w"
    _run(work, shared_data, UPTO_CSV, "train.select_best=true")
    (run,) = _runs(work)
    (work / "runs" / run / "model.pt").unlink()
    lines = _run(work, shared_data, UPTO_CSV, "train.select_best=true")
    assert any("with train.select_best it held the best epoch's weights" in l for l in lines), lines
    assert len(_runs(work)) == 2 and not (work / "runs" / run / "model.pt").exists()


def test_a_dry_run_does_not_stand_in_for_an_upload_and_a_lost_ledger_row_is_recorded_again(tmp_path, shared_data):
    work = tmp_path / "w"
    stages = "stages=[data,train,predict,submission,upload]"
    dry = _run(work, shared_data, stages, "submit.upload=never")
    ledger = work / "submissions" / "ledger.csv"
    assert pd.read_csv(ledger, dtype=str).status.tolist() == ["dry-run"], dry
    again = _run(work, shared_data, stages, "submit.upload=never")
    assert _stage(again, "upload").endswith("skipped (already dry-run in the ledger)")

    ledger.unlink()
    lost = _run(work, shared_data, stages, "submit.upload=never")
    assert not _skipped(lost, "upload") and pd.read_csv(ledger, dtype=str).status.tolist() == ["dry-run"]

    real = _run(work, shared_data, stages, "submit.upload=always")
    assert not _skipped(real, "upload"), real
    statuses = pd.read_csv(ledger, dtype=str).status.tolist()
    assert statuses[0] == "dry-run" and statuses[1] in ("PENDING", "COMPLETE"), statuses
    done = _run(work, shared_data, stages, "submit.upload=always")
    assert "skipped (already" in _stage(done, "upload") and len(pd.read_csv(ledger)) == 2, done
    ref = pd.read_csv(ledger, dtype=str).kaggle_ref.tolist()[1]

    ledger.unlink()  # a lost ledger must not spend a second daily submission on the same file
    lost_upload = _run(work, shared_data, stages, "submit.upload=always")
    assert _stage(lost_upload, "upload").endswith(f"skipped (uploaded before as {ref}, but {ledger} has no row for "
                                                  f"it; `kaggle-kit sync` adds it back)"), lost_upload
    assert not ledger.exists()


def test_another_pipelines_report_in_the_same_folder_is_not_taken_for_this_ones(tmp_path, shared_data):
    work = tmp_path / "w"
    stages = "stages=[data,train,predict,report]"
    quick = ["report.synthetic_per_set=0", "report.domain_max_images=200"]
    _run(work, shared_data, stages, *quick)
    assert "-demo-m0-" in (work / "reports" / "gap.md").read_text()
    _run(work, shared_data, stages, *quick, "name=other", "train.seed=1")
    assert "-other-m0-" in (work / "reports" / "gap.md").read_text()
    back = _run(work, shared_data, stages, *quick)
    md = (work / "reports" / "gap.md").read_text()
    assert not _skipped(back, "report") and "-demo-m0-" in md and "-other-m0-" not in md, back


def test_a_state_file_written_before_runs_were_kept_by_key_still_finds_its_run(upto_csv, tmp_path, shared_data,
                                                                            monkeypatch):
    """Old state files keyed training by the whole train and data sections and the competition pickle, and
    stored run folders relative to the current directory: upgrading must not retrain."""
    from kaggle_kit.config import load_pipeline
    from kaggle_kit.pipeline import cifar_fingerprint, data_fingerprints, member_configs, train_keys

    monkeypatch.chdir(tmp_path)
    work = _copy(upto_csv, Path("w"))
    (run,) = _runs(work)
    cfg = load_pipeline(DEMO, [*FAST, UPTO_CSV])
    paths = _demo_data(work, shared_data)
    ((_, mcfg),) = member_configs(cfg)
    _, legacy = train_keys(mcfg, cifar_fingerprint(paths), data_fingerprints(paths)[0])
    state = work / "runs" / "pipelines" / "demo.json"
    state.write_text(json.dumps({"stages": {"train:m0": {"key": legacy, "finished": True,
                                                          "run_dir": f"w/runs/{run}"}}}))
    lines = _run(work, shared_data, UPTO_CSV)
    assert _skipped(lines, "train") and _runs(work) == [run], lines
    assert json.loads(state.read_text())["runs"]  # found by the old key, now kept by the new one


def test_members_that_train_alike_keep_a_run_each(tmp_path, shared_data):
    """Two members differing only in prediction (an ensemble over TTA) train alike: each keeps its own run, and
    a rerun skips both, as before runs were kept by training key."""
    work = tmp_path / "w"
    tta_pair = "members=[{name: plain, set: {predict.tta: none}}, {name: flip, set: {predict.tta: flip}}]"
    stages = "stages=[data,train,predict,ensemble,submission]"
    first = _run(work, shared_data, stages, tta_pair)
    assert len(_runs(work)) == 2 and not _skipped(first, "ensemble"), first
    again = _run(work, shared_data, stages, tta_pair)
    assert all(_skipped(again, s) for s in ("train plain", "train flip", "predict plain", "predict flip",
                                             "ensemble", "submission")), again
    assert len(_runs(work)) == 2


def test_turning_the_bn_reference_on_makes_the_ensemble_again_with_its_members_references(tmp_path, shared_data):
    """Members predicted again with predict.bn_reference on keep their logits bit for bit; keyed by those alone, the
    ensemble of the old predictions (without a reference) was taken as current, and its report never had Ref-Avg."""
    from kaggle_kit.runs import REFERENCE_FILE

    work = tmp_path / "w"
    pair = ["members=[{name: a, set: {train.seed: 0}}, {name: b, set: {train.seed: 1}}]",
            "stages=[data,train,predict,ensemble]", "data.comp_subset=200"]
    first = _run(work, shared_data, *pair)
    (old,) = (work / "ensembles").iterdir()
    assert not (old / REFERENCE_FILE).exists(), first
    before = {r: (work / "runs" / r / "logits_comp.npz").read_bytes() for r in _runs(work)}
    on = _run(work, shared_data, *pair, "predict.bn_reference=true")
    assert _skipped(on, "train a") and not _skipped(on, "predict a") and not _skipped(on, "ensemble"), on
    with_ref = [e for e in (work / "ensembles").iterdir() if (e / REFERENCE_FILE).exists()]
    assert len(with_ref) == 1 and all((work / "runs" / r / REFERENCE_FILE).exists() for r in before)
    for r, comp in before.items():
        with np.load(work / "runs" / r / "logits_comp.npz") as now, np.load(io.BytesIO(comp)) as then:
            assert np.array_equal(now["logits"], then["logits"])
    assert _skipped(_run(work, shared_data, *pair, "predict.bn_reference=true"), "ensemble")


def test_comp_subset_is_the_pipelines_own_not_the_one_the_run_was_trained_with(tmp_path, shared_data):
    """data.comp_subset does not retrain, so the run folder's config.yaml keeps the value of the first run: the
    predict stage must use the pipeline's value, or dropping a smoke test's comp_subset never gives a full CSV."""
    work = tmp_path / "w"
    smoke = _run(work, shared_data, "stages=[data,train,predict]", "data.comp_subset=100")
    (run,) = _runs(work)
    with np.load(work / "runs" / run / "logits_comp.npz") as f:
        assert len(f["ids"]) == 100, smoke
    full = _run(work, shared_data, UPTO_CSV)
    assert _skipped(full, "train") and not _skipped(full, "predict"), full
    (csv,) = (work / "submissions").glob("demo-*.csv")
    assert len(pd.read_csv(csv)) == 10_000
    back = _run(work, shared_data, "stages=[data,train,predict]", "data.comp_subset=100")
    with np.load(work / "runs" / run / "logits_comp.npz") as f:
        assert len(f["ids"]) == 100, back


def test_test_subset_does_not_retrain_and_the_test_logits_are_the_pipelines(tmp_path, shared_data):
    """data.test_subset only picks the images of a run's final test accuracy, never its weights, but it was in the
    training key: changing it trained every member again, to the same weights. A state file that keyed it so still
    finds its run."""
    from kaggle_kit.config import load_pipeline
    from kaggle_kit.pipeline import cifar_fingerprint, key_with_test_subset, member_configs

    work = tmp_path / "w"
    stages = "stages=[data,train,predict]"
    _run(work, shared_data, stages)  # FAST: data.test_subset=500
    (run,) = _runs(work)
    state = work / "runs" / "pipelines" / "demo.json"
    before = json.loads(state.read_text())
    ((_, mcfg),) = member_configs(load_pipeline(DEMO, [*FAST, stages]))
    old_key = key_with_test_subset(mcfg, cifar_fingerprint(_demo_data(work, shared_data)))
    assert old_key != before["stages"]["train:m0"]["key"]
    state.write_text(json.dumps({"stages": {"train:m0": {**before["stages"]["train:m0"], "key": old_key}}}))
    found = _run(work, shared_data, stages)
    assert _skipped(found, "train") and _runs(work) == [run], found

    other = _run(work, shared_data, stages, "data.test_subset=1000")
    assert _skipped(other, "train") and not _skipped(other, "predict") and _runs(work) == [run], other
    with np.load(work / "runs" / run / "logits_test.npz") as f:
        assert len(f["ids"]) == 1000


def test_the_state_file_is_read_under_the_lock_not_before_the_data_stage(tmp_path, shared_data):
    """The lock beside the state file is taken after the data stage, but the state was read before it: a run of
    the same pipeline from another machine (another TMPDIR) that finished while this one read the data was not
    seen, so this one trained its members again and saved its stale state over the other's."""
    work = tmp_path / "w"
    stages = "stages=[data,train,predict]"
    _run(work, shared_data, stages)
    (run,) = _runs(work)
    state = work / "runs" / "pipelines" / "demo.json"
    written = state.read_text()
    state.unlink()  # the other machine's run has not saved its state yet when this one starts

    lines: list[str] = []

    def echo(line: str) -> None:
        lines.append(line)
        if line.startswith("[") and line.split("] ", 1)[1].startswith("data"):  # it saves while this reads data
            state.write_text(written)

    run_demo(DEMO, [*FAST, stages], data_dir=shared_data, workdir=work, progress=False, echo=echo)
    assert _skipped(lines, "train") and _runs(work) == [run], lines


def test_logits_predicted_with_another_comp_subset_than_the_pipelines_are_predicted_again(tmp_path, shared_data):
    """A state file from before predict used the pipeline's comp_subset may hold this key over a subset's logits."""
    work = tmp_path / "w"
    _run(work, shared_data, "stages=[data,train,predict]")
    (run,) = _runs(work)
    manifest = work / "runs" / run / "manifest_predict.json"
    recorded = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**recorded, "comp_subset": 100, "comp_complete": False}))
    again = _run(work, shared_data, "stages=[data,train,predict]")
    assert _skipped(again, "train") and not _skipped(again, "predict"), again
    assert json.loads(manifest.read_text())["comp_complete"] is True


def test_an_ensemble_is_made_again_when_its_members_logits_changed_under_the_same_predict_key(tmp_path, shared_data):
    """What a state file of before the comp_subset fix can hold: the full pipeline's predict keys over a subset's
    logits, and the ensemble of those. The predict stage makes the logits again; the ensemble must follow."""
    from kaggle_kit.config import EnsembleConfig, config_hash
    from kaggle_kit.data import load_cifar10, load_competition
    from kaggle_kit.ensemble import ensemble_runs
    from kaggle_kit.fsio import sha256_file
    from kaggle_kit.predict import predict_run

    work = tmp_path / "w"
    pair = "members=[{name: a}, {name: b, set: {train.seed: 1}}]"
    stages = "stages=[data,train,predict,ensemble,submission]"
    _run(work, shared_data, stages, pair)
    paths = _demo_data(work, shared_data)
    data, comp = load_cifar10(paths.cifar_dir), load_competition(paths.comp_pickle)
    state_file = work / "runs" / "pipelines" / "demo.json"
    state = json.loads(state_file.read_text())
    folders = [work / "runs" / r for r in _runs(work)]
    for folder in folders:
        predict_run(folder, data, comp, PredictConfig(tta="none"), device="cpu", comp_subset=100)
    ens_dir = work / state["stages"]["ensemble"]["dir"]
    ensemble_runs(folders, "mean_probs", ens_dir.name, out_root=ens_dir.parent, replace=True)
    for entry in state["stages"].values():
        outputs = entry.get("outputs") or {}
        for rel in outputs:
            outputs[rel] = sha256_file(work / rel)
    state["stages"].pop("submission")
    # the key the ensemble stage recorded before: a hash of the members' predict keys, blind to their logits
    old_key = config_hash({"members": [state["stages"][f"predict:{m}"]["key"] for m in "ab"],
                           "ensemble": EnsembleConfig(method="mean_probs")})
    state["stages"]["ensemble"]["key"] = old_key
    state_file.write_text(json.dumps(state))

    again = _run(work, shared_data, stages, pair)
    assert not _skipped(again, "predict a") and not _skipped(again, "ensemble"), again
    (csv,) = (work / "submissions").glob("demo-*.csv")
    assert len(pd.read_csv(csv)) == 10_000


def test_a_pipelines_dry_run_names_the_pipeline_again_not_a_bare_csv_upload(tmp_path, shared_data, monkeypatch,
                                                                            capsys):
    """A bare `kaggle-kit submit FILE.csv` would upload without the runs, recipe and predictions the pipeline
    records; the pipeline again (with uploads allowed) uploads the same CSV with them."""
    import shlex

    from kaggle_kit.cli import main

    monkeypatch.chdir(tmp_path)
    sets = [a for kv in [*FAST, "stages=[data,train,predict,submission,upload]", "submit.upload=never"]
            for a in ("--set", kv)]
    assert main(["run", str(DEMO), *sets, "--data-dir", str(shared_data), "--no-progress"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("to upload it: "))
    argv = shlex.split(line.removeprefix("to upload it: "))
    assert argv[:3] == ["kaggle-kit", "run", str(DEMO)] and "submit.upload=never" not in argv
    assert argv[-2:] == ["--set", "submit.upload=auto"]
