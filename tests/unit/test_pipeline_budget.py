"""The pipeline's parts, without training: its members' parameter budget (checked before the data is even looked
for), the stage cache and its keys, the pre-flight checks, and the plan of which runs to train, resume or reuse."""
import pytest

from kaggle_kit.config import load_pipeline
from kaggle_kit.errors import ConfigError, DataNotFoundError, ParameterBudgetError
from kaggle_kit.pipeline import check_member_models, member_configs, run_pipeline


def test_the_default_ensemble_states_its_total_parameters_before_training(tmp_path):
    """default.yaml ensembles three seed000 models: 14,680,698 trainable parameters behind one submission,
    said at the start of `make submit`, not only in a YAML comment."""
    cfg = load_pipeline("pipelines/default.yaml")
    assert check_member_models(member_configs(cfg)) == [4_893_566] * 3
    lines: list[str] = []
    with pytest.raises(DataNotFoundError):
        run_pipeline(cfg, data_dir=tmp_path / "no-data-here", workdir=tmp_path, progress=False, echo=lines.append)
    assert lines[0].startswith("note: these predictions come from 3 models with 14,680,698 trainable parameters")
    assert lines[0].endswith("submit one model: `kaggle-kit submit --from RUN -m MSG` with one member's run "
                             "folder once it is trained")


def test_a_member_over_the_budget_stops_the_pipeline_before_any_member_trains(tmp_path):
    cfg = load_pipeline("pipelines/default.yaml", overrides=["model.name=timm/resnet50"])
    with pytest.raises(ParameterBudgetError, match=r"model timm/resnet50 has [\d,]+ trainable parameters, over the "
                                                   r"budget of 5,000,000"):
        run_pipeline(cfg, data_dir=tmp_path / "no-data-here", workdir=tmp_path, progress=False)
    assert not (tmp_path / "runs").exists()


def test_a_huge_width_is_refused_before_the_model_is_allocated():
    """build_model built the real model before checking the budget: checks before data build on the meta device,
    but `train --resume` reads the run's config.yaml without them, and a width of 1,000,000 there asked the
    allocator for 72 TB (a width of 20,000 would allocate and initialise 58 GB) before the budget said no. Widths
    over 185,185 are now refused by the argument check itself; 100,000 would still ask for 3.6 TB."""
    from kaggle_kit.train.loop import build_model

    cfg = load_pipeline("pipelines/demo.yaml", overrides=["model.name=tinycnn", "model.kwargs.width=100000"])
    with pytest.raises(ParameterBudgetError, match=r"model tinycnn has 900,008,100,010 trainable parameters, "
                                                   r"over the budget of 5,000,000"):
        build_model(cfg, 10)


def test_the_meta_budget_check_leaves_the_seeded_initialisation_alone():
    """build_model builds on the meta device before the real model: the CPU generator must not move, or every
    seeded run's initial weights would change."""
    import torch

    from kaggle_kit.models import create_model
    from kaggle_kit.train.loop import build_model

    cfg = load_pipeline("pipelines/demo.yaml", overrides=["model.name=tinycnn", "model.kwargs={}"])
    torch.manual_seed(0)
    built = build_model(cfg, 10)[0].state_dict()
    torch.manual_seed(0)
    plain = create_model("tinycnn", num_classes=10, **({} if cfg.train.dropout is None else
                                                        {"dropout": cfg.train.dropout})).state_dict()
    assert all(torch.equal(built[k], plain[k]) for k in plain)


def test_a_model_that_cannot_train_on_one_image_is_refused_when_batch_size_is_one():
    """timm/rexnet_100 has BatchNorm on a 1x1 map (its SE gate): with train.batch_size 1 every training step
    raised "Expected more than 1 value per channel when training", after the data was read; the pre-flight
    forward used 2 images."""
    with_one = load_pipeline("pipelines/demo.yaml", overrides=["model.name=timm/rexnet_100", "model.kwargs={}",
                                                               "train.batch_size=1"])
    with pytest.raises(ConfigError, match=r"^model 'timm/rexnet_100' cannot train on batches of one image \("
                                          r"Expected more than 1 value per channel when training.*\); raise "
                                          r"train.batch_size$"):
        check_member_models([("one", with_one)])
    assert check_member_models([("two", load_pipeline("pipelines/demo.yaml", overrides=[
        "model.name=tinycnn", "model.kwargs={}", "train.batch_size=1"]))]) == [24_346]


