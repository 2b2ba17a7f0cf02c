"""CLI subcommand modules: each defines ``register(subparsers)`` and is discovered by ``kaggle_kit.cli``."""
