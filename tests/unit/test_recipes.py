"""``runs.recipe_key``: two seeds of one recipe share a key, anything that changes what a run learns does not;
``runs.recipe_keys``' second key is shared by the recipe's label-smoothing variants alone."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from kaggle_kit.config import PipelineConfig, apply_overrides, from_dict, to_dict
from kaggle_kit.runs import RecipeKeys, recipe_key, recipe_keys


def _run(root: Path, name: str, *overrides: str) -> Path:
    """A run folder's config.yaml as training writes it: the resolved pipeline with ``overrides`` applied."""
    folder = root / "runs" / name
    folder.mkdir(parents=True)
    cfg = from_dict(PipelineConfig, apply_overrides(to_dict(PipelineConfig()), list(overrides)))
    (folder / "config.yaml").write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
    return folder


def _ensemble(root: Path, name: str, members: list[Path], method: str = "mean_probs") -> Path:
    folder = root / "ensembles" / name
    folder.mkdir(parents=True)
    # members written as the ensemble step writes them: paths relative to the workdir
    (folder / "ensemble.json").write_text(json.dumps({"method": method, "members": [
        {"path": str(Path("runs") / m.name)} for m in members]}))
    return folder


def test_seeds_and_speed_settings_are_one_recipe(tmp_path):
    base = recipe_key(_run(tmp_path, "a", "train.seed=0"))
    assert base is not None and len(base) == 12 and all(c in "0123456789abcdef" for c in base)
    same = _run(tmp_path, "b", "train.seed=7", "train.num_workers=4", "train.compile=true", "train.amp=false",
                "data.holdout_seed=3", "data.comp_subset=100", "predict.batch_size=50", "name=other")
    assert recipe_key(same) == base


@pytest.mark.parametrize("change", ["train.epochs=11", "train.label_smoothing=0.1", "model.name=other",
                                    "train.optimizer.lr=0.05", "train.augment.preset=blur_jpeg", "predict.tta=none",
                                    "data.train_subset=1000",
                                    "train.eval_every_epochs=2"])  # with select_best it picks the checkpoint
def test_what_changes_the_learned_model_is_another_recipe(tmp_path, change):
    assert recipe_key(_run(tmp_path, "a")) != recipe_key(_run(tmp_path, "b", change))


@pytest.mark.parametrize("change", ["train.epochs=11", "model.name=other", "train.optimizer.lr=0.05"])
def test_the_key_except_smoothing_is_shared_by_label_smoothing_variants_only(tmp_path, change):
    plain = recipe_keys(_run(tmp_path, "a", "train.label_smoothing=0.0"))
    smoothed = recipe_keys(_run(tmp_path, "b", "train.label_smoothing=0.1", "train.seed=3"))
    other = recipe_keys(_run(tmp_path, "c", "train.label_smoothing=0.1", change))
    assert plain.exact == recipe_key(tmp_path / "runs" / "a") != smoothed.exact
    assert plain.except_smoothing == smoothed.except_smoothing != plain.exact
    assert other.except_smoothing != plain.except_smoothing and len(other.except_smoothing) == 12
    # ensembles: the method and the members' keys without smoothing
    a0, b0 = tmp_path / "runs" / "a", tmp_path / "runs" / "b"
    c0 = tmp_path / "runs" / "c"
    one, two = recipe_keys(_ensemble(tmp_path, "e1", [a0, c0])), recipe_keys(_ensemble(tmp_path, "e2", [b0, c0]))
    assert one.exact != two.exact and one.except_smoothing == two.except_smoothing
    assert recipe_keys(_ensemble(tmp_path, "e3", [a0, c0], "vote")).except_smoothing != one.except_smoothing


def test_an_ensembles_recipe_is_its_method_and_its_members_recipes(tmp_path):
    a0, a1 = _run(tmp_path, "a0", "train.seed=0"), _run(tmp_path, "a1", "train.seed=1")
    b0, b1 = (_run(tmp_path, f"b{s}", "train.epochs=3", f"train.seed={s}") for s in (0, 1))
    first = recipe_key(_ensemble(tmp_path, "e1", [a0, b0]))
    assert first is not None and first not in (recipe_key(a0), recipe_key(b0))
    assert recipe_key(_ensemble(tmp_path, "e2", [b1, a1])) == first  # other seeds, other order
    assert recipe_key(_ensemble(tmp_path, "e3", [a0, b0], "vote")) != first
    assert recipe_key(_ensemble(tmp_path, "e4", [a0, a1])) != first


def test_a_config_without_defaulted_keys_is_the_same_recipe(tmp_path):
    """An older or hand-written config.yaml that leaves defaults out keys like the resolved one."""
    full = _run(tmp_path, "full")
    short = tmp_path / "runs" / "short"
    short.mkdir(parents=True)
    (short / "config.yaml").write_text("train:\n  seed: 5\n")
    assert recipe_key(short) == recipe_key(full)
    (short / "config.yaml").write_text("foo: 1\n")  # not a pipeline config: unknown, not a shared fixed key
    assert recipe_key(short) is None


def test_an_ensemble_that_names_itself_among_its_members_has_no_recipe(tmp_path):
    a = _run(tmp_path, "a")
    loop = _ensemble(tmp_path, "e1", [a])
    (loop / "ensemble.json").write_text(json.dumps({"method": "mean_probs", "members": [
        {"path": str(a)}, {"path": str(loop)}]}))
    assert recipe_key(loop) is None
    outer = _ensemble(tmp_path, "e2", [a])  # an ensemble of an ensemble is fine
    (outer / "ensemble.json").write_text(json.dumps({"method": "mean_probs", "members": [
        {"path": str(a)}, {"path": str(_ensemble(tmp_path, "e3", [a]))}]}))
    assert recipe_key(outer) is not None


