"""Pipeline YAML -> frozen configs: unknown keys, wrong types and bad overrides are one-line errors."""
from __future__ import annotations

import dataclasses

import pytest

from kaggle_kit.config import PipelineConfig, config_hash, load_pipeline, parse_override, to_dict
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
