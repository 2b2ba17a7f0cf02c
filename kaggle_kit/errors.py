"""Named errors: every expected failure is a KitError with a one-line message saying what and what to do.

The CLI maps ``UsageError`` subclasses (bad input) to exit code 2 and every other ``KitError`` (a runtime
failure) to exit code 1, printing ``error: <message>`` without a traceback.
"""
from __future__ import annotations


class KitError(Exception):
    """Base of every expected failure; ``str(err)`` is the one line the CLI prints."""

    exit_code = 1


class UsageError(KitError):
    """Bad input or usage: the user must change what they passed in."""

    exit_code = 2


class ConfigError(UsageError):
    """A pipeline YAML or ``--set`` override is malformed, has an unknown key, or a wrong type."""


class DataFormatError(UsageError):
    """A data file exists but is not in the format the competition uses."""


class UnsafePickleError(DataFormatError):
    """A pickle names a global outside the allow-list: it was refused before anything ran."""


class DataNotFoundError(UsageError):
    """No data folder was found where the toolkit looked."""


class SubmissionError(UsageError):
    """A submission CSV is invalid, or writing it would overwrite an existing file."""


class ParameterBudgetError(UsageError):
    """A model has more trainable parameters than the competition allows."""


class UnknownModelError(UsageError):
    """A model name is not in the registry."""


class PretrainedWeightsError(UsageError):
    """Pretrained weights were requested; the competition forbids them."""


class UnsupportedModelError(UsageError):
    """A timm architecture exists but cannot be adapted to 32x32 inputs."""


class RunError(UsageError):
    """A run folder is missing, incomplete, or incompatible with another run."""


class KaggleError(KitError):
    """Talking to Kaggle failed; the message says what to do."""


class CredentialsError(KaggleError):
    """Kaggle credentials are missing or rejected."""

    exit_code = 2


class SubmissionLimitError(KaggleError):
    """No submissions are left today."""


class DuplicateSubmissionError(UsageError):
    """The same file (by sha256) was already submitted; pass --force to submit it again."""


class LedgerError(UsageError):
    """``submissions/ledger.csv`` is not a kaggle-kit ledger or a row cannot be written as given."""
