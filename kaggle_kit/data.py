"""Loading the competition's data into memory: uint8 NHWC images, int64 labels and ids.

Everything goes through ``safe_pickle``. Formats are checked explicitly and never reshaped by guesswork: a
competition pickle must be (N,32,32,3) HWC or the 2024 edition's (N,3072) R|G|B planes, nothing else.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kaggle_kit.errors import DataFormatError
from kaggle_kit.safe_pickle import safe_load
from kaggle_kit.text import count_words, noun_for

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)  # per-channel RGB mean on the 0-1 scale (training batches)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)   # per-channel RGB std on the 0-1 scale (training batches)
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META_FILE = "batches.meta"
# md5 of the official python batches (the same list torchvision checks)
CIFAR10_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
IMAGE_SHAPE = (32, 32, 3)


@dataclass(frozen=True)
class Cifar10:
    train_images: np.ndarray  # (50000, 32, 32, 3) uint8
    train_labels: np.ndarray  # (50000,) int64
    test_images: np.ndarray   # (10000, 32, 32, 3) uint8
    test_labels: np.ndarray   # (10000,) int64
    class_names: tuple[str, ...]


@dataclass(frozen=True)
class CompetitionSet:
    images: np.ndarray  # (N, 32, 32, 3) uint8
    ids: np.ndarray     # (N,) int64, unique, in the file's order (the submission's row order)
    source: str = ""


def _get(d: dict, key: str) -> Any:
    """Look a key up as bytes (Python-2 / encoding='bytes' pickles) or str."""
    if key.encode() in d:
        return d[key.encode()]
    return d.get(key)


def planes_to_nhwc(flat: np.ndarray) -> np.ndarray:
    """(N, 3072) R|G|B planes -> contiguous (N, 32, 32, 3)."""
    return np.ascontiguousarray(flat.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def _describe(value: Any) -> str:
    """What a loaded value is, for an error line: 'int64 (4,)' for arrays, the type name otherwise."""
    if isinstance(value, np.ndarray):
        return f"{value.dtype} {value.shape}"
    return type(value).__name__


_NONE = object()  # "no such item" (None itself may be the odd label)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _int_array(values: Any, source: str, what: str) -> np.ndarray:
    """A list/tuple/array of integers as a 1-D int64 array; anything else is a one-line DataFormatError.

    ``np.asarray`` alone would turn 'cat' into a string array (and int('cat') then raises), floats into
    silently truncated labels, ragged lists into a ValueError and huge ints into an object array.
    """
    if not isinstance(values, (list, tuple, np.ndarray)):
        raise DataFormatError(f"{source}: '{what}' must be a list of integers, found {_describe(values)}")
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError, OverflowError, RecursionError, MemoryError):
        raise DataFormatError(f"{source}: '{what}' must be a flat list of integers, found a ragged or mixed "
                              f"{type(values).__name__}") from None
    if arr.ndim != 1:
        raise DataFormatError(f"{source}: '{what}' must be one-dimensional, found shape {arr.shape}")
    if arr.size == 0:  # np.asarray([]) is float64: empty is no type error (the caller says what count it expected)
        return np.zeros(0, np.int64)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.integer):
        items = values if isinstance(values, (list, tuple)) else arr.tolist()
        example = next((v for v in items if not _is_int(v)), _NONE)
        if example is _NONE:  # every item is an int, but some do not fit in int64 (numpy made an object array)
            raise DataFormatError(f"{source}: '{what}' has values outside int64")
        shown = repr(example) if len(repr(example)) <= 30 else repr(example)[:27] + "..."
        raise DataFormatError(f"{source}: '{what}' must be integers, found {type(example).__name__} values, "
                              f"e.g. {shown}")
    if arr.dtype == np.uint64 and arr.max(initial=0) > np.iinfo(np.int64).max:
        raise DataFormatError(f"{source}: '{what}' has values outside int64")
    return arr.astype(np.int64)


def load_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One ``cifar-10-batches-py`` batch -> (N,32,32,3) uint8 images and (N,) int64 labels 0-9."""
    path = Path(path)
    batch = safe_load(path)
    if not isinstance(batch, dict):
        raise DataFormatError(f"{path}: expected a CIFAR-10 batch dict, found {type(batch).__name__}")
    data, labels = _get(batch, "data"), _get(batch, "labels")
    if data is None or labels is None:
        keys = ", ".join(repr(k) for k in list(batch)[:6]) or "none"
        raise DataFormatError(f"{path}: missing key {'data' if data is None else 'labels'!r} (found keys: {keys})")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DataFormatError(f"{path}: 'data' must be uint8 (N, 3072), found {_describe(data)}")
    if len(data) == 0:
        raise DataFormatError(f"{path}: empty batch ('data' holds no images)")
    labels = _int_array(labels, str(path), "labels")
    if len(labels) != len(data):
        raise DataFormatError(f"{path}: {len(labels):,} labels for {len(data):,} images (expected one per image)")
    bad = (labels < 0) | (labels > 9)
    if bad.any():
        raise DataFormatError(f"{path}: {count_words(int(bad.sum()), 'label')} outside 0-9, e.g. {int(labels[bad][0])}")
    return planes_to_nhwc(data), labels


