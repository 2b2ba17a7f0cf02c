"""The pipeline checks its members' parameter budget before the data is even looked for."""
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