def test_adapting_batchnorm_is_refused_before_any_member_trains_when_the_model_has_none(tmp_path):
    """predict.adapt_bn on a model without BatchNorm (timm/convnext_atto has LayerNorm) would fail at the predict
    stage, after every member trained: the pre-flight refuses it."""
    cfg = load_pipeline("pipelines/demo.yaml", overrides=["model.name=timm/convnext_atto", "model.kwargs={}",
                                                          "predict.adapt_bn=true"])
    with pytest.raises(ConfigError, match=r"predict.adapt_bn: model timm/convnext_atto has no BatchNorm layer to "
                                          r"adapt; set predict.adapt_bn: false$"):
        run_pipeline(cfg, data_dir=tmp_path / "no-data-here", workdir=tmp_path, progress=False)
    assert not (tmp_path / "runs").exists()
    with_bn = load_pipeline("pipelines/demo.yaml", overrides=["model.name=tinycnn", "model.kwargs={}",
                                                              "predict.adapt_bn=true"])
    assert check_member_models([("one", with_bn)]) == [24_346]


def _count_builds(monkeypatch) -> list[str]:
    """Every model build from here on (the meta-device ones included), by model name."""
    import kaggle_kit.models as models

    built: list[str] = []
    real = models.create_model
    monkeypatch.setattr(models, "create_model", lambda name, *a, **k: built.append(name) or real(name, *a, **k))
    return built


def test_the_pre_flight_builds_each_members_model_once(monkeypatch):
    """check_member_models called build_model inside a meta-device context, and build_model builds on the meta
    device once itself before its real build: each member was built twice, both on the meta device."""
    built = _count_builds(monkeypatch)
    cfg = load_pipeline("pipelines/demo.yaml", overrides=["model.name=tinycnn", "model.kwargs={}"])
    assert check_member_models(member_configs(cfg)) == [24_346, 24_346]
    assert built == ["tinycnn", "tinycnn"]


def _demo_without_work(tmp_path, shared_data, monkeypatch, **options) -> dict:
    """run_demo up to the end of run_pipeline's pre-flight (the fake Kaggle started); returns what the rest of
    the run would have been handed."""
    from kaggle_kit import demo, pipeline

    seen: dict = {}

    def no_work(cfg, members, **kwargs):  # everything after the pre-flight: not what these tests are about
        seen.update(kwargs, members=members)
        return "outcome"

    monkeypatch.setattr(pipeline, "_run_pipeline", no_work)
    assert demo.run_demo(None, ["model.name=tinycnn", "model.kwargs={}"], data_dir=shared_data,
                         workdir=tmp_path / "w", progress=False, echo=lambda _: None, **options) == "outcome"
    return seen


def test_the_demo_runs_its_pre_flight_once(tmp_path, shared_data, monkeypatch):
    """The demo ran the pre-flight before its folder and fake Kaggle, then run_pipeline ran it again: four builds
    of each member's model where one does."""
    built = _count_builds(monkeypatch)
    seen = _demo_without_work(tmp_path, shared_data, monkeypatch)
    assert [name for name, _ in seen["members"]] == ["s0", "s1"] and seen["parallel"][0] == 1  # CPU: auto is 1
    assert built == ["tinycnn", "tinycnn"]


def test_the_demos_parallel_members_reaches_the_run(tmp_path, shared_data, monkeypatch):
    assert _demo_without_work(tmp_path, shared_data, monkeypatch, parallel_members="2")["parallel"][0] == 2


