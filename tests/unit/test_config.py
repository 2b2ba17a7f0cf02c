"""Pipeline YAML -> frozen configs: unknown keys, wrong types and bad overrides are one-line errors."""
from __future__ import annotations

import dataclasses

import pytest

from kaggle_kit.config import (PipelineConfig, config_hash, from_dict, load_pipeline, model_kwargs, parse_override,
                               to_dict)
from kaggle_kit.errors import ConfigError


def _yaml(tmp_path, text):
    p = tmp_path / "p.yaml"
    p.write_text(text)
    return p


def test_loads_nested_sections_and_coerces_yaml_scalars(tmp_path):
    cfg = load_pipeline(_yaml(tmp_path, """
name: t
model: {name: tinycnn, kwargs: {width: 8}}
train:
  epochs: 3
  optimizer: {name: adam, lr: 1e-3, betas: [0.9, 0.99]}
  schedule: {name: step, milestones: [1, 2]}
members: [{name: a, set: {train.seed: 1}}]
"""))
    assert cfg.train.optimizer.lr == 0.001 and cfg.train.optimizer.betas == (0.9, 0.99)
    assert cfg.train.schedule.milestones == (1, 2) and cfg.model.kwargs["width"] == 8
    assert cfg.members[0].set["train.seed"] == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.train.epochs = 5


def test_unknown_key_names_key_and_valid_ones(tmp_path):
    p = _yaml(tmp_path, "train: {epochz: 3}\n")
    with pytest.raises(ConfigError) as info:
        load_pipeline(p)
    msg = str(info.value)
    assert msg.startswith(f"{p}: unknown key 'train.epochz' (valid keys: epochs, batch_size,")


@pytest.mark.parametrize("text,match", [
    ("train: {epochs: three}\n", r"train\.epochs: expected an integer, found 'three'"),
    ("train: {amp: 'yes'}\n", r"train\.amp: expected true or false"),
    ("train: [1, 2]\n", r"train: expected a mapping, found list"),
    ("train: {optimizer: {betas: [0.9]}}\n", r"train\.optimizer\.betas: expected 2 items, found 1"),
    ("- a\n- b\n", r"expected a mapping at the top level, found list"),
    ("train: {epochs: [\n", r"not valid YAML at line"),
])
def test_bad_values_are_one_line_errors(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match) as info:
        load_pipeline(_yaml(tmp_path, text))
    assert "\n" not in str(info.value)


def test_overrides_apply_with_types_and_are_validated(tmp_path):
    p = _yaml(tmp_path, "train: {epochs: 3}\n")
    cfg = load_pipeline(p, ["train.epochs=7", "train.optimizer.lr=0.05", "model.name=resnet8"])
    assert (cfg.train.epochs, cfg.train.optimizer.lr, cfg.model.name) == (7, 0.05, "resnet8")
    with pytest.raises(ConfigError, match="unknown key 'train.nope'"):
        load_pipeline(p, ["train.nope=1"])
    with pytest.raises(ConfigError, match="must look like key.path=value"):
        parse_override("train.epochs")
    with pytest.raises(ConfigError, match="no such pipeline file"):
        load_pipeline(tmp_path / "missing.yaml")


def test_hash_is_stable_and_sensitive():
    a, b = PipelineConfig(), PipelineConfig()
    assert config_hash(a) == config_hash(b) and len(config_hash(a)) == 7
    c = dataclasses.replace(a, name="other")
    assert config_hash(c) != config_hash(a)
    assert to_dict(a)["train"]["optimizer"]["betas"] == [0.9, 0.999]


def test_shipped_pipelines_all_load():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "pipelines"
    files = sorted(root.glob("*.yaml"))
    for f in files:
        load_pipeline(f)


# The keys of shipped pipelines as computed on main before train.select_by and train.early_stop_patience_epochs
# existed (commit 4246620): run names, the pipeline's stage cache, --resume and the ledger's recipe keys are
# found by them, so a setting added with a default must leave every one unchanged.
_KEYS_BEFORE = {
    "demo": {"config_hash": "fc17525", "training_key": ["39dd6d3", "d147051"],
             "legacy_training_key": ["588eefa", "5034d0f"],
             "train_keys": [["6490d7b", "ea76d24"], ["77107ef", "24974ae"]],
             "recipe_keys": [["e4148b238ec5", "bf76b0c19eac"]] * 2},
    "fast": {"config_hash": "321d88c", "training_key": ["fd3c5c0"], "legacy_training_key": ["7930337"],
             "train_keys": [["24e04eb", "485c59b"]], "recipe_keys": [["51d28baa4915", "63ad6cd1603a"]]},
}


def _keys(cfg: PipelineConfig, tmp_path) -> dict:
    import yaml

    from kaggle_kit.config import member_config
    from kaggle_kit.pipeline import train_keys
    from kaggle_kit.runs import recipe_keys
    from kaggle_kit.train.loop import training_key

    members = [member_config(cfg, m) for m in cfg.members] or [cfg]
    recipes = []
    for i, m in enumerate(members):
        folder = tmp_path / f"m{i}"
        folder.mkdir()
        (folder / "config.yaml").write_text(yaml.safe_dump(to_dict(m), sort_keys=False))  # as train_run writes it
        keys = recipe_keys(folder)
        recipes.append([keys.exact, keys.except_smoothing])
    return {"config_hash": config_hash(cfg), "training_key": [training_key(m) for m in members],
            "legacy_training_key": [training_key(m, legacy=True) for m in members],
            "train_keys": [list(train_keys(m, "cfp", "dfp")) for m in members], "recipe_keys": recipes}


