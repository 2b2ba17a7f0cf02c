"""Shared fixtures. Tests under tests/real and tests/e2e are marked automatically by folder.

Missing shared data is a failure under CI (CI=true) and a skip elsewhere: CI must never pass by skipping.
"""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from kaggle_kit.data import shared_data_dir

ROOT = Path(__file__).resolve().parent.parent

# A shell starting a job in the background (``cmd &`` without job control, as some CI runners and nohup do) sets
# SIGINT to "ignore", and children inherit that: the tests that stop a pipeline or the fake server with Ctrl-C
# would then see it ignored. A handler here is reset to the default on exec, so every child can be interrupted.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session", autouse=True)
def _private_tmpdir(tmp_path_factory):
    """Every temporary file of the tests and of the processes they start (the kernel script's unpacked source,
    torchrun's rendezvous folders, matplotlib's config) goes under pytest's own base folder, which pytest prunes:
    a developer running the suite often would otherwise collect them in /tmp."""
    import tempfile

    folder = tmp_path_factory.mktemp("tmp")
    old_env, old_tempdir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = None  # tempfile caches its choice; read TMPDIR again
    yield folder
    tempfile.tempdir = old_tempdir
    if old_env is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = old_env


def pytest_collection_modifyitems(config, items):
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "real" in parts:
            item.add_marker(pytest.mark.real)
        if "e2e" in parts:
            item.add_marker(pytest.mark.e2e)


def _require(path: Path) -> Path:
    if not path.exists():
        msg = f"shared data missing: {path} (set KAGGLE_KIT_SHARED_DATA)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return _require(shared_data_dir())


@pytest.fixture(scope="session")
def cifar_dir(shared_data) -> Path:
    return _require(shared_data / "cifar-10-python" / "cifar-10-batches-py")


@pytest.fixture(scope="session")
def standin_pickle(shared_data) -> Path:
    return _require(shared_data / "standin" / "cifar_test_nolabel.pkl")


@pytest.fixture(scope="session")
def standin_labels(shared_data) -> Path:
    return _require(shared_data / "standin" / "labels.csv")


@pytest.fixture(scope="session")
def cifar10(cifar_dir):
    from kaggle_kit.data import load_cifar10

    return load_cifar10(cifar_dir)


@pytest.fixture(scope="session")
def standin(standin_pickle):
    from kaggle_kit.data import load_competition

    return load_competition(standin_pickle)