def load_class_names(cifar_dir: str | Path) -> tuple[str, ...]:
    path = Path(cifar_dir) / META_FILE
    if not path.is_file():
        return CLASS_NAMES
    meta = safe_load(path)
    names = _get(meta, "label_names") if isinstance(meta, dict) else None
    if not isinstance(names, list) or len(names) != 10:
        raise DataFormatError(f"{path}: 'label_names' must be a list of 10 names")
    out = []
    for n in names:
        if isinstance(n, bytes):
            try:
                n = n.decode("utf-8")
            except UnicodeDecodeError:
                raise DataFormatError(f"{path}: 'label_names' holds a name that is not UTF-8 text") from None
        if not isinstance(n, str):
            raise DataFormatError(f"{path}: 'label_names' must be strings, found {type(n).__name__}")
        out.append(n)
    return tuple(out)


def load_cifar10(cifar_dir: str | Path) -> Cifar10:
    """Load the five training batches and the test batch from ``cifar-10-batches-py``."""
    cifar_dir = Path(cifar_dir)
    missing = [n for n in (*TRAIN_BATCHES, TEST_BATCH) if not (cifar_dir / n).is_file()]
    if missing:
        raise DataFormatError(f"{cifar_dir}: missing CIFAR-10 {noun_for(len(missing), 'file')} {', '.join(missing)}")
    parts = [load_cifar_batch(cifar_dir / n) for n in TRAIN_BATCHES]
    test_x, test_y = load_cifar_batch(cifar_dir / TEST_BATCH)
    return Cifar10(
        train_images=np.concatenate([p[0] for p in parts]),
        train_labels=np.concatenate([p[1] for p in parts]),
        test_images=test_x,
        test_labels=test_y,
        class_names=load_class_names(cifar_dir),
    )


def parse_competition(obj: Any, source: str) -> CompetitionSet:
    """Check a loaded competition pickle; every rejection names the file and what was found."""
    if not isinstance(obj, dict):
        raise DataFormatError(f"{source}: expected a dict with 'data' and 'ids', found {type(obj).__name__}")
    data, ids = _get(obj, "data"), _get(obj, "ids")
    if data is None or ids is None:
        keys = ", ".join(repr(k) for k in list(obj)[:6]) or "none"
        missing = "'data'" if data is None else "'ids'"
        raise DataFormatError(f"{source}: missing key {missing} (found keys: {keys})")
    if not isinstance(data, np.ndarray):
        raise DataFormatError(f"{source}: 'data' must be a numpy array, found {type(data).__name__}")
    if data.dtype != np.uint8:
        raise DataFormatError(f"{source}: 'data' must be uint8, found {data.dtype} {data.shape}")
    if data.ndim == 4 and data.shape[1:] == IMAGE_SHAPE:
        images = np.ascontiguousarray(data)
    elif data.ndim == 2 and data.shape[1] == 3072:
        images = planes_to_nhwc(data)  # 2024 edition: R|G|B planes
    else:
        raise DataFormatError(f"{source}: 'data' must have shape (N, 32, 32, 3) or (N, 3072), found {data.shape}")
    if len(images) == 0:
        raise DataFormatError(f"{source}: 'data' holds no images")
    ids_arr = _int_array(ids, source, "ids")
    if len(ids_arr) != len(images):
        raise DataFormatError(f"{source}: {len(ids_arr):,} ids for {len(images):,} images")
    uniq, counts = np.unique(ids_arr, return_counts=True)
    if len(uniq) != len(ids_arr):
        dup = uniq[counts > 1]
        raise DataFormatError(f"{source}: ids are not unique ({len(dup):,} repeated, e.g. {int(dup[0])})")
    return CompetitionSet(images=images, ids=ids_arr.astype(np.int64), source=source)


def load_competition(path: str | Path) -> CompetitionSet:
    path = Path(path)
    return parse_competition(safe_load(path), str(path))


def holdout_split(labels: np.ndarray, holdout_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic stratified split -> (train_idx, holdout_idx), both sorted int64."""
    from sklearn.model_selection import train_test_split

    n = len(labels)
    if holdout_size == 0:
        return np.arange(n, dtype=np.int64), np.zeros(0, dtype=np.int64)
    k = len(np.unique(labels))
    if not k <= holdout_size <= n - k:
        raise DataFormatError(f"a stratified split of {n:,} images of {k} classes keeps {k} to {n - k:,} of them "
                              f"(one of each class on both sides), asked for {holdout_size:,}")
    idx = np.arange(n, dtype=np.int64)
    train_idx, hold_idx = train_test_split(idx, test_size=holdout_size, random_state=seed, stratify=labels)
    return np.sort(train_idx), np.sort(hold_idx)


def stratified_subset(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices (sorted) of a class-balanced subset of ``n`` items; all items when n >= len(labels)."""
    if n >= len(labels):
        return np.arange(len(labels), dtype=np.int64)
    _, keep = holdout_split(labels, n, seed)
    return keep


def shared_data_dir() -> Path:
    """The shared data folder tests and the demo use: $KAGGLE_KIT_SHARED_DATA or ../shared/data."""
    env = os.environ.get("KAGGLE_KIT_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def locate_data(data_dir: str | Path | None = None, **kwargs: Any):
    """See ``kaggle_kit.datapaths.locate_data`` (kept here so stages find all data entry points in one place)."""
    from kaggle_kit.datapaths import locate_data as _locate

    return _locate(data_dir, **kwargs)
