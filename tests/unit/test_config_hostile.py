"""Hostile and careless pipeline input found by the s23 configuration audit: each case is refused at load with one
line naming the key (or the --set), never a traceback, and before anything is written."""
from __future__ import annotations

import pytest

from kaggle_kit.config import MAX_NAME_BYTES, load_pipeline, parse_override
from kaggle_kit.errors import ConfigError
from kaggle_kit.testing import load_error as _error
from kaggle_kit.testing import on_disk
from kaggle_kit.testing import write_yaml as _yaml


# ------------------------------------------------------------------------------------------ YAML structure
@pytest.mark.parametrize("text,expected", [
    ("train: &t {optimizer: *t}\n",
     "train.optimizer: an alias refers to a node it is part of (line 1); a pipeline cannot contain itself"),
    ("stages: &s [data, *s]\n",
     "stages[1]: an alias refers to a node it is part of (line 1); a pipeline cannot contain itself"),
])
def test_an_alias_into_itself_is_an_error_line_not_a_recursion_error(tmp_path, text, expected):
    """PyYAML builds a self-containing structure; from_dict then recursed until RecursionError (a traceback)."""
    p = _yaml(tmp_path, text)
    assert _error(p) == f"{p}: {expected}"


def test_deep_nesting_is_an_error_line_not_a_recursion_error(tmp_path):
    p = _yaml(tmp_path, "model: {kwargs: {x: " + "[" * 3000 + "]" * 3000 + "}}\n")
    assert _error(p) == f"{p}: nested more than 50 levels deep at line 1"