@pytest.mark.parametrize("forward, error", [
    (lambda x: x.flatten(1)[:, :5], r"^model 'm' with model.kwargs \{'width': 3\} gives outputs of shape \(2, 5\) "
                                    r"for 2 images, not \(2, 10\)$"),
    (lambda x: x.flatten(1) @ x.flatten(1), r"^model 'm' with model.kwargs \{'width': 3\} cannot classify a 32x32 "
                                            r"image \(.+\); fix model.kwargs$"),
    (lambda x: x.flatten(1)[:, :10], None),
])
def test_the_forward_check_refuses_a_wrong_output_shape_or_a_shape_error(forward, error):
    """Dropping the output-shape check, or taking torch's shape errors for a missing meta kernel, would let a model
    that cannot classify ten classes through the pre-flight, to fail after the data is read."""
    import torch

    from kaggle_kit.pipeline import _check_forward

    class Model(torch.nn.Module):
        def forward(self, x):
            return forward(x)

    if error is None:
        _check_forward(Model(), "m", {"width": 3})
    else:
        with pytest.raises(ConfigError, match=error):
            _check_forward(Model(), "m", {"width": 3})


def test_a_members_model_error_names_the_member_and_keeps_its_class():
    """Raising a member's error as it is would leave the user to guess which of several members is over budget."""
    ok = load_pipeline("pipelines/demo.yaml", overrides=["model.name=tinycnn", "model.kwargs={}"])
    big = load_pipeline("pipelines/demo.yaml", overrides=["model.name=tinycnn", "model.kwargs.width=100000"])
    with pytest.raises(ParameterBudgetError, match=r"^member 'big': model tinycnn has 900,008,100,010 trainable "):
        check_member_models([("ok", ok), ("big", big)])


@pytest.mark.parametrize("stages, error", [
    ("[data, predict]", r"^a pipeline must list at least the 'data' and 'train' stages$"),
    ("[data, train, sync]", r"ledger.csv: header is not a kaggle-kit ledger's"),
])
def test_the_pre_flight_refuses_a_pipeline_without_training_or_syncing_into_a_bad_ledger(tmp_path, stages, error):
    """Checking only for 'data', or the ledger only when uploading, would let a pipeline that trains nothing, or a
    sync into a broken ledger, through to the data stage (and hours of training)."""
    from kaggle_kit.errors import UsageError
    from kaggle_kit.pipeline import _preflight

    (tmp_path / "submissions").mkdir()
    (tmp_path / "submissions" / "ledger.csv").write_text("not,a,ledger\n")
    cfg = load_pipeline("pipelines/demo.yaml", overrides=[f"stages={stages}", "model.name=tinycnn", "model.kwargs={}"])
    with pytest.raises(UsageError, match=error):
        _preflight(cfg, workdir=tmp_path, echo=print, kaggle_env=None)


def test_the_pre_flight_uses_earlier_checks_only_of_the_same_config_and_notes_two_members(tmp_path):
    """Findings of another config taken as this one's would train the wrong members; the combined-parameters
    note left to ensembles of three or more would say nothing of two members over the budget together."""
    from kaggle_kit.pipeline import Checked, _preflight

    cfg = load_pipeline("pipelines/default.yaml", overrides=["stages=[data, train, predict, ensemble]"])
    two = member_configs(cfg)[:2]
    lines: list[str] = []
    assert _preflight(cfg, workdir=tmp_path, echo=lines.append, kaggle_env=None,
                      checked=Checked(cfg, two, [4_893_566] * 2, (1, [])))[0] == two
    assert lines[0].startswith("note: these predictions come from 2 models with 9,787,132 trainable parameters")
    stale = Checked(load_pipeline("pipelines/default.yaml"), two, [4_893_566] * 2, (1, []))
    members, _ = _preflight(cfg, workdir=tmp_path, echo=lines.append, kaggle_env=None, checked=stale)
    assert [name for name, _ in members] == [name for name, _ in member_configs(cfg)] and len(members) == 3


# ------------------------------------------------------------------ the stage cache: state file, keys, planning
def _state(tmp_path):
    from kaggle_kit.pipeline import PipelineState

    return PipelineState(tmp_path / "runs" / "pipelines" / "p.json", tmp_path)


