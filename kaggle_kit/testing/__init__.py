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
