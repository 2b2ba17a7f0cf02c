"""Test and demo helpers shipped with the package: a fake Kaggle server the unmodified official client talks to."""


def use_env(monkeypatch, env: dict) -> None:
    """Apply an environment (``None`` values unset) through pytest's monkeypatch, so tests restore it."""
    for k, v in env.items():
        if v is None:
            monkeypatch.delenv(k, raising=False)
        else:
            monkeypatch.setenv(k, v)


def unprivileged() -> list[str]:
    """A command prefix under which file permissions count (root ignores them unless it drops its DAC override):
    [] for a normal user, ``setpriv`` dropping the override for root. Skips the calling test where root has no
    ``setpriv``, since a read-only folder cannot be simulated then."""
    import os
    import shutil

    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        import pytest

        pytest.skip("running as root without setpriv: a read-only folder cannot be simulated")
    caps = "-dac_override,-dac_read_search"
    return ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}"]


def write_yaml(folder, text: str, name: str = "p.yaml"):
    """``text`` written to ``folder/name`` in UTF-8, as the loader reads it whatever the locale: a pipeline file
    for a test; returns its path."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def on_disk(name: str) -> str:
    """How this process spells the file name made of ``name``'s UTF-8 bytes: ``name`` itself under a UTF-8
    locale; under ``LC_ALL=C`` without UTF-8 mode, which cannot encode 'é' in a path at all, those bytes as
    surrogates (what ``os.listdir`` and ``sys.argv`` give there). A test that makes or expects a non-ASCII file
    name through it passes under either locale."""
    import os

    return os.fsdecode(name.encode("utf-8"))


def load_error(path, overrides=(), exc=None, where=None) -> str:
    """The error ``load_pipeline`` raises (``exc``, ConfigError unless told), checked to be one line that starts
    with what it blames: the file, or ``where`` (``--set KEY=VALUE`` when an override broke a valid file)."""
    import pytest

    from kaggle_kit.config import load_pipeline
    from kaggle_kit.errors import ConfigError

    with pytest.raises(exc or ConfigError) as info:
        load_pipeline(path, list(overrides))
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{where or path}: "), msg
    return msg


def pause_first_call(owner, name: str, word: str) -> None:
    """In a child process a test holds: the first call of ``owner.name`` prints ``word`` and waits for a line on
    stdin before it runs, so the test acts (a second command, a signal) while the child is exactly there."""
    import sys

    real = getattr(owner, name)
    waited = []

    def paused(*args, **kwargs):
        if not waited:
            waited.append(True)
            print(word, flush=True)
            sys.stdin.readline()
        return real(*args, **kwargs)

    setattr(owner, name, paused)