def test_a_state_file_keeps_only_its_well_formed_entries(tmp_path):
    """Loading kept a non-dict stage entry, which done() and run_for() then call .get on: one hand-edited line
    stopped every later run with an AttributeError."""
    from kaggle_kit.pipeline import PipelineState

    path = tmp_path / "p.json"
    path.write_text('{"stages": {"data": {"key": "k"}, "train:m0": 3}, "runs": ["x"]}', encoding="utf-8")
    state = PipelineState.load(path, tmp_path)
    assert (state.stages, state.runs) == ({"data": {"key": "k"}}, {})
    assert state.done("train:m0", "k") is None


@pytest.mark.parametrize("change, reused", [("nothing", True), ("key", False), ("unfinished", False),
                                            ("output edited", False), ("output removed", False)])
def test_a_stage_is_done_only_with_its_key_finished_and_its_outputs_as_recorded(tmp_path, change, reused):
    """Dropping the key, the finished flag, the sha256 or the existence check from done() would skip a stage whose
    inputs or outputs changed (a CSV edited by hand uploaded as the pipeline's)."""
    state = _state(tmp_path)
    out = tmp_path / "submissions" / "p.csv"
    out.parent.mkdir(parents=True)
    out.write_text("ID,Labels\n0,1\n")
    state.mark("submission", "k1", finished=change != "unfinished", outputs=[out], csv=out)
    assert state.stages["submission"]["csv"] == "submissions/p.csv"  # kept relative to the work folder
    if change == "output edited":
        out.write_text("ID,Labels\n0,2\n")
    elif change == "output removed":
        out.unlink()
    entry = state.done("submission", "k2" if change == "key" else "k1", [out])
    assert (entry is not None) == reused


def test_paths_outside_the_work_folder_stay_whole_and_old_relative_ones_are_found(tmp_path, monkeypatch):
    """relative() cutting an outside path to its name, or resolve() dropping the fallback to a path relative to
    the current directory (state files of before), would lose a run folder and train it again."""
    from pathlib import Path

    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    (elsewhere / "runs" / "r1").mkdir(parents=True)
    work.mkdir()
    state = _state(work)
    assert state.relative(elsewhere / "runs" / "r1") == str(elsewhere / "runs" / "r1")
    assert state.relative(work / "runs" / "r1") == "runs/r1"
    monkeypatch.chdir(elsewhere)
    assert state.resolve("runs/r1") == Path("runs/r1")          # only there: an older state file's path
    (work / "runs" / "r1").mkdir(parents=True)
    assert state.resolve("runs/r1") == work / "runs" / "r1"     # under the work folder first


def test_a_training_run_another_member_took_is_not_reused(tmp_path):
    """run_for ignoring ``taken`` would give two members that train alike (and predict differently) one folder."""
    state = _state(tmp_path)
    state.mark_run("tk", tmp_path / "runs" / "r1", finished=True)
    assert state.run_for("tk", "train:b", "old", taken=set())["run_dir"] == "runs/r1"
    assert state.run_for("tk", "train:b", "old", taken={tmp_path / "runs" / "r1"}) is None


def test_progress_numbers_each_stage_once_and_names_side_by_side_ones_by_their_start():
    """A skip that did not count, or a finish numbered by the last start rather than its own, would print
    [2/3] twice or a member's line under another's number."""
    from kaggle_kit.pipeline import Progress

    lines: list[str] = []
    prog = Progress(4, lines.append)
    prog.skip("data", "why")
    prog.start("train a -> x", key="train a")
    prog.start("train b -> y", key="train b")
    prog.finish("train a", None, "holdout 50.00%")
    prog.skip("predict")
    assert [line.split(" done in ")[0] for line in lines] == [
        "[1/4] data skipped (why)", "[2/4] train a -> x ...", "[3/4] train b -> y ...", "[2/4] train a",
        "[4/4] predict skipped (inputs unchanged)"]
    assert lines[3].endswith(": holdout 50.00%") and prog.timings["data"] == 0.0


def test_logits_without_a_predict_manifest_are_not_taken_for_a_full_prediction(tmp_path):
    """Reading a missing manifest's comp_subset as None (every image) would skip predicting again over logits of
    unknown subset, and the CSV could miss rows."""
    from kaggle_kit.pipeline import _predicted_subset

    assert _predicted_subset(tmp_path) == "unknown"


