"""Crafted pickles that would create a marker file if anything ran must be refused, and nothing may run."""
from __future__ import annotations

import os
import pickle
import re
import subprocess

import numpy as np
import pytest

from kaggle_kit.errors import DataFormatError, UnsafePickleError
from kaggle_kit.safe_pickle import safe_load, safe_loads


class _OsSystem:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Popen:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (subprocess.Popen, (["touch", str(self.marker)],))


class _Eval:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (eval, (f"open({str(self.marker)!r}, 'w').close()",))


class _Exec:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


def _getattr_trick(marker) -> bytes:
    """getattr(__import__('os'), 'system')('touch marker') written with raw opcodes (protocol 2)."""
    cmd = f"touch {marker}".encode()
    return (b"\x80\x02"
            b"cbuiltins\ngetattr\n"
            b"cbuiltins\n__import__\n" b"X\x02\x00\x00\x00os" b"\x85R"
            b"X\x06\x00\x00\x00system" b"\x86R"
            + b"X" + len(cmd).to_bytes(4, "little") + cmd + b"\x85R.")


def _nested_in_dict(marker) -> bytes:
    """A dict that looks like the competition pickle but hides a payload under 'ids'."""
    return pickle.dumps({b"data": np.zeros((2, 32, 32, 3), np.uint8), b"ids": _OsSystem(marker)}, protocol=4)


def _object_array(marker) -> bytes:
    arr = np.empty(1, dtype=object)
    arr[0] = _OsSystem(marker)
    return pickle.dumps(arr, protocol=2)


PAYLOADS = {
    "os.system": lambda m: pickle.dumps(_OsSystem(m), protocol=4),
    "os.system-proto0": lambda m: pickle.dumps(_OsSystem(m), protocol=0),
    "subprocess.Popen": lambda m: pickle.dumps(_Popen(m), protocol=4),
    "builtins.eval": lambda m: pickle.dumps(_Eval(m), protocol=4),
    "builtins.exec": lambda m: pickle.dumps(_Exec(m), protocol=4),
    "getattr-trick": _getattr_trick,
    "nested-in-dict": _nested_in_dict,
    "object-array": _object_array,
}


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_malicious_payload_is_refused_and_nothing_runs(tmp_path, name):
    marker = tmp_path / "pwned"
    blob = PAYLOADS[name](marker)
    # sanity: the payload really does run under plain pickle (for the ones that are safe to prove that way)
    path = tmp_path / "evil.pkl"
    path.write_bytes(blob)
    with pytest.raises(UnsafePickleError) as info:
        safe_load(path)
    assert not marker.exists()
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg and "refused global" in msg


def test_payload_really_runs_under_plain_pickle(tmp_path):
    """Proves the crafted payloads are live: plain pickle creates the marker."""
    marker = tmp_path / "pwned"
    pickle.loads(_getattr_trick(marker))
    assert marker.exists()


def test_refusal_names_the_global(tmp_path):
    with pytest.raises(UnsafePickleError, match=r"refused global 'posix.system'|refused global 'os.system'"):
        safe_loads(pickle.dumps(_OsSystem(tmp_path / "x")))


@pytest.mark.parametrize("obj", [
    {b"data": np.arange(12, dtype=np.uint8).reshape(3, 4), b"ids": np.arange(3)},
    {"labels": [1, 2, 3], "name": "x", "f": 1.5, "c": 1 + 2j, "b": b"raw", "t": (1, 2), "s": {1, 2}},
    np.arange(5, dtype=np.int64),
    np.float32(3.5),
])
@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_plain_data_round_trips(obj, protocol):
    out = safe_loads(pickle.dumps(obj, protocol=protocol))
    if isinstance(obj, dict):
        assert obj.keys() == out.keys()
        for k in obj:
            np.testing.assert_array_equal(np.asarray(obj[k], dtype=object), np.asarray(out[k], dtype=object))
    else:
        np.testing.assert_array_equal(obj, out)


