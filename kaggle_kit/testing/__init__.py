"""Test and demo helpers shipped with the package: a fake Kaggle server the unmodified official client talks to."""