def test_aliases_nested_through_aliases_count_their_expanded_depth(tmp_path):
    """Each anchor is shallow in the text, but the loaded value is 60 levels deep."""
    lines = ["a0: &a0 [1]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 60)]
    p = _yaml(tmp_path, "\n".join(lines) + "\n")
    assert "nested more than 50 levels deep (aliases expanded" in _error(p)


def test_billion_laughs_is_refused_before_it_is_expanded(tmp_path):
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
    lines += ["members: *l8"]
    p = _yaml(tmp_path, "\n".join(lines) + "\n")
    assert "more than 100,000 values once its aliases are expanded" in _error(p)


def test_ordinary_anchors_and_merge_keys_still_load(tmp_path):
    p = _yaml(tmp_path, "model: &m {name: resnet8, kwargs: &k {width: 8}}\n"
                        "members:\n  - {name: a, set: {model: *m}}\n  - {name: b, set: {model.kwargs: {<<: *k}}}\n")
    cfg = load_pipeline(p)
    assert cfg.members[0].set["model"] == {"name": "resnet8", "kwargs": {"width": 8}}


@pytest.mark.parametrize("value,expected", [
    ("&a [*a]", "[0]: an alias refers to a node it is part of"),
    ("[" * 100 + "]" * 100, "nested more than 50 levels deep"),
    ("{width: 8, width: 16}", "duplicate key 'width' (line 1)"),
])
def test_set_values_get_the_same_yaml_checks(tmp_path, value, expected):
    with pytest.raises(ConfigError, match=r"^override 'model\.kwargs=.*': ") as info:
        parse_override(f"model.kwargs={value}")
    assert expected in str(info.value)


def test_a_folder_given_as_the_pipeline_says_it_is_a_folder(tmp_path):
    assert _error(tmp_path) == f"{tmp_path}: a folder, not a pipeline file; give its YAML file, e.g. " \
                               f"pipelines/default.yaml"


# ------------------------------------------------------------------------------------------ names
@pytest.mark.parametrize("name", ["a\x00b", "a\nb", "tab\there", "x" * (MAX_NAME_BYTES + 1), "é" * 51])
def test_names_that_make_no_file_name_are_refused_at_load(tmp_path, name):
    """name becomes runs/pipelines/<name>.json, .<name>.lock, run folder names: a NUL crashed with ValueError
    (after runs/pipelines/ was made), a 250-byte name failed with 'File name too long' at the lock, exit 1."""
    p = _yaml(tmp_path, "{}\n")
    setting = f"name={name!r}".replace("\\x00", "\\0").replace("'", '"')
    msg = _error(p, [setting], where=f"--set {setting}")
    assert "name: must be a plain name (non-empty, at most 100 bytes, no / or \\ or control characters" in msg
    p = _yaml(tmp_path, "members: [{name: " + repr(name).replace("\\x00", "\\0").replace("'", '"') + "}]\n", "m.yaml")
    assert "members[0].name: must be a plain name" in _error(p)


def test_a_long_file_name_without_a_name_key_is_refused_too(tmp_path):
    p = _yaml(tmp_path, "{}\n", "a" * 200 + ".yaml")
    assert "name: must be a plain name" in _error(p)
    assert load_pipeline(_yaml(tmp_path, "{}\n", on_disk("é" * 50 + ".yaml"))).name == on_disk("é" * 50)  # 100 bytes


def test_a_name_a_c_locale_read_from_the_file_name_counts_its_bytes_on_disk(tmp_path):
    """Under LC_ALL=C without UTF-8 mode Python names 'é' * 50 + '.yaml' (100 bytes before '.yaml') with 100
    surrogates, one per byte; each counted as 3 bytes, the pipeline was refused as 'at most 100 bytes'."""
    p = _yaml(tmp_path, "{}\n", "\udcc3\udca9" * 50 + ".yaml")  # the same file, as that locale spells it
    assert load_pipeline(p).name == "\udcc3\udca9" * 50
    assert "name: must be a plain name" in _error(_yaml(tmp_path, "{}\n", "\udcc3\udca9" * 50 + "\udcc3.yaml"))


def test_holdout_seed_is_limited_to_what_sklearn_accepts(tmp_path):
    """data.holdout_seed > 2**32-1 passed load, then sklearn raised InvalidParameterError mid-run (a traceback,
    runs/pipelines/<name>.json already written)."""
    p = _yaml(tmp_path, "{}\n")
    assert _error(p, ["data.holdout_seed=4294967296"], where="--set data.holdout_seed=4294967296") == \
        "--set data.holdout_seed=4294967296: data.holdout_seed: must be in [0, 4294967295], found 4294967296"
    assert load_pipeline(p, ["data.holdout_seed=4294967295"]).data.holdout_seed == 2**32 - 1


# ------------------------------------------------------------------------------- settings that contradict
def test_a_batch_larger_than_the_training_images_is_refused_at_load(tmp_path):
    """Only a train_subset was compared with the batch: --set train.batch_size=100000 passed load, read the data,
    wrote runs/pipelines/<name>.json, and only then failed ('49000 training images make no full batch')."""
    p = _yaml(tmp_path, "data: {holdout_size: 1000}\n")
    assert _error(p, ["train.batch_size=100000"], where="--set train.batch_size=100000") == (
        "--set train.batch_size=100000: train.batch_size: 100000 is more than the 49,000 training images "
        "data.holdout_size 1000 leaves; no full batch to train on")
    assert load_pipeline(p, ["train.batch_size=49000"]).train.batch_size == 49000


def test_a_weighted_ensemble_without_a_holdout_is_refused_before_training(tmp_path):
    """It trained and predicted every member, then the ensemble stage said the runs have no holdout images."""
    p = _yaml(tmp_path, "members: [{name: a}, {name: b}]\nensemble: {method: weighted}\n")
    assert _error(p, ["data.holdout_size=0"], where="--set data.holdout_size=0") == (
        "--set data.holdout_size=0: ensemble.method: weighted fits its weights on the holdout, and "
        "data.holdout_size is 0; set data.holdout_size > 0 or another method")
    # one member is never ensembled, and a pipeline without the ensemble stage never weighs
    assert load_pipeline(p, ["data.holdout_size=0", "members=[{name: a}]"]).data.holdout_size == 0
    assert load_pipeline(p, ["data.holdout_size=0", "stages=[data, train, predict]"]).data.holdout_size == 0


# ---------------------------------------------------------------------------------- model.kwargs via the CLI
@pytest.fixture
def no_data(monkeypatch):
    import kaggle_kit.data
    import kaggle_kit.datapaths

    def touched(*args, **kwargs):
        raise AssertionError("data was looked for before the pipeline was checked")

    monkeypatch.setattr(kaggle_kit.datapaths, "locate_data", touched)
    monkeypatch.setattr(kaggle_kit.datapaths, "reading_data", touched)
    monkeypatch.setattr(kaggle_kit.data, "load_cifar10", touched)


@pytest.mark.parametrize("command", ["run", "train"])
@pytest.mark.parametrize("setting,needle", [
    ("model.kwargs.width=0", "model.kwargs.width: must be >= 1, found 0"),
    ("model.kwargs.width=-3", "model.kwargs.width: must be >= 1, found -3"),
    ("model.kwargs.width=x", "model.kwargs.width: expected an integer, found 'x'"),
    ("model.kwargs.width=2.7", "model.kwargs.width: expected an integer, found 2.7"),
    ("model.kwargs.width=true", "model.kwargs.width: expected an integer, found True"),
    ("model.kwargs.dropout=5", "model.kwargs.dropout: must be in [0, 1), found 5.0"),
    # true was dropout 1.0, a layer that zeroes every feature: the run trained, at chance, to the end
    ("model.kwargs.dropout=true", "model.kwargs.dropout: expected a number, found True"),
    ("model.kwargs.dropout=1", "model.kwargs.dropout: must be in [0, 1), found 1.0"),
])
def test_model_kwargs_the_builder_refuses_are_one_error_line_before_data(tmp_path, monkeypatch, capsys, no_data,
                                                                         command, setting, needle):
    """A width of 'x' or -3 or a dropout of 5 was a ValueError/RuntimeError traceback, a dropout of true or 1 trained
    a model that zeroed every feature; a width of 0 built, read
    the data, made the run folder (and the state file) and crashed at the first forward pass. A width of 2.7 or
    true trained a width-2 or width-1 network while the run's config said 2.7 or true."""
    from kaggle_kit.cli import main

    monkeypatch.chdir(tmp_path)
    p = _yaml(tmp_path, "model: {name: tinycnn}\n")
    assert main([command, str(p), "--set", setting]) == 2
    out, err = capsys.readouterr()
    assert err == f"error: --set {setting}: {needle}\n", err
    assert [f.name for f in tmp_path.iterdir()] == [p.name]  # no runs/ folder, no state file


# Each bad model argument as YAML writes it, the value YAML reads from it, and the one line (after the file or the
# --set it came from) that every route gives.
_WIDE = "must be <= 185,185 (wider, a 3x3 convolution of the 3 colour channels alone is over the parameter budget)"
BAD_MODEL_ARGUMENTS = [
    ("width", "true", True, "expected an integer, found True"),
    ("width", "false", False, "expected an integer, found False"),
    ("width", "x", "x", "expected an integer, found 'x'"),
    ("width", ".nan", float("nan"), "expected an integer, found nan"),
    ("width", ".inf", float("inf"), "expected an integer, found inf"),
    ("width", "-3", -3, "must be >= 1, found -3"),
    ("width", "0", 0, "must be >= 1, found 0"),
    ("width", "2.7", 2.7, "expected an integer, found 2.7"),
    ("width", "1000000", 1_000_000, f"{_WIDE}, found 1000000"),
    ("dropout", "true", True, "expected a number, found True"),
    ("dropout", "false", False, "expected a number, found False"),
    ("dropout", "x", "x", "expected a number, found 'x'"),
    ("dropout", ".nan", float("nan"), "expected a finite number, found nan"),
    ("dropout", ".inf", float("inf"), "expected a finite number, found inf"),
    ("dropout", "-0.1", -0.1, "must be in [0, 1), found -0.1"),
    ("dropout", "1.0", 1.0, "must be in [0, 1), found 1.0"),
    ("dropout", "1", 1, "must be in [0, 1), found 1.0"),
]


@pytest.mark.parametrize("arg,text,value,words", BAD_MODEL_ARGUMENTS)
def test_a_bad_model_argument_is_the_same_line_by_every_route(tmp_path, arg, text, value, words):
    """The builders checked width and dropout with their own words ("width must be a positive integer, got 0"),
    which reached the user wrapped in "model 'tinycnn' rejected its arguments ['width'] (...)", after the pipeline
    had loaded and without the file or --set it came from; `dropout: false` built a model without dropout, and
    width 1e30 was a torch overflow error several lines long. Now config's rule and words, at load."""
    from kaggle_kit.config import PipelineConfig, from_dict
    from kaggle_kit.models import create_model
    from kaggle_kit.train.loop import build_model

    line = f"model.kwargs.{arg}: {words}"
    f = _yaml(tmp_path, f"model: {{name: tinycnn, kwargs: {{{arg}: {text}}}}}\n")
    assert _error(f) == f"{f}: {line}"
    valid = _yaml(tmp_path, "model: {name: tinycnn}\n", name="valid.yaml")
    assert _error(valid, [f"model.kwargs.{arg}={text}"], where=f"--set model.kwargs.{arg}={text}") == \
        f"--set model.kwargs.{arg}={text}: {line}"
    cfg = from_dict(PipelineConfig, {"model": {"name": "tinycnn", "kwargs": {arg: value}}})  # library use
    with pytest.raises(ConfigError) as info:
        build_model(cfg, 10)
    assert str(info.value) == line
    with pytest.raises(ConfigError) as info:
        create_model("tinycnn", **{arg: value})
    assert str(info.value) == f"{arg}: {words}"


def test_train_dropout_and_model_dropout_share_one_rule(tmp_path):
    p = _yaml(tmp_path, "model: {name: tinycnn}\n")
    assert _error(p, ["train.dropout=1"], where="--set train.dropout=1") == \
        "--set train.dropout=1: train.dropout: must be in [0, 1), found 1.0"


@pytest.mark.parametrize("text", ["true", "1", ".nan"])
def test_a_timm_dropout_that_zeroes_every_feature_is_refused(tmp_path, text):
    """timm/ models took float(dropout): `dropout: true` or 1 trained with drop_rate 1.0 (every feature zeroed, the
    model at chance to the end) and .nan with drop_rate nan; the toolkit's own models refused them."""
    from kaggle_kit.models import create_model

    p = _yaml(tmp_path, f"model: {{name: timm/resnet10t, kwargs: {{dropout: {text}}}}}\n")
    assert _error(p).startswith(f"{p}: model.kwargs.dropout: ")
    with pytest.raises(ConfigError, match=r"^dropout: "):
        create_model("timm/resnet10t", dropout={"true": True, "1": 1, ".nan": float("nan")}[text])


def test_every_shipped_model_passes_the_forward_check():
    from kaggle_kit.config import PipelineConfig, from_dict
    from kaggle_kit.models import list_models
    from kaggle_kit.pipeline import check_member_models

    members = [(n, from_dict(PipelineConfig, {"model": {"name": n}})) for n in list_models()]
    assert len(check_member_models(members)) == len(members)


@pytest.mark.parametrize("setting,needle", [
    ("stages=[train]", "a pipeline must list at least the 'data' and 'train' stages"),
    ("model.kwargs.width=0", "--set model.kwargs.width=0: model.kwargs.width: must be >= 1, found 0"),
])
def test_a_demo_the_pipeline_checks_refuse_writes_no_demo_folder(tmp_path, monkeypatch, capsys, setting, needle):
    """The demo made demo/ (and, without the stand-in's labels, wrote demo-data/ with a 5,000-image pickle) and
    started its fake Kaggle before the run's pre-flight checks refused the pipeline."""
    from kaggle_kit import demo
    from kaggle_kit.cli import main

    def touched(*args, **kwargs):
        raise AssertionError("the demo looked for data before the pipeline was checked")

    monkeypatch.setattr(demo, "find_demo_data", touched)
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--set", setting, "--no-progress"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith(f"error: {needle}"), err
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------ environment variables
@pytest.mark.parametrize("command", ["run", "train"])
@pytest.mark.parametrize("var,value", [("WORLD_SIZE", "abc"), ("LOCAL_RANK", "one"), ("WORLD_SIZE", "2.0")])
def test_torchrun_variables_set_wrong_by_hand_are_one_error_line_before_data(tmp_path, monkeypatch, capsys, no_data,
                                                                             command, var, value):
    """WORLD_SIZE=abc was `ValueError: invalid literal for int()`, a traceback (for run: after the data stage)."""
    from kaggle_kit.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(var, value)
    p = _yaml(tmp_path, "model: {name: tinycnn}\n")
    assert main([command, str(p)]) == 2
    out, err = capsys.readouterr()
    assert err == (f"error: environment variable {var}={value!r} must be a whole number (torchrun sets it; unset "
                   f"it to train in one process)\n")
    assert [f.name for f in tmp_path.iterdir()] == [p.name]


def test_a_home_that_cannot_be_found_is_listed_not_a_traceback(tmp_path, monkeypatch, capsys):
    """KAGGLE_KIT_DATA='~nosuchuser/x' raised RuntimeError('Could not determine home directory.')."""
    from kaggle_kit.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KAGGLE_KIT_DATA", "~nosuchuser-kk/x")
    assert main(["data", "verify"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: no competition data found (CIFAR-10 batches; looked in: "
                                                   "~nosuchuser-kk/x (from KAGGLE_KIT_DATA"), err


# --------------------------------------------------------------------------------------- --set given twice
def test_a_later_set_that_replaces_a_section_an_earlier_set_wrote_into_is_refused(tmp_path):
    """--set train.optimizer.lr=0.01 --set 'train.optimizer={name: adam}' trained at the default lr 0.1: the
    second replaced the section whole and the first was dropped without a word."""
    p = _yaml(tmp_path, "{}\n")
    sets = ["train.optimizer.lr=0.01", "train.optimizer={name: adam}"]
    with pytest.raises(ConfigError) as info:  # the override names itself: no file or --set prefix to check
        load_pipeline(p, sets)
    assert str(info.value) == ("override 'train.optimizer' replaces the whole section that 'train.optimizer.lr', set "
                               "before it, is in; set 'train.optimizer.lr' after it, or inside its value")
    cfg = load_pipeline(p, sets[::-1])  # the section first, then a key inside it: both kept
    assert (cfg.train.optimizer.name, cfg.train.optimizer.lr) == ("adam", 0.01)
    assert load_pipeline(p, ["train.epochs=3", "train.epochs=4"]).train.epochs == 4  # the same key: the last wins
    m = _yaml(tmp_path, "members: [{name: a, set: {model.kwargs.width: 8, model: {name: tinycnn}}}]\n", "m.yaml")
    assert "override 'model' replaces the whole section that 'model.kwargs.width'" in _error(m)


# ------------------------------------------------------------------------------------ YAML 1.1 number forms
@pytest.mark.parametrize("text,expected", [
    ("train: {seed: 010}", "train.seed: expected an integer, found '010'"),            # was 8 (octal)
    ("data: {holdout_size: 05000}", "data.holdout_size: expected an integer, found '05000'"),  # was 2560
    ("train: {epochs: 1:30}", "train.epochs: expected an integer, found '1:30'"),       # was 90 (base 60)
])
def test_octal_and_base_60_numbers_are_not_read_silently(tmp_path, text, expected):
    p = _yaml(tmp_path, text + "\n")
    assert _error(p) == f"{p}: {expected}"
    setting = text.replace(": {", ".").replace(": ", "=").rstrip("}")
    assert _error(_yaml(tmp_path, "{}\n", "ok.yaml"), [setting], where=f"--set {setting}") == \
        f"--set {setting}: {expected}"


def test_plain_numbers_and_strings_that_look_like_them_still_load(tmp_path):
    p = _yaml(tmp_path, "name: '010'\ntrain: {seed: 0, epochs: 1_000, optimizer: {lr: 1e-3}}\n"
                        "submit: {message: 010}\ndata: {holdout_size: 0x10}\n")
    cfg = load_pipeline(p)
    assert (cfg.name, cfg.train.seed, cfg.train.epochs, cfg.train.optimizer.lr) == ("010", 0, 1000, 0.001)
    assert (cfg.submit.message, cfg.data.holdout_size) == ("010", 16)  # a string field keeps it as written


# ------------------------------------------------------------------------- s24: what a member may set
@pytest.mark.parametrize("setting,key", [
    ("name: other", "name"), ("stages: [data, train]", "stages"), ("members: []", "members"),
    ("submit.message: hi", "submit.message"), ("ensemble: {method: vote}", "ensemble"),
    ("report.enabled: false", "report.enabled"),
])
def test_a_member_may_not_set_what_is_the_pipelines(tmp_path, setting, key):
    """A member's set is applied to the whole pipeline's config: its name, stages, members, ensemble, submit and
    report settings loaded without a word, and the pipeline, which reads them from itself, ignored them."""
    p = _yaml(tmp_path, f"members:\n  - {{name: a}}\n  - {{name: b, set: {{{setting}}}}}\n")
    assert _error(p) == (f"{p}: members[1] ('b') set: '{key}' is the pipeline's, not a member's; a member may set "
                         f"model, train, predict and data.train_subset")


def test_a_member_may_not_change_the_images_every_member_is_scored_on(tmp_path):
    """The ensemble refused members with other holdout/test/competition images only after training them all."""
    p = _yaml(tmp_path, "data: {holdout_size: 1000}\nmembers:\n  - {name: a, set: {data.holdout_seed: 3}}\n")
    assert _error(p) == (f"{p}: members[0] ('a') set: data.holdout_seed: 3 for this member, 0 for the pipeline; "
                         f"every member is scored on the same images (the ensemble needs them alike), so set it "
                         f"for the whole pipeline")
    # a whole data section resets what it leaves out to the defaults: named too
    q = _yaml(tmp_path, "data: {holdout_size: 1000}\nmembers:\n  - {name: a, set: {data: {train_subset: 900}}}\n",
              "q.yaml")
    assert _error(q).startswith(f"{q}: members[0] ('a') set: data.holdout_size: 5000 for this member, 1000 for")
    ok = _yaml(tmp_path, "members:\n  - {name: a, set: {data.train_subset: 900, train.seed: 1, predict.tta: none, "
                         "model.name: tinycnn}}\n  - {name: b, set: {data: {train_subset: 800}}}\n", "ok.yaml")
    assert [m.name for m in load_pipeline(ok).members] == ["a", "b"]


# ---------------------------------------------------------------------------- s24: typo-sized numbers
@pytest.mark.parametrize("key,typo,limit,why", [
    ("train.epochs", 20000000, 10000, "longer than any CIFAR-10 schedule"),
    ("train.num_workers", 512, 256, "processes; more than any machine's CPU cores"),
])
def test_typo_sized_epochs_and_workers_are_refused_at_load(tmp_path, key, typo, limit, why):
    """epochs=20000000 loaded and trained (for years); num_workers=512 loaded and started 512 processes."""
    p = _yaml(tmp_path, "{}\n")
    assert _error(p, [f"{key}={typo}"], where=f"--set {key}={typo}") == \
        f"--set {key}={typo}: {key}: must be <= {limit:,} ({why}), found {typo}"
    assert load_pipeline(p, [f"{key}={limit}"]) is not None  # the limit itself is allowed
