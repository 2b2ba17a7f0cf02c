"""background: work in a thread that hands back its value or error, and stops when its caller fails."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from kaggle_kit import background
from kaggle_kit.background import Cancelled, Job, in_background


def _alive(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"kaggle-kit {name}"]


@pytest.fixture(autouse=True)
def _two_cpus(monkeypatch):
    """The thread is used only with two usable CPUs or more; these tests are about it, on any machine."""
    monkeypatch.setattr(background, "usable_cpus", lambda: 2)


def test_with_one_usable_cpu_the_work_runs_in_the_callers_thread_when_asked(monkeypatch):
    """One CPU cannot overlap the two, and switching between threads only cost CPU time."""
    monkeypatch.setattr(background, "usable_cpus", lambda: 1)
    ran_in = []

    def work(cancel):
        ran_in.append(threading.current_thread())
        return "done"

    with in_background(work) as job:
        assert ran_in == [] and not job.running
        assert job.result() == "done" and job.result() == "done"
    assert ran_in == [threading.current_thread()]
    with pytest.raises(RuntimeError):
        with in_background(work):
            raise RuntimeError("the runs failed")
    assert len(ran_in) == 1  # a failed block never runs it


def test_the_block_gets_the_works_value_or_its_own_exception():
    def double(x, cancel):
        return 2 * x

    with in_background(double, 21) as job:
        assert job.result() == 42
    assert not job.running

    def broken(cancel):
        raise KeyError("from the thread")

    with pytest.raises(KeyError, match="from the thread"):
        with in_background(broken) as job:
            job.result()
    assert not _alive("broken")


@pytest.mark.parametrize("error", [RuntimeError("the runs failed"), KeyboardInterrupt()])
def test_a_failing_block_stops_the_work_and_waits_for_it_before_its_error_surfaces(error):
    """An error (or Ctrl-C) in the block left the thread computing for seconds after the command had failed."""
    steps, started = [], threading.Event()

    def slow(cancel):
        started.set()
        for i in range(3000):  # 30 s unless stopped
            background.check(cancel)
            steps.append(i)
            cancel.wait(0.01)
        return "finished"

    with pytest.raises(type(error)):
        with in_background(slow) as job:
            started.wait(10)
            raise error
    assert job.cancel_event.is_set() and not job.running and not _alive("slow")
    assert len(steps) < 3000


def test_check_stops_only_when_asked():
    background.check(None)
    event = threading.Event()
    background.check(event)
    event.set()
    with pytest.raises(Cancelled):
        background.check(event)


def test_a_job_that_was_cancelled_raises_cancelled_from_result():
    job = Job(lambda cancel: background.check(cancel))
    job.cancel_event.set()
    job.start()
    with pytest.raises(Cancelled):
        job.result()


def _images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def test_domain_classifier_and_near_duplicates_stop_when_cancelled():
    from kaggle_kit.gap import domain

    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        domain.domain_classifier(_images(40, 0), _images(40, 1), n_boot=5, cancel=stop)
    with pytest.raises(Cancelled):
        domain.near_duplicates(_images(10, 2), _images(20, 3), cancel=stop)


def test_covariate_evidence_in_a_thread_beside_cc_synth_fits_equals_it_computed_alone():
    """The report computes section 4's numbers in a thread while the runs' CC-Synth fits run under their own
    thread limits: the numbers must be those computed one after the other, to the bit."""
    from kaggle_kit.config import ReportConfig
    from kaggle_kit.gap import report_shift, shifts, synthetic
    from kaggle_kit.gap.image_stats import FEATURES

    train = _images(200, 4)
    comp = shifts.corrupt(_images(120, 5), "blur", 3, 0)
    comp[:20] = train[:20, :, ::-1]  # mirrored copies, so the near-duplicate counts are not all zero
    cfg = ReportConfig(domain_max_images=100)
    alone = report_shift.covariate_evidence(train, comp, cfg)
    rng = np.random.default_rng(6)
    probs = rng.dirichlet(np.ones(10), 600)
    stats = rng.normal(size=(600, len(FEATURES)))
    with in_background(report_shift.covariate_evidence, train, comp, cfg) as job:
        for seed in range(2):  # CC-Synth's fits, each with its own thread limit, beside the thread
            synthetic._FIT_MEMO.clear()
            synthetic.fit_correctness(probs[:300], rng.integers(0, 10, 300), stats[:300], probs[300:],
                                      rng.integers(0, 10, 300), stats[300:], seed=seed)
        beside = job.result()
    a, b = alone.domain, beside.domain
    assert (a.auc, a.ci, a.feature_auc, a.importance) == (b.auc, b.ci, b.feature_auc, b.importance)
    np.testing.assert_array_equal(a.oof_scores, b.oof_scores)
    np.testing.assert_array_equal(a.stats, b.stats)
    for field in ("max_similarity", "nearest", "mirrored"):
        np.testing.assert_array_equal(getattr(alone.near_dups, field), getattr(beside.near_dups, field))
    assert alone.near_dups.counts == beside.near_dups.counts and alone.near_dups.counts[0.95] >= 20


def test_a_run_that_fails_to_load_stops_the_reports_covariate_work(tmp_path, monkeypatch):
    """build_report computes section 4's numbers in a thread while it loads the runs; a run that fails must end
    the report with its own error, the thread stopped rather than left computing."""
    from kaggle_kit.errors import RunError
    from kaggle_kit.gap import report

    seen = {}

    def covariate_evidence(train, comp, cfg, cancel):
        seen["stopped"] = cancel.wait(30)

    def load_run(*args, **kwargs):
        raise RunError("runs/A: no logits")

    monkeypatch.setattr(report, "covariate_evidence", covariate_evidence)
    monkeypatch.setattr(report, "load_run", load_run)
    monkeypatch.chdir(tmp_path)  # no ledger here: the report reads an empty one
    data = type("D", (), {"train_images": _images(4, 7)})()
    comp = type("C", (), {"images": _images(4, 8)})()
    with pytest.raises(RunError, match="runs/A: no logits"):
        report.build_report([tmp_path / "A"], None, data, comp, tmp_path / "out")
    assert seen == {"stopped": True} and not _alive("covariate_evidence")
    assert not (tmp_path / "out").exists()


def test_the_boosting_limits_openmp_to_one_thread_and_leaves_blas_alone(monkeypatch):
    """BLAS's thread count is the process's: a fit in the main thread that limited it would change it under the
    report's near-duplicate products running in the other thread, and restore it to whatever it found."""
    from threadpoolctl import threadpool_info

    from kaggle_kit.gap import domain, synthetic
    from kaggle_kit.gap.image_stats import FEATURES

    def threads() -> dict[str, set[int]]:
        seen: dict[str, set[int]] = {}
        for lib in threadpool_info():
            seen.setdefault(lib["user_api"], set()).add(lib["num_threads"])
        return seen

    outside = threads()
    inside = []
    real_fit = synthetic.HistGradientBoostingClassifier.fit

    def noting_fit(self, *args, **kwargs):
        inside.append(threads())
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(synthetic.HistGradientBoostingClassifier, "fit", noting_fit)
    rng = np.random.default_rng(0)
    probs, stats = rng.dirichlet(np.ones(10), 200), rng.normal(size=(200, len(FEATURES)))
    synthetic._FIT_MEMO.clear()
    model = synthetic.fit_correctness(probs[:100], rng.integers(0, 10, 100), stats[:100], probs[100:],
                                      rng.integers(0, 10, 100), stats[100:], seed=0)
    model.predict_correct(probs, stats)
    domain.domain_classifier(_images(40, 0), _images(40, 1), n_boot=5)
    domain.reweighted_domain_auc(stats[:100], stats[100:], np.ones(100))
    assert len(inside) == 1 + 5 + 3  # CC-Synth's fit, the domain classifier's 5 folds, the reweighted AUC's 3
    for seen in inside:
        assert seen.get("openmp", {1}) == {1}
        assert seen.get("blas") == outside.get("blas")
    assert threads() == outside
