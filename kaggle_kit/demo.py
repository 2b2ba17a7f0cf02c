"""``make demo``: the whole pipeline on CIFAR-10 with a small model, a local fake Kaggle scoring the uploads.

Data: ``--data-dir`` or ``$KAGGLE_KIT_DATA`` when given (only there); else ``./data``, the shared folder, else
CIFAR-10 downloaded with torchvision. The fake server scores against the stand-in's labels when the folder has them
(the shared layout), otherwise against a held-out half of the CIFAR-10 test set that the demo writes in the
competition's pickle format, so a newcomer sees every stage, an uploaded submission, its score and the report.
Outputs go to their own work folder (default ``demo/``) so demo submissions never mix with real ones.
"""
from __future__ import annotations

import pickle
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from kaggle_kit.data import TEST_BATCH, load_cifar_batch, shared_data_dir
from kaggle_kit.datapaths import COMP_PICKLE, given_data_dir, reading_folder
from kaggle_kit.errors import ConfigError, DataFormatError, DataNotFoundError
from kaggle_kit.fsio import atomic_path, atomic_write_text, md5_file
from kaggle_kit.text import noun_for

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_TGZ_MD5 = "c58f30108f718f92721af3b95e74349a"  # of the official archive (torchvision's CIFAR10.tgz_md5)
DEMO_COMP_SEED = 2025
DEMO_COMP_FIRST = 5000  # CIFAR-10 test images from this index on become the demo's competition set
FAKE_KAGGLE_SUBMISSIONS = "fake-kaggle-submissions.json"  # in the work folder: what the fake Kaggle remembers


@dataclass(frozen=True)
class DemoData:
    root: Path          # a folder locate_data() accepts: CIFAR-10 batches + a competition pickle
    labels_csv: Path    # ID,Labels for the fake server only
    origin: str         # where the images came from, for the log


def _labels_beside(pickle_path: Path) -> Path | None:
    cand = pickle_path.parent / "labels.csv"
    return cand if cand.is_file() else None


def download_cifar10(dest: Path, echo: Callable[[str], None] = print) -> Path:
    """Download and unpack the official archive with torchvision; integrity is the md5 of the archive, then of
    each batch. Without the archive's md5 torchvision trusts any file of that name, so one cut off by an
    interrupted run was unpacked again on every rerun."""
    import http.client
    import tarfile
    import zlib

    from torchvision.datasets.utils import check_integrity, download_and_extract_archive

    from kaggle_kit.data import CIFAR10_MD5

    echo(f"downloading CIFAR-10 (163 MB) into {dest} ...")
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest / CIFAR10_ARCHIVE
    try:
        download_and_extract_archive(CIFAR10_URL, download_root=str(dest), filename=CIFAR10_ARCHIVE,
                                     md5=CIFAR10_TGZ_MD5)
    except (OSError, http.client.HTTPException, RuntimeError, EOFError, tarfile.TarError, zlib.error) as err:
        # a cut-off or damaged archive must not stay: the next run would start from it
        damaged = archive.is_file() and not check_integrity(str(archive), CIFAR10_TGZ_MD5)
        why = (f"{archive.name}: md5 differs from the official archive" if damaged
               else f"{err.__class__.__name__}: {str(err)[:80]}")
        archive.unlink(missing_ok=True)
        raise DataNotFoundError(f"could not download CIFAR-10 ({why}); run the demo again, or put the data in "
                                f"./data or set KAGGLE_KIT_DATA") from None
    batches = dest / "cifar-10-batches-py"
    bad = [n for n, md5 in CIFAR10_MD5.items() if not (batches / n).is_file() or md5_file(batches / n) != md5]
    if bad:
        raise DataFormatError(f"{batches}: downloaded {noun_for(len(bad), 'file')} {', '.join(bad)} "
                              f"{'differs' if len(bad) == 1 else 'differ'} from the official CIFAR-10; "
                              f"delete {dest} and run the demo again")
    return batches


def write_demo_competition(cifar_dir: Path, out_dir: Path) -> DemoData:
    """The second half of the CIFAR-10 test batch, shuffled, as ``{b'data', b'ids'}`` plus its labels CSV."""
    images, labels = load_cifar_batch(cifar_dir / TEST_BATCH)
    images, labels = images[DEMO_COMP_FIRST:], labels[DEMO_COMP_FIRST:]
    order = np.random.default_rng(DEMO_COMP_SEED).permutation(len(labels))
    ids = np.arange(len(labels), dtype=np.int64)
    out_dir.mkdir(parents=True, exist_ok=True)
    link = out_dir / "cifar-10-batches-py"
    if not link.exists():
        link.symlink_to(cifar_dir.resolve(), target_is_directory=True)
    with atomic_path(out_dir / COMP_PICKLE) as tmp:
        tmp.write_bytes(pickle.dumps({b"data": images[order], b"ids": ids}, protocol=4))
    rows = "\n".join(f"{i},{l}" for i, l in zip(ids.tolist(), labels[order].tolist()))
    labels_csv = atomic_write_text(out_dir / "labels.csv", f"ID,Labels\n{rows}\n")
    return DemoData(out_dir, labels_csv, f"CIFAR-10 test images {DEMO_COMP_FIRST}-9999 as the competition set")


