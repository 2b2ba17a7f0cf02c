"""The one restricted unpickler every pickle goes through.

``pickle.load`` on a downloaded file runs whatever callable the file names. This unpickler resolves only the
globals that plain numpy arrays, dicts, lists, bytes, strings and numbers need; any other global (``os.system``,
``builtins.eval``, ``subprocess.Popen``, a ``__reduce__`` payload's callable, ...) raises ``UnsafePickleError``
naming it *before* anything is called, because globals are resolved before REDUCE/BUILD opcodes run.
"""
from __future__ import annotations

import io
import pickle
import re
import shlex
import zlib
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


def _empty_bytes(*args: Any) -> bytes:
    """Protocol-2 pickles store b'' (an empty array's buffer, an empty batch_label) as ``bytes()``; only that
    zero-argument call is honoured, so ``bytes(10**12)`` cannot be used to exhaust memory."""
    if args:
        raise UnsafePickleError("refused 'builtins.bytes' called with arguments (only bytes() is allowed)")
    return b""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in (("builtins", "bytes"), ("__builtin__", "bytes")):
            return _empty_bytes
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(f"refused global '{module}.{name}'")
        if module == "__builtin__":  # Python-2 pickles
            module = "builtins"
        return super().find_class(module, name)

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("refused persistent id (pickles with external references are not allowed)")


HEAD_BYTES = 512  # enough for every magic number below, the tar header included


def _is_tar_header(head: bytes) -> bool:
    """A POSIX/GNU tar header block: 'ustar' at 257 and a matching header checksum (so no pickle passes)."""
    if len(head) < 512 or head[257:262] != b"ustar":
        return False
    try:
        stored = int(head[148:156].replace(b"\0", b" ").strip() or b"-1", 8)
    except ValueError:
        return False
    return stored == sum(head[:148]) + 8 * 32 + sum(head[156:512])


def _gunzip_head(head_of_file: bytes) -> bytes:
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head_of_file, HEAD_BYTES)
    except zlib.error:
        return b""


def archive_kind(head: bytes) -> str | None:
    """Name the archive/compression format whose magic bytes start ``head``; None for anything else.

    Each magic is several bytes long and none is the start of a loadable pickle (protocol 2+ pickles start
    with 0x80; the first bytes here are not opcodes, or opcodes whose operands cannot follow), and a bare tar
    header must also pass its checksum, so a real pickle is not flagged.
    """
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    if head[:3] == b"\x1f\x8b\x08":
        return "tar.gz" if _is_tar_header(_gunzip_head(head)) else "gzip"
    if re.fullmatch(rb"BZh[1-9](\x31\x41\x59\x26\x53\x59|\x17\x72\x45\x38\x50\x90)", head[:10]):
        return "bzip2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[:6] == b"7z\xbc\xaf\x27\x1c":
        return "7z"
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd"
    if _is_tar_header(head):
        return "tar"
    return None


_UNPACK = {  # kind -> (what it is, verb, command here, command into folder {d} when the tool has one)
    "zip": ("a zip archive", "unzip", "unzip {q}", "unzip {q} -d {d}"),
    "tar.gz": ("a gzip-compressed tar archive", "unpack", "tar -xzf {q}", "tar -xzf {q} -C {d}"),
    "gzip": ("gzip-compressed", "decompress", "gunzip -k {q}", None),
    "bzip2": ("bzip2-compressed", "decompress", "bunzip2 -k {q}", None),
    "xz": ("xz-compressed", "decompress", "unxz -k {q}", None),
    "7z": ("a 7z archive", "unpack", "7z x {q}", "7z x {q} -o{d}"),
    "zstd": ("zstd-compressed", "decompress", "unzstd {q}", None),
    "tar": ("a tar archive", "unpack", "tar -xf {q}", "tar -xf {q} -C {d}"),
}


def unpack_command(path: str | Path, kind: str | None, into: str | Path | None = None) -> str | None:
    """The shell command that unpacks an archive ``archive_kind`` named (into folder ``into``, for the kinds
    whose tool can); None for anything else."""
    entry = _UNPACK.get(kind or "")
    template = None if entry is None else entry[2] if into is None else entry[3]
    return None if template is None else template.format(q=shlex.quote(str(path)), d=shlex.quote(str(into)))


def describe_archive(kind: str) -> str:
    """'a zip archive', 'gzip-compressed', ... for a kind ``archive_kind`` returned."""
    return _UNPACK[kind][0]


def archive_message(source: str, kind: str) -> str:
    """``<source>: is a zip archive, not a pickle; unzip it first (`unzip <source>`) ...`` (one line)."""
    what, verb = _UNPACK[kind][:2]
    unpack = unpack_command(source, kind)
    then = ("pass the file it decompresses to" if verb == "decompress"
            else "pass the .pkl inside, or point --data-dir at the unpacked folder")
    return f"{source}: is {what}, not a pickle; {verb} it first (`{unpack}`) and {then}"


def _refuse_archive(head: bytes, source: str) -> None:
    kind = archive_kind(head)
    if kind is not None:
        raise DataFormatError(archive_message(source, kind))


def safe_loads(data: bytes, *, encoding: str = "bytes", source: str = "<bytes>") -> Any:
    return safe_load_stream(io.BytesIO(data), encoding=encoding, source=source)


def safe_load_stream(fh: BinaryIO, *, encoding: str = "bytes", source: str = "<stream>") -> Any:
    """Unpickle with the allow-list; every failure becomes a one-line error naming ``source``.

    A seekable stream is first checked for an archive's magic bytes (a zip handed over instead of the pickle
    inside it would otherwise read as a truncated or unsafe pickle) and rewound.
    """
    if fh.seekable():
        start = fh.tell()
        head = fh.read(HEAD_BYTES)
        fh.seek(start)
        _refuse_archive(head, source)
    try:
        return _RestrictedUnpickler(fh, encoding=encoding).load()
    except UnsafePickleError as err:
        raise UnsafePickleError(f"{source}: unsafe pickle: {err}; it was not loaded "
                                "(only numpy arrays, dicts, lists, bytes, strings and numbers are allowed)") from None
    except EOFError:
        raise DataFormatError(f"{source}: truncated pickle (the file ends early); download it again") from None
    except (pickle.UnpicklingError, ValueError, TypeError, LookupError, AttributeError,
            MemoryError, UnicodeDecodeError, OverflowError, RecursionError) as err:
        detail = str(err).splitlines()[0] if str(err) else err.__class__.__name__
        if "truncated" in detail:  # the C unpickler's wording when a large frame is cut short
            raise DataFormatError(f"{source}: truncated pickle (the file ends early); download it again") from None
        raise DataFormatError(f"{source}: not a valid pickle ({detail[:120]})") from None


def safe_load(path: str | Path, *, encoding: str = "bytes") -> Any:
    """Unpickle a file with the allow-list; an archive (zip, tar, gzip, ...) is named as one, not unpickled."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:  # a file is seekable, so safe_load_stream checks its magic bytes first
            return safe_load_stream(fh, encoding=encoding, source=str(path))
    except FileNotFoundError:
        raise DataFormatError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataFormatError(f"{path}: is a folder, expected a pickle file") from None
    except PermissionError:
        raise DataFormatError(f"{path}: permission denied (cannot read the file)") from None
