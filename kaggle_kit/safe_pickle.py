"""The one restricted unpickler every pickle goes through.

``pickle.load`` on a downloaded file runs whatever callable the file names. This unpickler resolves only the
globals that plain numpy arrays, dicts, lists, bytes, strings and numbers need; any other global (``os.system``,
``builtins.eval``, ``subprocess.Popen``, a ``__reduce__`` payload's callable, ...) raises ``UnsafePickleError``
naming it *before* anything is called, because globals are resolved before REDUCE/BUILD opcodes run.
"""
from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any, BinaryIO

from kaggle_kit.errors import DataFormatError, UnsafePickleError

# (module, name) pairs a numpy array or a Python-2 CIFAR batch needs. numpy 2 moved numpy.core to numpy._core;
# both spellings appear in files in the wild. _codecs.encode is how protocol-2 pickles store bytes; it only
# turns a str into bytes.
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset({
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
    ("collections", "OrderedDict"),
    ("builtins", "bytearray"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "complex"),
    ("__builtin__", "bytearray"),
    ("__builtin__", "set"),
    ("__builtin__", "frozenset"),
    ("__builtin__", "complex"),
})


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(f"refused global '{module}.{name}'")
        if module == "__builtin__":  # Python-2 pickles
            module = "builtins"
        return super().find_class(module, name)

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("refused persistent id (pickles with external references are not allowed)")


def safe_loads(data: bytes, *, encoding: str = "bytes", source: str = "<bytes>") -> Any:
    return safe_load_stream(io.BytesIO(data), encoding=encoding, source=source)


def safe_load_stream(fh: BinaryIO, *, encoding: str = "bytes", source: str = "<stream>") -> Any:
    """Unpickle with the allow-list; every failure becomes a one-line error naming ``source``."""
    try:
        return _RestrictedUnpickler(fh, encoding=encoding).load()
    except UnsafePickleError as err:
        raise UnsafePickleError(f"{source}: unsafe pickle: {err}; it was not loaded "
                                "(only numpy arrays, dicts, lists, bytes, strings and numbers are allowed)") from None
    except EOFError:
        raise DataFormatError(f"{source}: truncated pickle (the file ends early); download it again") from None
    except (pickle.UnpicklingError, ValueError, TypeError, IndexError, KeyError, AttributeError,
            MemoryError, UnicodeDecodeError, OverflowError) as err:
        detail = str(err).splitlines()[0] if str(err) else err.__class__.__name__
        if "truncated" in detail:  # the C unpickler's wording when a large frame is cut short
            raise DataFormatError(f"{source}: truncated pickle (the file ends early); download it again") from None
        raise DataFormatError(f"{source}: not a valid pickle ({detail[:120]})") from None


def safe_load(path: str | Path, *, encoding: str = "bytes") -> Any:
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return safe_load_stream(fh, encoding=encoding, source=str(path))
    except FileNotFoundError:
        raise DataFormatError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataFormatError(f"{path}: is a folder, expected a pickle file") from None
