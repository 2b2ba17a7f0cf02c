"""The real kaggle client, started as the CLI starts it, in the environments CI runners and containers give it:
credentials in KAGGLE_USERNAME/KAGGLE_KEY and a HOME it cannot write. A fresh process each time, because the
client decides its config folder when it is first imported."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kaggle_kit import ledger
from kaggle_kit.testing.fake_kaggle import DEFAULT_KEY, DEFAULT_USER, FakeKaggle, FakeKaggleConfig, write_competition

ROOT = Path(__file__).resolve().parents[2]
N = 20


@pytest.fixture()
def fake(tmp_path):
    comp = write_competition(tmp_path / "comp", N)
    server = FakeKaggle(FakeKaggleConfig(labels_csv=comp["labels_csv"])).start()
    yield server, comp
    server.stop()


def _submit(server, comp, tmp_path: Path, home: Path, message: str, **env: str) -> Path:
    """``kaggle-kit submit`` of a valid CSV in a fresh process, credentials in the variables; the work folder."""
    full = {**os.environ, **server.client_env(tmp_path / "unused"),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "HOME": str(home), "KAGGLE_USERNAME": DEFAULT_USER, "KAGGLE_KEY": DEFAULT_KEY, **env}
    for name in ("KAGGLE_CONFIG_DIR", "XDG_CONFIG_HOME", "KAGGLE_API_TOKEN", "HTTPS_PROXY", "https_proxy"):
        full.pop(name, None)
    work = tmp_path / "work"
    work.mkdir()
    (work / "sub.csv").write_text("ID,Labels\n" + "".join(f"{i},{l}\n" for i, l in zip(comp["ids"], comp["labels"])))
    # the message as the bytes a UTF-8 terminal types: a str argument is encoded with this process's locale,
    # which under LC_ALL=C cannot hold 'é'
    proc = subprocess.run([sys.executable, "-m", "kaggle_kit", "submit", "sub.csv", "-m", message.encode("utf-8"),
                           "--upload", "always", "--against", str(comp["pickle"])], cwd=work, env=full,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return work


def test_an_upload_with_credential_variables_and_an_unwritable_home(fake, tmp_path):
    """kaggle 2.2.4 creates ~/.config/kaggle when imported: with HOME unwritable (here under a file, which even
    root cannot write into) every upload stopped with '<home>/.config: Not a directory' although the variables
    held the credentials."""
    server, comp = fake
    (tmp_path / "not-a-folder").write_text("")
    work = _submit(server, comp, tmp_path, tmp_path / "not-a-folder" / "home", "ci")
    assert [s.description for s in server.submissions] == ["ci"]
    assert [r["status"] for r in ledger.read_ledger(work / "submissions" / "ledger.csv").to_dict("records")] == \
        ["COMPLETE"]


def test_a_c_locale_sends_kaggle_the_message_as_typed(fake, tmp_path):
    """LC_ALL=C without UTF-8 mode: 'résumé ± 3' reached Python as surrogates and Kaggle was sent
    'r\\udcc3\\udca9sum...', while the ledger showed it right."""
    server, comp = fake
    (tmp_path / "home").mkdir()
    work = _submit(server, comp, tmp_path, tmp_path / "home", "résumé ± 3", LANG="C", LC_ALL="C", PYTHONUTF8="0",
                   PYTHONIOENCODING="")
    assert [s.description for s in server.submissions] == ["résumé ± 3"]
    assert ledger.read_ledger(work / "submissions" / "ledger.csv")["message"].tolist() == ["résumé ± 3"]