@pytest.mark.parametrize("blob,match", [
    (b"", "truncated"),
    (pickle.dumps({b"a": np.zeros(100)})[:50], "truncated|not a valid pickle"),
    (b"this is not a pickle at all", "not a valid pickle"),
    (b"\x80\x05\xff\xff", "not a valid pickle|truncated"),
])
def test_broken_files_give_one_line_format_errors(tmp_path, blob, match):
    path = tmp_path / "bad.pkl"
    path.write_bytes(blob)
    with pytest.raises(DataFormatError, match=match) as info:
        safe_load(path)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataFormatError, match="file not found"):
        safe_load(tmp_path / "nope.pkl")


# --- archives handed over instead of the pickle inside them ---------------------------------------------------

def _pickle_bytes() -> bytes:
    return pickle.dumps({b"data": np.zeros((2, 32, 32, 3), np.uint8), b"ids": np.arange(2)}, protocol=4)


def _zip(path):
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("cifar_test_nolabel.pkl", _pickle_bytes())


def _tar(path, mode="w"):
    import io
    import tarfile

    blob = _pickle_bytes()
    with tarfile.open(path, mode) as tf:
        info = tarfile.TarInfo("comp/cifar_test_nolabel.pkl")
        info.size = len(blob)
        tf.addfile(info, io.BytesIO(blob))


def _compressed(module):
    def write(path):
        path.write_bytes(module.compress(_pickle_bytes()))
    return write


def _archive_writers():
    import bz2
    import gzip
    import lzma

    return {
        "comp.zip": (_zip, "is a zip archive, not a pickle; unzip it first (`unzip {p}`)"),
        "comp.tar": (_tar, "is a tar archive, not a pickle; unpack it first (`tar -xf {p}`)"),
        "comp.tar.gz": (lambda p: _tar(p, "w:gz"),
                        "is a gzip-compressed tar archive, not a pickle; unpack it first (`tar -xzf {p}`)"),
        "comp.pkl.gz": (_compressed(gzip), "is gzip-compressed, not a pickle; decompress it first (`gunzip -k {p}`)"),
        "comp.pkl.bz2": (_compressed(bz2), "is bzip2-compressed, not a pickle; decompress it first"),
        "comp.pkl.xz": (_compressed(lzma), "is xz-compressed, not a pickle; decompress it first (`unxz -k {p}`)"),
    }


@pytest.mark.parametrize("name", ["comp.zip", "comp.tar", "comp.tar.gz", "comp.pkl.gz", "comp.pkl.bz2",
                                  "comp.pkl.xz"])
def test_archive_is_named_as_an_archive_not_a_broken_pickle(tmp_path, name):
    write, expected = _archive_writers()[name]
    path = tmp_path / name
    write(path)
    with pytest.raises(DataFormatError) as info:
        safe_load(path)
    msg = str(info.value)
    assert type(info.value) is DataFormatError  # not UnsafePickleError: nothing was unpickled
    assert msg.startswith(f"{path}: " + expected.format(p=path)), msg
    assert "truncated" not in msg and "not a valid pickle" not in msg and "\n" not in msg


def test_zip_message_tells_what_to_do(tmp_path):
    path = tmp_path / "comp.zip"
    _zip(path)
    with pytest.raises(DataFormatError) as info:
        safe_load(path)
    assert str(info.value) == (f"{path}: is a zip archive, not a pickle; unzip it first (`unzip {path}`) and pass "
                               "the .pkl inside, or point --data-dir at the unpacked folder")


def test_archive_path_with_spaces_is_quoted_in_the_command(tmp_path):
    path = tmp_path / "my comp.zip"
    _zip(path)
    with pytest.raises(DataFormatError, match=r"\(`unzip '.*my comp\.zip'`\)"):
        safe_load(path)