@pytest.mark.parametrize("name", sorted(_KEYS_BEFORE))
def test_settings_added_with_defaults_leave_existing_keys_unchanged(tmp_path, name):
    from pathlib import Path

    cfg = load_pipeline(Path(__file__).resolve().parents[2] / "pipelines" / f"{name}.yaml")
    assert _keys(cfg, tmp_path) == _KEYS_BEFORE[name]
    assert config_hash(PipelineConfig()) == "2f32441"
    # written out, the new settings appear in config.yaml (and so in the manifest) all the same
    assert {"select_by", "early_stop_patience_epochs"} <= set(to_dict(cfg)["train"])


@pytest.mark.parametrize("setting", ["select_by=holdout_loss", "early_stop_patience_epochs=5"])
def test_a_new_setting_away_from_its_default_changes_the_keys(tmp_path, setting):
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "pipelines" / "fast.yaml"
    cfg = load_pipeline(path, ["train.select_best=true", f"train.{setting}"])
    base = load_pipeline(path, ["train.select_best=true"])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    changed, before = _keys(cfg, tmp_path / "a"), _keys(base, tmp_path / "b")
    assert all(changed[k] != before[k] for k in changed), (changed, before)
    # and set to its default, a setting keys as if it were not written at all
    default = "holdout_accuracy" if setting.startswith("select_by") else "null"
    same = load_pipeline(path, ["train.select_best=true", f"train.{setting.split('=')[0]}={default}"])
    assert config_hash(same) == config_hash(base)
    (tmp_path / "c").mkdir()
    assert _keys(same, tmp_path / "c") == before  # the training keys too: no run trained again


def test_the_test_subset_does_not_change_the_training_key():
    """data.test_subset picks only the images of a run's final test accuracy; it was in the training key, so
    changing it trained every member again to the same weights. Unset, it keys as before (_KEYS_BEFORE)."""
    from pathlib import Path

    from kaggle_kit.pipeline import key_with_test_subset, train_keys

    path = Path(__file__).resolve().parents[2] / "pipelines" / "fast.yaml"
    keys = {n: train_keys(load_pipeline(path, [f"data.test_subset={n}"]), "cfp", "dfp")[0] for n in (500, 1000)}
    assert keys[500] == keys[1000] == train_keys(load_pipeline(path), "cfp", "dfp")[0] == "24e04eb"
    assert key_with_test_subset(load_pipeline(path), "cfp") == "24e04eb"  # what state files recorded


# Today's keys (main at b72a084, before train_keys and key_with_test_subset shared one hash), for config "cfp"/"dfp":
# {pipeline: {data.test_subset: (key_with_test_subset, train_keys)}}. State files hold these: a change re-trains.
_TRAIN_KEYS_B72A084 = {
    "fast": {None: ("24e04eb", ("24e04eb", "485c59b")), 500: ("442b70f", ("24e04eb", "74ab714")),
             1000: ("c4d05bf", ("24e04eb", "633c061"))},
    "default": {None: ("8a04d4c", ("8a04d4c", "fcb9858")), 500: ("a547f3c", ("8a04d4c", "385ff4f")),
                1000: ("f9fb8f8", ("8a04d4c", "bcc2e14"))},
}


@pytest.mark.parametrize("name", sorted(_TRAIN_KEYS_B72A084))
def test_both_training_keys_are_one_hash_and_byte_identical_to_the_recorded_ones(name, monkeypatch):
    """``key_with_test_subset`` repeated ``train_keys``' hash with one value changed; both now call one function,
    and every key is the string main computed (existing run folders are found and reused, not trained again)."""
    from pathlib import Path

    from kaggle_kit import pipeline

    path = Path(__file__).resolve().parents[2] / "pipelines" / f"{name}.yaml"
    for subset, (with_subset, keys) in _TRAIN_KEYS_B72A084[name].items():
        cfg = load_pipeline(path, [] if subset is None else [f"data.test_subset={subset}"])
        assert pipeline.key_with_test_subset(cfg, "cfp") == with_subset
        assert pipeline.train_keys(cfg, "cfp", "dfp") == keys
    # one hash behind both: the test_subset each passes is the only difference
    seen = []
    real = pipeline._training_hash
    monkeypatch.setattr(pipeline, "_training_hash", lambda m, fp, subset: seen.append(subset) or real(m, fp, subset))
    cfg = load_pipeline(path, ["data.test_subset=500"])
    pipeline.train_keys(cfg, "cfp", "dfp"), pipeline.key_with_test_subset(cfg, "cfp")
    assert seen == [None, 500]


def test_train_dropout_reaches_the_model_kwargs():
    """model_kwargs dropping train.dropout would build (and record in model.pt) the model without the set dropout."""
    cfg = from_dict(PipelineConfig, {"model": {"name": "tinycnn", "kwargs": {"width": 8}}, "train": {"dropout": 0.3}})
    assert model_kwargs(cfg) == {"width": 8, "dropout": 0.3}
    assert model_kwargs(from_dict(PipelineConfig, {"model": {"kwargs": {"width": 8}}})) == {"width": 8}


def test_an_override_value_keeps_its_own_equals_signs():
    """Splitting at every '=' would cut --set submit.message=lr=0.1 to the message 'lr'."""
    assert parse_override("submit.message=lr=0.1") == ("submit.message", "lr=0.1")
