"""Bad pipeline input fails at load with one line naming the file, the key and the value: out-of-range numbers,
invalid choices, YAML scalars that are not strings, duplicate keys, registry names; nothing is loaded or trained."""
from __future__ import annotations

import re

import pytest

from kaggle_kit import config
from kaggle_kit.config import PipelineConfig, apply_overrides, from_dict, load_pipeline
from kaggle_kit.errors import ConfigError, UnknownModelError, UsageError
from kaggle_kit.testing import load_error as _error
from kaggle_kit.testing import write_yaml as _yaml


# ------------------------------------------------------------------------------------- numeric ranges
_MAX_PARAMS_NEED = "in [1, 5,000,000] (models must stay under the competition's 5,000,000 parameters)"


@pytest.mark.parametrize("value", ["1.5", "1.0", "-0.1"])
def test_label_smoothing_outside_0_1_is_refused_at_load(tmp_path, value):
    p = _yaml(tmp_path, f"train: {{label_smoothing: {value}}}\n")
    msg = _error(p)
    assert msg == f"{p}: train.label_smoothing: must be in [0, 1), found {float(value)!r}"


@pytest.mark.parametrize("text,key,need,found", [
    ("train: {optimizer: {lr: -0.1}}", "train.optimizer.lr", "> 0", "-0.1"),
    ("train: {optimizer: {lr: 0}}", "train.optimizer.lr", "> 0", "0.0"),
    ("train: {optimizer: {momentum: 1.0}}", "train.optimizer.momentum", "in [0, 1)", "1.0"),
    ("train: {optimizer: {weight_decay: -1.0e-4}}", "train.optimizer.weight_decay", ">= 0", "-0.0001"),
    ("train: {optimizer: {betas: [0.9, 1.5]}}", "train.optimizer.betas[1]", "in [0, 1)", "1.5"),
    ("train: {dropout: 1}", "train.dropout", "in [0, 1)", "1.0"),
    ("train: {ema_decay: 1.0}", "train.ema_decay", "in [0, 1)", "1.0"),
    ("train: {grad_clip_norm: 0}", "train.grad_clip_norm", "> 0", "0.0"),
    ("train: {batch_size: 0}", "train.batch_size", ">= 1", "0"),
    ("train: {eval_every_epochs: 0}", "train.eval_every_epochs", ">= 1", "0"),
    ("train: {num_workers: -1}", "train.num_workers", ">= 0", "-1"),
    ("train: {early_stop_patience_epochs: -3}", "train.early_stop_patience_epochs", ">= 1", "-3"),
    ("train: {early_stop_patience_epochs: 0}", "train.early_stop_patience_epochs", ">= 1", "0"),
    ("train: {select_by: val_loss, select_best: true}", "train.select_by", "one of holdout_accuracy, holdout_loss",
     "'val_loss'"),
    ("train: {seed: -1}", "train.seed", "in [0, 4294967295]", "-1"),
    ("train: {augment: {mix_prob: 1.5}}", "train.augment.mix_prob", "in [0, 1]", "1.5"),
    ("train: {augment: {mixup_alpha: -1}}", "train.augment.mixup_alpha", ">= 0", "-1.0"),
    ("train: {schedule: {warmup_epochs: -1}}", "train.schedule.warmup_epochs", ">= 0", "-1.0"),
    ("train: {schedule: {onecycle_pct_start: 1.0}}", "train.schedule.onecycle_pct_start", "in (0, 1)", "1.0"),
    ("train: {schedule: {plateau_factor: 0}}", "train.schedule.plateau_factor", "in (0, 1]", "0.0"),
    ("train: {schedule: {gamma: 0}}", "train.schedule.gamma", "in (0, 1]", "0.0"),
    ("train: {schedule: {milestones: [10, 0]}}", "train.schedule.milestones[1]", ">= 1", "0"),
    ("train: {schedule: {restart_epochs: 0}}", "train.schedule.restart_epochs", ">= 1", "0"),
    ("train: {schedule: {restart_mult: 0}}", "train.schedule.restart_mult", ">= 1", "0"),
    ("train: {schedule: {warmup_start_factor: 1.5}}", "train.schedule.warmup_start_factor", "in [0, 1]", "1.5"),
    ("train: {schedule: {min_lr: -0.1}}", "train.schedule.min_lr", ">= 0", "-0.1"),
    ("train: {schedule: {plateau_patience: -1}}", "train.schedule.plateau_patience", ">= 0", "-1"),
    ("train: {augment: {cutmix_alpha: -1}}", "train.augment.cutmix_alpha", ">= 0", "-1.0"),
    ("report: {synthetic_per_set: -1}", "report.synthetic_per_set", ">= 0", "-1"),
    ("data: {holdout_size: -1}", "data.holdout_size", "0 (no holdout) or in [10, 49990]", "-1"),
    ("data: {holdout_size: 50000}", "data.holdout_size", "0 (no holdout) or in [10, 49990]", "50000"),
    ("data: {test_subset: 0}", "data.test_subset", "in [10, 9990] or >= 10000 (all)", "0"),
    ("data: {test_subset: 5}", "data.test_subset", "in [10, 9990] or >= 10000 (all)", "5"),
    ("data: {test_subset: 9995}", "data.test_subset", "in [10, 9990] or >= 10000 (all)", "9995"),
    ("data: {train_subset: 9}", "data.train_subset", ">= 10", "9"),
    ("data: {holdout_size: 5}", "data.holdout_size", "0 (no holdout) or in [10, 49990]", "5"),
    ("data: {holdout_size: 49995}", "data.holdout_size", "0 (no holdout) or in [10, 49990]", "49995"),
    ("model: {max_params: 0}", "model.max_params", _MAX_PARAMS_NEED, "0"),
    ("predict: {batch_size: 0}", "predict.batch_size", ">= 1", "0"),
    ("report: {domain_max_images: 0}", "report.domain_max_images", ">= 5", "0"),
])
def test_numeric_fields_outside_their_range_name_key_and_value(tmp_path, text, key, need, found):
    p = _yaml(tmp_path, text + "\n")
    assert _error(p) == f"{p}: {key}: must be {need}, found {found}"