def find_demo_data(data_dir: str | Path | None, workdir: Path, echo: Callable[[str], None] = print,
                   allow_download: bool = True) -> DemoData:
    named = given_data_dir(data_dir)  # --data-dir or $KAGGLE_KIT_DATA: the only folder looked in, as elsewhere
    folders = [named] if named is not None else [Path("data"), shared_data_dir()]
    for root in folders:
        with reading_folder(Path(root)) as found:  # not while a download moves files in
            if found is None:
                continue
            if found.comp_pickle is not None and _labels_beside(found.comp_pickle):
                return DemoData(found.root, _labels_beside(found.comp_pickle),
                                f"{found.root} (scored against {_labels_beside(found.comp_pickle)})")
            return write_demo_competition(found.cifar_dir, workdir / "demo-data")
    if named is not None:
        source = ("" if data_dir is not None else
                  " (from KAGGLE_KIT_DATA; unset it for ./data, the shared folder or a download)")
        raise DataNotFoundError(f"{named}: no CIFAR-10 batches there (expected cifar-10-batches-py/ or "
                                f"cifar-10-python/cifar-10-batches-py/){source}")
    if not allow_download:
        looked = ", ".join(str(f) for f in folders)
        raise DataNotFoundError(f"no CIFAR-10 data found (looked in: {looked}); put it in ./data or set "
                                f"KAGGLE_KIT_DATA")
    batches = download_cifar10(workdir / "demo-data" / "download", echo)
    return write_demo_competition(batches, workdir / "demo-data")


DEMO_PIPELINE = Path("pipelines") / "demo.yaml"


def demo_pipeline() -> Path:
    """``pipelines/demo.yaml`` of the current folder when it has one (a user's own), else the toolkit's own, so
    ``kaggle-kit demo`` works from any folder; the package sits in the project folder (``make install`` installs
    it editable)."""
    if DEMO_PIPELINE.is_file():
        return DEMO_PIPELINE
    own = Path(__file__).resolve().parent.parent / DEMO_PIPELINE
    if own.is_file():
        return own
    raise ConfigError(f"{DEMO_PIPELINE}: no such pipeline file here or in the toolkit's folder "
                      f"({own.parent.parent}); pass --pipeline PATH to a demo pipeline")


def competition_command() -> str:
    """The demo's next step, runnable from the current folder: ``make submit`` in the toolkit's own folder (its
    Makefile), else ``kaggle-kit run`` on ``pipelines/default.yaml`` here or, failing that, the toolkit's."""
    toolkit = Path(__file__).resolve().parent.parent
    default = Path("pipelines") / "default.yaml"
    if Path.cwd().resolve() == toolkit and Path("Makefile").is_file():
        return "make submit"
    return f"kaggle-kit run {shlex.quote(str(default if default.is_file() else toolkit / default))}"


def run_demo(pipeline: str | Path | None = None, overrides: list[str] = (), *,
             data_dir: str | Path | None = None, workdir: str | Path = "demo", progress: bool = True,
             echo: Callable[[str], None] = print, parallel_members: int | str | None = None):
    """Start a fake Kaggle on 127.0.0.1, point the real kaggle client at it, run the pipeline, stop it.
    ``parallel_members``: as `run`'s (None: ``$KAGGLE_KIT_PARALLEL_MEMBERS``, else one per visible CUDA GPU)."""
    from kaggle_kit.config import load_pipeline, overrides_hidden_by_members
    from kaggle_kit.kaggle_api import kaggle_env
    from kaggle_kit.pipeline import check_before_work, run_pipeline
    from kaggle_kit.testing.fake_kaggle import DEFAULT_KEY, DEFAULT_USER, FakeKaggle, FakeKaggleConfig

    work = Path(workdir)
    cfg = load_pipeline(demo_pipeline() if pipeline is None else pipeline, list(overrides))
    # before the work folder, its data and the fake Kaggle: a refused demo writes nothing; run_pipeline is handed
    # the findings, so it does not build every member's model again
    checked = check_before_work(cfg, parallel_members)
    for note in overrides_hidden_by_members(cfg, list(overrides)):
        echo(note)
    work.mkdir(parents=True, exist_ok=True)
    data = find_demo_data(data_dir, work, echo)
    echo(f"demo data: {data.origin}")
    # the fake Kaggle remembers the demo's submissions across runs, as Kaggle does (a rerun's sync finds them)
    server_cfg = FakeKaggleConfig(competition=cfg.submit.competition, labels_csv=data.labels_csv,
                                  submissions_file=work / FAKE_KAGGLE_SUBMISSIONS)
    with tempfile.TemporaryDirectory(prefix="kaggle-kit-demo-") as config_dir, FakeKaggle(server_cfg) as server:
        echo(f"fake Kaggle listening on {server.url} (the real kaggle client talks to it)")
        with kaggle_env(server, config_dir, DEFAULT_USER, DEFAULT_KEY) as env:
            return run_pipeline(cfg, data_dir=data.root, workdir=work, progress=progress, echo=echo,
                                kaggle_env=env, checked=checked)


__all__ = ["DemoData", "competition_command", "demo_pipeline", "download_cifar10", "find_demo_data", "run_demo",
           "write_demo_competition"]
