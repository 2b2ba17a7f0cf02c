"""The demo's CIFAR-10 download fallback against a local HTTP server: an archive cut off by an earlier run is
not trusted, a cut-off or damaged download is one error line and leaves no file a rerun would trust.

The batches are tiny synthetic ones; the md5s the toolkit checks are set to theirs."""
from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from kaggle_kit import data as kit_data
from kaggle_kit import demo
from kaggle_kit.errors import KitError

ARCHIVE = "cifar-10-python.tar.gz"


def _tiny_cifar_tgz() -> tuple[bytes, dict[str, str]]:
    rng = np.random.default_rng(0)
    files = {}
    for name in [*kit_data.TRAIN_BATCHES, kit_data.TEST_BATCH]:
        files[name] = pickle.dumps({b"data": rng.integers(0, 256, (10, 3072), dtype=np.uint8),
                                    b"labels": list(range(10))}, protocol=2)
    files[kit_data.META_FILE] = pickle.dumps({b"label_names": [n.encode() for n in kit_data.CLASS_NAMES]},
                                             protocol=2)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, blob in files.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return buf.getvalue(), {n: hashlib.md5(b).hexdigest() for n, b in files.items()}


class _Server:
    """Serves one archive; ``cut_at`` sends the full Content-Length but only that many bytes, then hangs up."""

    def __init__(self, payload: bytes):
        self.payload, self.cut_at, self.gets = payload, None, 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _head(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(outer.payload)))
                self.end_headers()

            def do_HEAD(self):
                self._head()

            def do_GET(self):
                outer.gets += 1
                self._head()
                self.wfile.write(outer.payload[:outer.cut_at])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/{ARCHIVE}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture()
def server(monkeypatch):
    payload, batch_md5 = _tiny_cifar_tgz()
    srv = _Server(payload)
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(demo, "CIFAR10_URL", srv.url)
    monkeypatch.setattr(demo, "CIFAR10_TGZ_MD5", hashlib.md5(payload).hexdigest(), raising=False)
    monkeypatch.setattr(kit_data, "CIFAR10_MD5", batch_md5)
    yield srv
    srv.httpd.shutdown()


def test_download_unpacks_and_checks_the_batches(server, tmp_path):
    batches = demo.download_cifar10(tmp_path / "dl", echo=lambda s: None)
    assert sorted(p.name for p in batches.iterdir()) == sorted([*kit_data.CIFAR10_MD5])


def test_archive_cut_off_by_an_earlier_run_is_downloaded_again(server, tmp_path):
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl" / ARCHIVE).write_bytes(server.payload[: len(server.payload) // 2])  # killed half-way
    batches = demo.download_cifar10(tmp_path / "dl", echo=lambda s: None)  # was: trusted, EOFError traceback
    assert server.gets and (batches / "test_batch").is_file()  # downloaded, not taken as it was
    assert (tmp_path / "dl" / ARCHIVE).read_bytes() == server.payload


def test_download_cut_off_is_one_line_and_leaves_no_archive(server, tmp_path):
    server.cut_at = len(server.payload) // 2
    with pytest.raises(KitError) as info:  # was: http.client.IncompleteRead traceback, half an archive kept
        demo.download_cifar10(tmp_path / "dl", echo=lambda s: None)
    msg = str(info.value)
    assert msg.startswith("could not download CIFAR-10 (") and "\n" not in msg, msg
    assert not (tmp_path / "dl" / ARCHIVE).exists()


def test_damaged_download_is_one_line_and_leaves_no_archive(server, tmp_path):
    server.payload = server.payload[:-100] + bytes(100)  # same length, wrong md5
    with pytest.raises(KitError) as info:  # was: extracted and failed on the batches, or a traceback
        demo.download_cifar10(tmp_path / "dl", echo=lambda s: None)
    msg = str(info.value)
    assert msg.startswith("could not download CIFAR-10 (") and "md5" in msg and "\n" not in msg, msg
    assert not (tmp_path / "dl" / ARCHIVE).exists()


def test_the_demo_competition_is_the_test_batchs_second_part_shuffled_with_its_labels(tmp_path, monkeypatch):
    """The first part taken instead, or the labels left unshuffled beside shuffled images, would make the fake
    Kaggle score every demo submission against the wrong answers."""
    monkeypatch.setattr(demo, "DEMO_COMP_FIRST", 2)
    cifar = tmp_path / "cifar-10-batches-py"
    cifar.mkdir()
    labels = np.array([0, 1, 2, 3, 4, 5, 6, 7])
    batch = {b"data": np.repeat(labels[:, None] * 10, 3072, axis=1).astype(np.uint8), b"labels": labels.tolist()}
    (cifar / kit_data.TEST_BATCH).write_bytes(pickle.dumps(batch, protocol=2))
    out = demo.write_demo_competition(cifar, tmp_path / "demo-data")
    comp = pickle.loads((out.root / "cifar_test_nolabel.pkl").read_bytes())
    rows = [line.split(",") for line in out.labels_csv.read_text().splitlines()[1:]]
    assert [int(i) for i, _ in rows] == comp[b"ids"].tolist() == list(range(6))
    assert [int(label) * 10 for _, label in rows] == comp[b"data"][:, 0, 0, 0].tolist()
    assert sorted(int(label) for _, label in rows) == [2, 3, 4, 5, 6, 7]
    assert [int(label) for _, label in rows] != [2, 3, 4, 5, 6, 7]  # shuffled


def test_a_downloaded_batch_whose_md5_differs_is_refused_naming_it(server, tmp_path, monkeypatch):
    """Dropping the batches' md5 check would run the demo on files that are not the official CIFAR-10."""
    from kaggle_kit.errors import DataFormatError

    monkeypatch.setattr(kit_data, "CIFAR10_MD5", {**kit_data.CIFAR10_MD5, "data_batch_2": "0" * 32})
    with pytest.raises(DataFormatError, match=r"dl/cifar-10-batches-py: downloaded file data_batch_2 differs from "
                                              r"the official CIFAR-10; delete .*dl and run the demo again$"):
        demo.download_cifar10(tmp_path / "dl", echo=lambda s: None)


def test_a_named_data_folder_without_cifar_is_refused_though_data_has_it(tmp_path, monkeypatch):
    """Looking in ./data after the folder --data-dir names would run the demo on other data than the user gave."""
    from kaggle_kit.errors import DataNotFoundError

    batches = tmp_path / "data" / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    for name in [*kit_data.TRAIN_BATCHES, kit_data.TEST_BATCH, kit_data.META_FILE]:
        (batches / name).write_bytes(b"")
    (tmp_path / "data" / "cifar_test_nolabel.pkl").write_bytes(b"")
    (tmp_path / "data" / "labels.csv").write_text("ID,Labels\n")
    (tmp_path / "mine").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataNotFoundError, match=r"^mine: no CIFAR-10 batches there"):
        demo.find_demo_data("mine", tmp_path / "work", allow_download=False)
