"""Crafted pickles that would create a marker file if anything ran must be refused, and nothing may run."""
from __future__ import annotations

import os
import pickle
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