def test_max_params_cannot_be_raised_above_the_competitions_limit(tmp_path):
    """--set model.max_params=100000000 let a 90,081,010-parameter tinycnn (width 1000) train, and its
    predictions be submitted, though deep-learning-spring-2025-project-1 allows at most 5,000,000."""
    ok = _yaml(tmp_path, "model: {name: tinycnn, kwargs: {width: 1000}}\n", "ok.yaml")
    assert _error(ok, ["model.max_params=100000000"], where="--set model.max_params=100000000") == \
        f"--set model.max_params=100000000: model.max_params: must be {_MAX_PARAMS_NEED}, found 100000000"
    p = _yaml(tmp_path, "model: {max_params: 5000001}\n")
    assert _error(p) == f"{p}: model.max_params: must be {_MAX_PARAMS_NEED}, found 5000001"
    # the limit itself and a stricter budget stay allowed
    assert load_pipeline(ok, ["model.max_params=5000000"]).model.max_params == 5_000_000
    assert load_pipeline(ok, ["model.max_params=1000000"]).model.max_params == 1_000_000


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_non_finite_numbers_are_refused(tmp_path, value):
    p = _yaml(tmp_path, f"train: {{optimizer: {{lr: {value}}}}}\n")
    assert re.fullmatch(rf"{re.escape(str(p))}: train\.optimizer\.lr: expected a finite number, found -?(nan|inf)",
                        _error(p))


def test_an_integer_too_large_for_a_float_is_refused_not_a_traceback(tmp_path):
    p = _yaml(tmp_path, f"train: {{optimizer: {{lr: {10**400}}}}}\n")
    assert _error(p).startswith(f"{p}: train.optimizer.lr: expected a finite number, found 1000")


def test_epochs_below_one_names_file_key_and_value(tmp_path):
    p = _yaml(tmp_path, "train: {epochs: -3}\n")
    assert _error(p) == f"{p}: train.epochs: must be >= 1, found -3"
    # the same check through --set, and through from_dict (members, run configs) without a file
    ok = _yaml(tmp_path, "{}\n", "ok.yaml")
    assert _error(ok, ["train.seed=3", "train.epochs=0"], where="--set train.epochs=0") == \
        "--set train.epochs=0: train.epochs: must be >= 1, found 0"
    # a file that is invalid by itself is named even when --set is given
    assert _error(p, ["train.seed=3"]) == f"{p}: train.epochs: must be >= 1, found -3"
    with pytest.raises(ConfigError, match=r"^train\.epochs: must be >= 1, found 0$"):
        from_dict(PipelineConfig, {"train": {"epochs": 0}})