def test_archive_bytes_are_detected_by_safe_loads_too(tmp_path):
    path = tmp_path / "comp.zip"
    _zip(path)
    with pytest.raises(DataFormatError, match=r"^upload\.zip: is a zip archive, not a pickle"):
        safe_loads(path.read_bytes(), source="upload.zip")


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_real_pickles_are_never_taken_for_archives(protocol):
    from kaggle_kit.safe_pickle import archive_kind

    objs = [{b"data": np.zeros((3, 3072), np.uint8), b"labels": [1, 2, 3]}, b"PK\x03\x04" * 200,
            "ustar" * 200, [b"\x1f\x8b\x08", b"BZh91AY&SY"], (40, 181, 47, 253), np.arange(300)]
    for obj in objs:
        blob = pickle.dumps(obj, protocol=protocol)
        assert archive_kind(blob[:512]) is None
        safe_loads(blob)  # and it still loads
    # 'ustar' at offset 257 alone is not enough: a tar header must also pass its checksum
    padded = bytearray(600)
    padded[257:262] = b"ustar"
    assert archive_kind(bytes(padded)) is None


# --- odd-but-well-formed pickles ------------------------------------------------------------------------------

@pytest.mark.parametrize("obj", [b"", {b"batch_label": b"", b"data": np.zeros((0, 3072), np.uint8)}])
def test_protocol2_empty_bytes_load(obj):
    """Protocol 2 writes b'' as a call to bytes(); that (and only the zero-argument form) is allowed."""
    out = safe_loads(pickle.dumps(obj, protocol=2))
    if isinstance(obj, dict):
        assert out[b"batch_label"] == b"" and out[b"data"].shape == (0, 3072)
    else:
        assert out == b""


def test_bytes_with_arguments_is_refused():
    class Big:
        def __reduce__(self):
            return (bytes, (10 ** 12,))

    with pytest.raises(UnsafePickleError, match=r"refused 'builtins\.bytes' called with arguments"):
        safe_loads(pickle.dumps(Big(), protocol=2))


def test_unknown_codec_in_codecs_encode_is_a_format_error():
    blob = (b"\x80\x02c_codecs\nencode\n" b"X\x01\x00\x00\x00x" b"X\x0d\x00\x00\x00no-such-codec" b"\x86R.")
    with pytest.raises(DataFormatError, match=r"^<bytes>: not a valid pickle \(unknown encoding") as info:
        safe_loads(blob)
    assert "\n" not in str(info.value)


def test_permission_denied_is_a_format_error(tmp_path, monkeypatch):
    import kaggle_kit.safe_pickle as sp

    path = tmp_path / "c.pkl"
    path.write_bytes(_pickle_bytes())

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(sp, "open", denied, raising=False)
    with pytest.raises(DataFormatError, match="^" + re.escape(f"{path}: permission denied")):
        safe_load(path)


def test_getattr_alone_is_refused_naming_it():
    """builtins.getattr on an allowed type (set.__base__, then __subclasses__) reaches os.system unnamed."""
    blob = b"\x80\x02cbuiltins\ngetattr\ncbuiltins\nset\nX\x08\x00\x00\x00__base__\x86R."
    assert pickle.loads(blob) is object  # the control: plain pickle does run it
    with pytest.raises(UnsafePickleError, match=r"refused global 'builtins\.getattr'"):
        safe_loads(blob)


def test_persistent_ids_are_refused():
    """A persistent_load that returned the id would hand the caller whatever object the pickle names."""
    with pytest.raises(UnsafePickleError, match="refused persistent id"):
        safe_loads(b"\x80\x02X\x03\x00\x00\x00fooQ.")


@pytest.mark.parametrize("blob", [pickle.dumps(np.arange(20000), protocol=4)[:5000],
                                  pickle.dumps([b"x" * 100000], protocol=4)[:5000]])
def test_a_cut_large_frame_reads_as_truncated(blob):
    """The C unpickler's 'data was truncated' must say download again, not 'not a valid pickle'."""
    with pytest.raises(DataFormatError, match=r"^<bytes>: truncated pickle \(the file ends early\)"):
        safe_loads(blob)


@pytest.mark.parametrize("magic,what", [
    (b"\x28\xb5\x2f\xfd", "zstd-compressed, not a pickle; decompress it first (`unzstd "),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive, not a pickle; unpack it first (`7z x "),
])
def test_zstd_and_7z_magic_are_named(magic, what):
    """A missed magic number would read a .pkl.zst or .7z download as a broken pickle with no way forward."""
    with pytest.raises(DataFormatError, match=r"^c\.bin: is " + re.escape(what)):
        safe_loads(magic + bytes(100), source="c.bin")
