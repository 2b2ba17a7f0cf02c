"""``benchmarks/bench_gpu_recipes.py`` (the GPU session's recipe table) on tiny rows: time to 94%, the first epoch
left out of the rate, a run cut at the budget, and a recipe not started for want of budget."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_gpu_recipes as gpu  # noqa: E402

from kaggle_kit.errors import KitError  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def rows(*accs: float, seconds: float = 2.0, first_s: float = 30.0) -> list[dict]:
    """metrics.csv rows as csv.DictReader gives them: strings; the first epoch is slow (compile)."""
    return [{"epoch": str(i + 1), "holdout_acc": "" if a is None else str(a),
             "seconds": str(first_s if i == 0 else seconds),
             "images_per_s": str(1000.0 if i == 0 else 20000.0 + i)} for i, a in enumerate(accs)]


def test_time_to_94_counts_the_epochs_up_to_the_first_that_reaches_it():
    r = gpu.summarize("fast", rows(0.5, 0.93, 0.941, 0.95), {"metrics": {"test_acc": 0.945}}, 4, 80.0, "done")
    assert (r.to_target_epoch, r.to_target_s) == (3, 34.0)
    assert r.best_holdout == 0.95 and r.test_acc == 0.945 and r.train_s == 36.0
    assert (r.epochs_done, r.epochs_planned, r.status) == (4, 4, "done")


def test_the_rate_leaves_out_the_first_epoch_which_holds_the_compile():
    r = gpu.summarize("fast", rows(0.5, 0.6, 0.7), None, 3, 40.0, "done")
    assert r.images_per_s == pytest.approx(20001.5)
    assert gpu.summarize("one", rows(0.5), None, 3, 40.0, "done").images_per_s == 1000.0  # one epoch: all there is


def test_a_run_cut_at_the_budget_has_no_test_score_and_no_time_to_94_it_never_reached():
    r = gpu.summarize("seed000", rows(0.5, None, 0.9), None, 80, 300.0, "cut at budget")
    assert r.to_target_s is None and r.test_acc is None and r.best_holdout == 0.9
    line = gpu.table([r]).splitlines()[-1]
    assert line == "| seed000 | cut at budget | 3/80 | 300.0 | 34.0 | 20,002 | 90.00 |  |  |"


def test_a_run_with_no_epochs_gives_blank_cells_not_an_error():
    r = gpu.summarize("seed001", [], None, 50, 3.0, "failed (exit 1)")
    assert gpu.table([r]).splitlines()[-1] == "| seed001 | failed (exit 1) | 0/50 | 3.0 | 0.0 |  |  |  |  |"


def test_a_process_past_its_timeout_is_reported_as_cut(tmp_path):
    status, wall = gpu.run_recipe(ROOT / "pipelines" / "fast.yaml", tmp_path / "run", 0.3, [])
    assert status == "cut at budget" and wall < 30


def test_no_recipe_is_started_with_too_little_budget_left(tmp_path, capsys):
    assert gpu.main([str(ROOT / "pipelines" / "fast.yaml"), "--budget-s", str(gpu.MIN_START_S - 1),
                     "--runs-root", str(tmp_path)]) == 1
    assert "not started" in capsys.readouterr().err and not any(tmp_path.iterdir())


def test_a_pipeline_that_does_not_load_stops_the_script_before_any_run(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ntrain:\n  epochs: many\n")
    with pytest.raises(KitError) as e:
        gpu.main([str(ROOT / "pipelines" / "fast.yaml"), str(bad), "--budget-s", "600", "--runs-root",
                  str(tmp_path / "runs")])
    assert "epochs" in str(e.value) and not (tmp_path / "runs").exists()


def test_a_run_folder_is_read_as_its_rows_and_manifest_and_a_missing_one_as_nothing(tmp_path):
    (tmp_path / "metrics.csv").write_text("epoch,holdout_acc,seconds,images_per_s\n1,0.5,3.0,100\n2,0.95,2.0,200\n")
    (tmp_path / "manifest_train.json").write_text('{"metrics": {"test_acc": 0.94}}')
    rows, manifest = gpu.read_run(tmp_path)
    r = gpu.summarize("fast", rows, manifest, 2, 9.0, "done")
    assert (r.to_target_s, r.to_target_epoch, r.test_acc, r.images_per_s) == (5.0, 2, 0.94, 200.0)
    assert gpu.read_run(tmp_path / "never-ran") == ([], None)