@pytest.mark.parametrize("text,match", [
    ("train: {optimizer: {name: sgd, momentum: 0, nesterov: true}}",
     r"train\.optimizer\.nesterov: true needs train\.optimizer\.momentum > 0"),
    ("train: {optimizer: {lr: 0.01}, schedule: {min_lr: 0.1}}",
     r"train\.schedule\.min_lr: must be <= train\.optimizer\.lr \(0\.01\), found 0\.1"),
    ("train: {select_best: true}\ndata: {holdout_size: 0}", r"train\.select_best: true needs a holdout"),
    ("train: {early_stop_patience_epochs: 10}\ndata: {holdout_size: 0}",
     r"train\.early_stop_patience_epochs: early stopping watches the holdout; set data\.holdout_size > 0"),
    ("train: {select_by: holdout_loss}",
     r"train\.select_by: holdout_loss is only used by select_best: true and by early_stop_patience_epochs, and "
     r"neither is set$"),
    ("train: {holdout_loss_adds_l2: true, optimizer: {name: adamw}}",
     r"train\.holdout_loss_adds_l2: adamw's weight decay is decoupled, no loss term to add"),
    ("data: {train_subset: 100}\ntrain: {batch_size: 128}",
     r"data\.train_subset: 100 images make no full batch of train\.batch_size 128"),
    ("stages: [data, train, train]", r"stages: 'train' is listed twice"),
    ("members: [{name: a}, {name: a}]", r"members\[1\]\.name: 'a' is used by another member"),
    ("name: ../x", r"name: must be a plain name .*found '\.\./x'"),
])
def test_field_combinations_torch_or_the_runner_would_reject(tmp_path, text, match):
    p = _yaml(tmp_path, text + "\n")
    with pytest.raises(ConfigError, match=f"^{re.escape(str(p))}: {match}"):
        load_pipeline(p)


# ------------------------------------------------------------------------------------- string fields
def test_unquoted_date_for_a_string_field_says_quote_it(tmp_path):
    p = _yaml(tmp_path, "name: 2025-03-01\n")
    expected = f"{p}: name: expected a string, got a date 2025-03-01 (quote it)"
    assert _error(p) == expected
    # the YAML path and the --set path give the same message
    assert _error(_yaml(tmp_path, "{}\n", "ok.yaml"), ["name=2025-03-01"], where="--set name=2025-03-01") == \
        expected.replace(str(p), "--set name=2025-03-01")
    assert load_pipeline(_yaml(tmp_path, "name: '2025-03-01'\n", "q.yaml")).name == "2025-03-01"


@pytest.mark.parametrize("text,expected", [
    ("submit: {message: 2025-03-01 10:00:00}", "submit.message: expected a string, got a date-time "
                                               "2025-03-01 10:00:00 (quote it)"),
    ("submit: {message: 2025}", "submit.message: expected a string, got an integer 2025 (quote it)"),
    ("train: {augment: {gpu: on}}", "train.augment.gpu: expected a string, got the boolean true (YAML reads "
                                    "unquoted yes/no/on/off/true/false as booleans; quote it)"),
    ("model: {name: 12}", "model.name: expected a string, got an integer 12 (quote it)"),
    ("predict: {tta: custom, views: [identity, shift:1,0]}",
     "predict.views[2]: expected a string, got an integer 0 (quote it)"),
])
def test_non_string_yaml_scalars_in_string_fields(tmp_path, text, expected):
    p = _yaml(tmp_path, text + "\n")
    assert _error(p) == f"{p}: {expected}"


def test_non_string_override_keys_are_config_errors():
    with pytest.raises(ConfigError, match=r"override key 1 must be a dotted key"):
        apply_overrides({}, {1: 2})


def test_member_set_keys_must_be_strings(tmp_path):
    p = _yaml(tmp_path, "members: [{name: a, set: {1: 2}}]\n")
    assert _error(p) == f"{p}: members[0].set: keys must be strings, found 1 (quote it)"