def test_upload_never_is_a_dry_run_and_auto_with_credentials_is_not(monkeypatch, tmp_path):
    """A flipped _would_dry_run would take a recorded dry run for the upload asked for, or the reverse."""
    from kaggle_kit.pipeline import _would_dry_run

    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path))  # no kaggle.json of the machine's
    for var in ("KAGGLE_USERNAME", "KAGGLE_KEY"):
        monkeypatch.delenv(var, raising=False)
    creds = {"KAGGLE_USERNAME": "u", "KAGGLE_KEY": "k"}
    assert (_would_dry_run("never", creds), _would_dry_run("auto", creds), _would_dry_run("auto", {})) == \
        (True, False, True)


def test_the_training_fingerprint_leaves_the_competition_pickle_out(tmp_path):
    """Swapping the two fingerprints, or hashing the pickle into both, would retrain every member for a new
    competition pickle or never re-predict for one."""
    import hashlib
    import json
    from types import SimpleNamespace

    from kaggle_kit.pipeline import cifar_fingerprint, data_fingerprints

    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for n in names:
        (tmp_path / n).write_bytes(n.encode())
    (tmp_path / "comp.pkl").write_bytes(b"comp")
    paths = SimpleNamespace(cifar_dir=tmp_path, comp_pickle=tmp_path / "comp.pkl")
    files = {n: hashlib.sha256(n.encode()).hexdigest() for n in names}
    batches_only = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
    with_comp = hashlib.sha256(json.dumps({**files, "comp.pkl": hashlib.sha256(b"comp").hexdigest()},
                                          sort_keys=True).encode()).hexdigest()[:16]
    assert data_fingerprints(paths) == (with_comp, batches_only)
    assert (data_fingerprints(paths)[0], cifar_fingerprint(paths)) == (with_comp, batches_only)


def _plan(tmp_path, overrides=(), record=None):
    """_plan_training for fast.yaml's one member, after ``record(state, folder, train_key, legacy_key, mcfg)``
    wrote what an earlier run left; returns (folder, job, state, lines, the run folder recorded)."""
    from kaggle_kit.pipeline import Progress, _plan_training, train_keys

    cfg = load_pipeline("pipelines/fast.yaml", overrides=list(overrides))
    state, folder = _state(tmp_path), tmp_path / "runs" / "r1"
    folder.mkdir(parents=True)
    (folder / "model.pt").write_bytes(b"weights")
    record(state, folder, *train_keys(cfg, "cfp", "dfp"), cfg)
    lines: list[str] = []
    planned, job = _plan_training(state, "m0", cfg, cfg, tmp_path, "cfp", "dfp", set(), "train",
                                  Progress(3, lines.append), lines.append)
    return planned, job, state, lines, folder


@pytest.mark.parametrize("how", ["by key", "by the key of before", "by the key with data.test_subset"])
def test_a_finished_intact_run_is_reused_and_recorded_under_todays_key(tmp_path, how):
    """Skipping the old-key or test_subset look-up, or not recording the run under today's key, would train a
    member again (hours) that a state file of before recorded as trained."""
    from kaggle_kit.pipeline import key_with_test_subset

    def record(state, folder, key, legacy, cfg):
        if how == "by the key of before":
            state.mark("train:m0", legacy, finished=True, outputs=[folder / "model.pt"], run_dir=folder)
        else:
            state.mark_run(key if how == "by key" else key_with_test_subset(cfg, "cfp"), folder, finished=True,
                           outputs=[folder / "model.pt"])

    overrides = ["data.test_subset=500"] if how.endswith("test_subset") else []
    planned, job, state, lines, folder = _plan(tmp_path, overrides, record)
    key = state.stages["train:m0"]["key"]
    assert (planned, job) == (folder, None) and lines == [f"[1/3] train skipped (inputs unchanged; {folder})"]
    assert state.runs[key]["run_dir"] == "runs/r1" and state.stages["train:m0"]["finished"]


