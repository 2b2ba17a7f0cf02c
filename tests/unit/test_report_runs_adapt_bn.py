"""``report_runs.adapt_bn_changed``: what the report's advice says about a run's BatchNorm, read from the predict
manifests the runs wrote (a plain run's, or an ensemble's members')."""
import json

import numpy as np
import pytest

from kaggle_kit.config import PredictConfig
from kaggle_kit.gap.report_runs import adapt_bn_changed
from kaggle_kit.runs import Logits, save_logits, write_manifest


def predicted_run(folder, adapt: bool, changed: float | None):
    folder.mkdir(parents=True)
    lg = Logits(ids=np.arange(4), logits=np.zeros((4, 10), np.float32), labels=np.arange(4), tta="none",
                temperature=1.0)
    for split in ("holdout", "comp"):
        save_logits(folder / f"logits_{split}.npz", lg)
    metrics = {} if changed is None else {"comp_changed_by_adapt_bn": changed}
    write_manifest(folder, "predict", config=PredictConfig(adapt_bn=adapt), metrics=metrics)
    return folder


def ensemble_of(folder, members):
    folder.mkdir(parents=True)
    (folder / "ensemble.json").write_text(json.dumps({"members": [{"path": str(m)} for m in members]}))
    return folder


def test_a_plain_run_reports_its_own_share_only_when_it_adapted(tmp_path):
    assert adapt_bn_changed(predicted_run(tmp_path / "a", True, 0.125)) == 0.125
    assert adapt_bn_changed(predicted_run(tmp_path / "b", False, None)) is None
    assert adapt_bn_changed(tmp_path / "never-predicted") is None


def test_an_ensemble_reports_the_mean_over_the_members_that_adapted(tmp_path):
    a = predicted_run(tmp_path / "a", True, 0.1)
    b = predicted_run(tmp_path / "b", True, 0.3)
    c = predicted_run(tmp_path / "c", False, None)
    assert adapt_bn_changed(ensemble_of(tmp_path / "ab", [a, b])) == pytest.approx(0.2)
    assert adapt_bn_changed(ensemble_of(tmp_path / "ac", [a, c])) == pytest.approx(0.1)
    assert adapt_bn_changed(ensemble_of(tmp_path / "c-only", [c])) is None


def test_a_runs_reference_logits_are_read_beside_its_competition_logits_and_a_stale_file_is_refused(tmp_path):
    from kaggle_kit.errors import RunError
    from kaggle_kit.gap.report_runs import reference_logits
    from kaggle_kit.runs import REFERENCE_FILE, load_logits

    folder = predicted_run(tmp_path / "a", False, None)
    comp = load_logits(folder / "logits_comp.npz")
    assert reference_logits(folder, comp) is None  # predicted without one: no Ref-EM, nothing refused
    ref = Logits(ids=np.arange(4), logits=np.eye(10, dtype=np.float32)[:4], labels=None, tta="none", temperature=1.0)
    save_logits(folder / REFERENCE_FILE, ref)
    assert np.array_equal(reference_logits(folder, comp), ref.logits)
    save_logits(folder / REFERENCE_FILE, Logits(ids=np.arange(1, 5), logits=ref.logits, labels=None, tta="none",
                                                temperature=1.0))
    with pytest.raises(RunError, match="logits_comp_reference.npz: its images are not those of logits_comp.npz"):
        reference_logits(folder, comp)