# ------------------------------------------------------------------------------------------- choices
@pytest.mark.parametrize("text,key,bad,valid", [
    ("predict: {tta: flipp}", "predict.tta", "flipp", config.TTA_LEVELS),
    ("predict: {average: mean}", "predict.average", "mean", config.TTA_AVERAGES),
    ("predict: {pad: edge}", "predict.pad", "edge", config.TTA_PADS),
    ("train: {optimizer: {name: lion}}", "train.optimizer.name", "lion", config.OPTIMIZERS),
    ("train: {schedule: {name: linear}}", "train.schedule.name", "linear", config.SCHEDULES),
    ("train: {augment: {gpu: maybe}}", "train.augment.gpu", "maybe", config.AUGMENT_GPU),
    ("ensemble: {method: median}", "ensemble.method", "median", config.ENSEMBLE_METHODS),
    ("submit: {upload: sometimes}", "submit.upload", "sometimes", config.UPLOAD_MODES),
    ("stages: [data, train, trian]", "stages[2]", "trian", config.STAGES),
])
def test_invalid_choices_name_file_key_value_and_choices(tmp_path, text, key, bad, valid):
    p = _yaml(tmp_path, text + "\n")
    assert _error(p) == f"{p}: {key}: must be one of {', '.join(valid)}, found '{bad}'"


def test_custom_tta_views_are_checked_at_load_and_still_work(tmp_path):
    ok = load_pipeline(_yaml(tmp_path, "predict: {tta: custom, views: [identity, hflip, 'shift:1,0+hflip']}\n"))
    assert ok.predict.views == ("identity", "hflip", "shift:1,0+hflip")
    p = _yaml(tmp_path, "predict: {tta: custom, views: [identity, 'shift:9,0']}\n", "b1.yaml")
    assert _error(p) == f"{p}: predict.views[1]: view 'shift:9,0': shifts are limited to 8 px"
    p = _yaml(tmp_path, "predict: {tta: custom, views: [identity, vflip]}\n", "b2.yaml")
    assert "predict.views[1]: view 'vflip': unknown step 'vflip'" in _error(p)
    p = _yaml(tmp_path, "predict: {tta: custom}\n", "b3.yaml")
    assert _error(p).startswith(f"{p}: predict.views: tta is custom but no views are listed")
    p = _yaml(tmp_path, "predict: {tta: flip, views: [hflip]}\n", "b4.yaml")
    assert _error(p) == f"{p}: predict.views: only used with tta: custom (tta is 'flip')"


def test_the_modules_that_use_the_choice_lists_take_them_from_config():
    from kaggle_kit import ensemble, pipeline, tta, upload
    from kaggle_kit.train import optim, schedule

    assert config.OPTIMIZERS is optim.OPTIMIZERS and config.SCHEDULES is schedule.SCHEDULES
    assert (tta.LEVELS, tta.AVERAGES, tta.PADS) == (config.TTA_LEVELS, config.TTA_AVERAGES, config.TTA_PADS)
    assert tta.LEVELS is config.TTA_LEVELS and ensemble.METHODS is config.ENSEMBLE_METHODS
    assert config.UPLOAD_MODES is upload.UPLOAD_MODES and config.STAGES is pipeline.STAGES


# ---------------------------------------------------------------------------------- registered names
@pytest.mark.parametrize("text,exc,match", [
    ("model: {name: resnt8}", UnknownModelError, r"model\.name: unknown model 'resnt8'; did you mean resnet8\?"),
    ("model: {name: resnet8, kwargs: {widthh: 8}}", ConfigError,
     r"model\.kwargs: model resnet8 does not accept widthh; it accepts: width, dropout"),
    ("train: {augment: {preset: nope}}", ConfigError,
     r"train\.augment\.preset: must be one of .*standard.*, found 'nope'"),
    ("train: {augment: {preset: strong, gpu: 'on'}}", ConfigError,
     r"train\.augment\.gpu: on needs a preset with a batched form, and 'strong' has none"),
    ("members: [{name: a, set: {train.optimizer.lr: 0}}]", ConfigError,
     r"members\[0\] \('a'\) set: train\.optimizer\.lr: must be > 0, found 0\.0"),
    ("members: [{name: a, set: {model.name: nope}}]", UnknownModelError,
     r"members\[0\] \('a'\) set: model\.name: unknown model 'nope'"),
])
def test_registry_names_and_member_overrides_are_checked_at_load(tmp_path, text, exc, match):
    p = _yaml(tmp_path, text + "\n")
    with pytest.raises(exc, match=f"^{re.escape(str(p))}: {match}"):
        load_pipeline(p)