@pytest.mark.parametrize("select_best", [False, True])
def test_a_finished_run_whose_model_changed_resumes_or_starts_over(tmp_path, select_best):
    """Reusing a model.pt changed since training (or resuming a select_best run, whose best weights last.pt cannot
    restore) would submit weights the recorded training did not produce."""
    def record(state, folder, key, legacy, cfg):
        state.mark_run(key, folder, finished=True, outputs=[folder / "model.pt"])
        (folder / "model.pt").write_bytes(b"edited")
        (folder / "last.pt").write_bytes(b"last")

    planned, job, _, lines, folder = _plan(tmp_path, [f"train.select_best={str(select_best).lower()}"], record)
    assert not (folder / "model.pt").exists() and job is not None and planned == job.run_dir
    if select_best:
        assert planned.parent == tmp_path / "runs" and planned != folder and not job.resume
        assert lines[0].endswith("which last.pt cannot restore, so train starts again in a new folder")
    else:
        assert (planned, job.resume, lines) == (folder, True, [])


@pytest.mark.parametrize("last", [False, True])
def test_an_unfinished_run_resumes_only_from_a_last_pt(tmp_path, last):
    """Resuming a folder without last.pt would fail in training instead of starting the run in it."""
    def record(state, folder, key, legacy, cfg):
        state.mark_run(key, folder, finished=False)
        (folder / "model.pt").unlink()
        if last:
            (folder / "last.pt").write_bytes(b"last")

    planned, job, *_ , folder = _plan(tmp_path, (), record)
    assert (planned, job.run_dir, job.resume) == (folder, folder, last)


def _late_stages(tmp_path, monkeypatch):
    """_run_pipeline from predict on, with a fake prediction (logits holding ``fake['logits']``), CSV, dry-run
    upload and report; returns (run, fake): run(*overrides, stages=..., members=...) runs it and returns the stages
    that did work, the outcome and the lines it printed."""
    from types import SimpleNamespace

    from kaggle_kit import ledger, pipeline, predict, submission, upload
    from kaggle_kit.gap import report
    from kaggle_kit.config import PipelineConfig, apply_overrides, from_dict, to_dict

    fake, calls = {"logits": "a"}, []
    comp = SimpleNamespace(ids=[0, 1])
    monkeypatch.setattr(pipeline, "read_data", lambda d, c: (SimpleNamespace(root=tmp_path), SimpleNamespace(
        train_labels=[0], test_labels=[0]), comp, "f" * 64, "c" * 64))
    folder = tmp_path / "runs" / "m"
    folder.mkdir(parents=True)
    (folder / "model.pt").write_text("weights")
    monkeypatch.setattr(pipeline, "_plan_training", lambda *a: (folder, None))
    monkeypatch.setattr(pipeline, "_predicted_subset", lambda f: None)

    def predict_run(folder, *a, **k):
        calls.append("predict")
        for s in ("holdout", "test", "comp"):
            (folder / f"logits_{s}.npz").write_text(fake["logits"])
        return {s: SimpleNamespace(accuracy=0.5) for s in ("holdout", "test")}

    def write_csv(final_dir, csv, force):
        calls.append("submission")
        csv.parent.mkdir(parents=True, exist_ok=True)
        csv.write_text((final_dir / "logits_comp.npz").read_text())

    def dry_run(csv, cfg, *a, workdir, **k):
        calls.append("upload")
        return ledger.append_row(workdir / "submissions" / "ledger.csv", file=csv.name, status=ledger.DRY_RUN,
                                 sha256=pipeline.sha256_file(csv), competition=cfg.submit.competition)

    def build_report(dirs, ledger_path, data, comp, out, *a):
        calls.append("report")
        out.mkdir(exist_ok=True)
        for name in ("gap.html", "gap.md"):
            (out / name).write_text("report")
        return out / "gap.html"

    monkeypatch.setattr(predict, "predict_run", predict_run)
    monkeypatch.setattr(predict, "submission_from_run", write_csv)
    monkeypatch.setattr(submission, "check_submission", lambda csv, ids: None)
    monkeypatch.setattr(upload, "submit_pipeline_csv", dry_run)
    monkeypatch.setattr(report, "build_report", build_report)

    def run(*overrides, stages="[data,predict,submission,upload,report]", members=("m",)):
        calls.clear()
        lines: list[str] = []
        raw = apply_overrides(to_dict(PipelineConfig()), [f"stages={stages}", "submit.upload=never", *overrides])
        cfg = from_dict(PipelineConfig, raw)
        out = pipeline._run_pipeline(cfg, [(m, cfg) for m in members], data_dir=None, workdir=tmp_path,
                                     progress=False, echo=lines.append, kaggle_env={}, again=None,
                                     take_lock=lambda: None)
        return list(calls), out, lines

    return run, fake


