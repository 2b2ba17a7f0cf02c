"""Test and demo helpers shipped with the package: a fake Kaggle server the unmodified official client talks to."""


def use_env(monkeypatch, env: dict) -> None:
    """Apply an environment (``None`` values unset) through pytest's monkeypatch, so tests restore it."""
    for k, v in env.items():
        if v is None:
            monkeypatch.delenv(k, raising=False)
        else:
            monkeypatch.setenv(k, v)