# ------------------------------------------------------------------------------------- duplicate keys
@pytest.mark.parametrize("text,expected", [
    ("train: {epochs: 1, epochs: 50}\n", "duplicate key 'train.epochs' (line 1); give each key once"),
    ("train:\n  epochs: 1\nmodel: {name: resnet8}\ntrain:\n  epochs: 50\n",
     "duplicate key 'train' (lines 1 and 4); give each key once"),
    ("members:\n  - name: a\n    set: {train.seed: 1}\n    name: b\n",
     "duplicate key 'members[0].name' (lines 2 and 4); give each key once"),
])
def test_duplicate_yaml_keys_name_the_key_and_the_file(tmp_path, text, expected):
    p = _yaml(tmp_path, text)
    assert _error(p) == f"{p}: {expected}"


def test_yaml_merge_keys_may_still_be_overridden(tmp_path):
    """``<<: *anchor`` followed by an explicit key is YAML's way to override: not a duplicate."""
    p = _yaml(tmp_path, "model:\n  name: resnet8\n  kwargs: &k {width: 8}\n"
                        "members:\n  - name: a\n    set:\n      model.kwargs: {<<: *k, width: 16}\n")
    cfg = load_pipeline(p)
    assert cfg.model.kwargs["width"] == 8 and cfg.members[0].set["model.kwargs"] == {"width": 16}


# ------------------------------------------------------------------------------------------------- CLI
@pytest.mark.parametrize("command", ["train", "run"])
@pytest.mark.parametrize("text,needle", [
    ("train: {label_smoothing: 1.5}\n", "train.label_smoothing: must be in [0, 1), found 1.5"),
    ("train: {epochs: -3}\n", "train.epochs: must be >= 1, found -3"),
    ("name: 2025-03-01\n", "name: expected a string, got a date 2025-03-01 (quote it)"),
    ("predict: {tta: flipp}\n", "predict.tta: must be one of none, flip, flip+translate, custom, found 'flipp'"),
    ("train: {epochs: 1, epochs: 50}\n", "duplicate key 'train.epochs'"),
])
def test_cli_refuses_a_bad_pipeline_before_data_with_one_error_line(tmp_path, monkeypatch, capsys, command, text,
                                                                    needle):
    import kaggle_kit.data
    import kaggle_kit.datapaths
    from kaggle_kit.cli import main

    def touched(*args, **kwargs):
        raise AssertionError("data was looked for before the pipeline was checked")

    monkeypatch.setattr(kaggle_kit.datapaths, "locate_data", touched)
    monkeypatch.setattr(kaggle_kit.datapaths, "reading_data", touched)
    monkeypatch.setattr(kaggle_kit.data, "load_cifar10", touched)
    monkeypatch.chdir(tmp_path)
    p = _yaml(tmp_path, text)
    assert main([command, str(p)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith(f"error: {p}: {needle}"), err
    assert [f.name for f in tmp_path.iterdir()] == [p.name]  # no runs/ folder, no state file, nothing


def test_a_harmless_pretrained_false_loads_as_it_trains(tmp_path):
    """create_model drops pretrained=False; the load-time check must not refuse what training accepts."""
    cfg = load_pipeline(_yaml(tmp_path, "model: {name: tinycnn, kwargs: {pretrained: false}}\n"))
    assert dict(cfg.model.kwargs) == {"pretrained": False}
    with pytest.raises(UsageError, match=r"pretrained=True would load outside weights"):
        load_pipeline(_yaml(tmp_path, "model: {name: tinycnn, kwargs: {pretrained: true}}\n"))


@pytest.mark.parametrize("text, need", [
    ("data: {holdout_size: 1000, train_subset: 48995}", "in [10, 48990] or >= 49000 (all)"),
    ("data: {holdout_size: 0, train_subset: 49991}", "in [10, 49990] or >= 50000 (all)"),
])
def test_a_train_subset_must_leave_every_class_out_or_take_all(tmp_path, text, need):
    p = _yaml(tmp_path, text + "\n")
    found = text.split("train_subset: ")[1].rstrip("}")
    holdout = text.split("holdout_size: ")[1].split(",")[0]
    assert _error(p) == f"{p}: data.train_subset: with holdout_size {holdout} must be {need}, found {found}"