def test_late_stages_rerun_exactly_when_their_inputs_change(tmp_path, monkeypatch):
    """A stage key missing the model, predict settings, logits or ledger, a dropped report.enabled, or a dry run taken
    for any CSV's, would keep a stale CSV or report (or skip an upload); unchanged inputs must do no work."""
    from kaggle_kit.ledger import DRY_RUN, append_row

    run, fake = _late_stages(tmp_path, monkeypatch)
    assert run()[0] == ["predict", "submission", "upload", "report"]
    calls, out, _ = run()
    assert calls == [] and out.ledger_row["status"] == DRY_RUN and out.csv.read_text() == "a"
    fake["logits"] = "b"
    calls, out, _ = run("predict.tta=none")
    assert calls == ["predict", "submission", "upload", "report"] and out.csv.read_text() == "b"
    append_row(tmp_path / "submissions" / "ledger.csv", file="other.csv", status="complete")  # a sync, say
    assert run("predict.tta=none")[0] == ["report"]
    (tmp_path / "runs" / "m" / "model.pt").write_text("retrained")  # the same logits: only predict runs again
    assert run("predict.tta=none")[0] == ["predict"]
    append_row(tmp_path / "submissions" / "ledger.csv", file="more.csv", status="complete")
    assert run("predict.tta=none", "report.enabled=false")[0] == []


def test_the_ensemble_stage_combines_two_members_into_the_final_logits_and_skips_one(tmp_path, monkeypatch):
    """An ensemble of one member built, an ensemble key without the method, the CSV made from the first member's
    logits, or a sync stage that says nothing (or runs only with upload) would each go unseen."""
    from kaggle_kit import ensemble, pipeline, upload

    run_stages, _ = _late_stages(tmp_path, monkeypatch)
    built = []

    def ensemble_runs(dirs, method, name, out_root, replace):
        built.append((dirs, method))
        (out_root / name).mkdir(parents=True, exist_ok=True)
        for n in ("logits_holdout.npz", "logits_comp.npz", "ensemble.json"):
            (out_root / name / n).write_text(f"ensemble {method}")
        return out_root / name

    monkeypatch.setattr(ensemble, "ensemble_runs", ensemble_runs)
    monkeypatch.setattr(upload, "sync_ledger_if_possible", lambda *a, **k: "3 submissions on Kaggle")
    monkeypatch.setattr(pipeline, "_plan_training", lambda state, name, *a: (tmp_path / "runs" / name, None))
    (tmp_path / "runs" / "n").mkdir()
    (tmp_path / "runs" / "n" / "model.pt").write_text("weights")

    def run(names, *overrides):
        built.clear()
        _, out, lines = run_stages(*overrides, stages="[data,predict,ensemble,submission,sync]", members=names)
        return out, [line.split("] ", 1)[1] for line in lines if "] ensemble" in line or "] sync" in line], built

    members = [tmp_path / "runs" / "m", tmp_path / "runs" / "n"]
    out, lines, calls = run("mn")
    assert calls == [(members, "mean_probs")] and out.csv.read_text() == "ensemble mean_probs"
    assert lines[0] == "ensemble (mean_probs, 2 members) ..." and lines[-1].endswith(" s: 3 submissions on Kaggle")
    out, lines, calls = run("mn")
    assert calls == [] and lines[0] == "ensemble skipped (inputs unchanged)"
    out, lines, calls = run("mn", "ensemble.method=vote")
    assert calls == [(members, "vote")] and out.csv.read_text() == "ensemble vote"
    out, lines, calls = run("m")
    assert calls == [] and out.final_dir == members[0]
    assert lines[0] == "ensemble skipped (one member: its logits are the final logits)"