def test_an_unknown_recipe_is_none_not_an_error(tmp_path):
    bare = tmp_path / "runs" / "bare"
    bare.mkdir(parents=True)
    assert recipe_key(bare) is None  # no config.yaml (a pulled kernel's folder, a bare CSV)
    (bare / "config.yaml").write_text("train: [unclosed\n")
    assert recipe_key(bare) is None
    (bare / "config.yaml").write_text("just a string\n")
    assert recipe_key(bare) is None
    a = _run(tmp_path, "a")
    assert recipe_key(_ensemble(tmp_path, "gone", [a, tmp_path / "runs" / "missing"])) is None
    broken = tmp_path / "ensembles" / "broken"
    broken.mkdir()
    (broken / "ensemble.json").write_text("{not json")
    assert recipe_key(broken) is None


def test_recipe_keys_round_trip_through_a_ledger_row(tmp_path):
    from kaggle_kit.ledger import make_row

    keys = recipe_keys(_run(tmp_path, "a", "train.label_smoothing=0.1"))
    row = make_row(**keys.ledger_cells())
    assert RecipeKeys.from_ledger_row(row) == keys
    # a row written before the recipe columns, or for a bare CSV, has no recipe; a row from before the second
    # key has an empty one, which no run's key equals
    assert RecipeKeys.from_ledger_row(make_row()) is None
    assert RecipeKeys.from_ledger_row({"recipe": keys.exact}) == RecipeKeys(keys.exact, "")


def test_the_report_defaults_to_the_submitted_ensemble_after_its_members(tmp_path, monkeypatch):
    """The ledger names an ensemble's members; the report describes the submission, so the ensemble with those
    members and the row's recipe key (which holds the method) comes last; a single run's row adds nothing."""
    from kaggle_kit.commands.report import _runs_from_ledger
    from kaggle_kit.ledger import append_row

    monkeypatch.chdir(tmp_path)
    a, b, c = (_run(tmp_path, n, f"train.seed={i}") for i, n in enumerate("abc"))
    _ensemble(tmp_path, "mean", [a, b])
    vote = _ensemble(tmp_path, "vote", [a, b], method="vote")
    _ensemble(tmp_path, "other", [a, c], method="vote")  # the same recipe key, other members
    ledger = tmp_path / "submissions" / "ledger.csv"
    append_row(ledger, file="x.csv", runs=["a", "b"], **recipe_keys(vote).ledger_cells())
    assert _runs_from_ledger(str(ledger)) == [Path("runs/a"), Path("runs/b"), Path("ensembles/vote")]
    append_row(ledger, file="y.csv", runs=["c"], **recipe_keys(c).ledger_cells())
    assert _runs_from_ledger(str(ledger)) == [Path("runs/c")]


def test_the_report_finds_a_submitted_ensemble_of_ensembles_from_the_row_submit_writes(tmp_path, monkeypatch):
    """`submit --from` records an ensemble of ensembles by its direct members (``upload.run_ids``): the report then
    finds the inner ensemble, the run and the submitted ensemble. By its runs (a, b, c: ``ensemble.runs_within``) it
    would find neither ensemble (nor the flat one of the same runs, another recipe)."""
    from kaggle_kit.commands.report import _runs_from_ledger
    from kaggle_kit.ledger import append_row
    from kaggle_kit.upload import run_ids

    monkeypatch.chdir(tmp_path)
    a, b, c = (_run(tmp_path, n, f"train.seed={i}") for i, n in enumerate("abc"))
    inner = _ensemble(tmp_path, "ab", [a, b])
    outer = tmp_path / "ensembles" / "abc"
    outer.mkdir()
    (outer / "ensemble.json").write_text(json.dumps({"method": "vote", "members": [
        {"path": str(Path("ensembles") / inner.name)}, {"path": str(Path("runs") / c.name)}]}))
    _ensemble(tmp_path, "flat", [a, b, c], method="vote")
    ledger = tmp_path / "submissions" / "ledger.csv"
    append_row(ledger, file="x.csv", runs=run_ids(outer), **recipe_keys(outer).ledger_cells())
    assert _runs_from_ledger(str(ledger)) == [Path("ensembles/ab"), Path("runs/c"), Path("ensembles/abc")]


def test_the_report_takes_the_newest_of_two_ensembles_of_the_submitted_recipe(tmp_path, monkeypatch):
    """Taking the oldest (min for max) would describe an ensemble made before the one submitted."""
    import os

    from kaggle_kit.commands.report import _runs_from_ledger
    from kaggle_kit.ledger import append_row

    monkeypatch.chdir(tmp_path)
    a, b = (_run(tmp_path, n, f"train.seed={i}") for i, n in enumerate("ab"))
    new, old = _ensemble(tmp_path, "new", [a, b]), _ensemble(tmp_path, "old", [a, b])
    os.utime(new, (2_000_000_000, 2_000_000_000))
    os.utime(old, (1_000_000_000, 1_000_000_000))
    ledger = tmp_path / "submissions" / "ledger.csv"
    append_row(ledger, file="x.csv", runs=["a", "b"], **recipe_keys(new).ledger_cells())
    assert _runs_from_ledger(str(ledger)) == [Path("runs/a"), Path("runs/b"), Path("ensembles/new")]
