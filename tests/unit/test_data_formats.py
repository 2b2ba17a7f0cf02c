"""Competition pickle and CIFAR batch parsing on tiny synthetic files."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from kaggle_kit.data import (holdout_split, load_cifar10, load_competition, planes_to_nhwc,
                             stratified_subset)
from kaggle_kit.datapaths import locate_data
from kaggle_kit.errors import DataFormatError, DataNotFoundError


def _write(path, obj, protocol=4):
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


def _images(n=4, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def test_hwc_layout_loads(tmp_path):
    imgs = _images()
    comp = load_competition(_write(tmp_path / "c.pkl", {b"data": imgs, b"ids": np.array([7, 3, 9, 1])}))
    np.testing.assert_array_equal(comp.images, imgs)
    assert comp.ids.dtype == np.int64 and comp.ids.tolist() == [7, 3, 9, 1]


def test_planes_layout_2024_loads_to_the_same_pixels(tmp_path):
    imgs = _images()
    planes = imgs.transpose(0, 3, 1, 2).reshape(4, 3072)
    comp = load_competition(_write(tmp_path / "c.pkl", {b"data": planes, b"ids": np.arange(4)}))
    np.testing.assert_array_equal(comp.images, imgs)
    np.testing.assert_array_equal(planes_to_nhwc(planes), imgs)


def test_str_keys_and_list_ids(tmp_path):
    comp = load_competition(_write(tmp_path / "c.pkl", {"data": _images(2), "ids": [5, 6]}))
    assert comp.ids.tolist() == [5, 6]


@pytest.mark.parametrize("obj,match", [
    ([1, 2, 3], r"expected a dict with 'data' and 'ids', found list"),
    ({b"ids": np.arange(4)}, r"missing key 'data' \(found keys: b'ids'\)"),
    ({b"data": np.zeros((4, 32, 32, 3), np.uint8)}, r"missing key 'ids'"),
    ({b"data": np.zeros((4, 32, 32, 3), np.float32), b"ids": np.arange(4)}, r"must be uint8, found float32"),
    ({b"data": np.zeros((4, 3, 32, 32), np.uint8), b"ids": np.arange(4)}, r"found \(4, 3, 32, 32\)"),
    ({b"data": np.zeros((4, 1024), np.uint8), b"ids": np.arange(4)}, r"found \(4, 1024\)"),
    ({b"data": np.zeros((0, 32, 32, 3), np.uint8), b"ids": np.arange(0)}, r"holds no images"),
    ({b"data": np.zeros((4, 32, 32, 3), np.uint8), b"ids": np.arange(3)}, r"3 ids for 4 images"),
    ({b"data": np.zeros((4, 32, 32, 3), np.uint8), b"ids": np.array([1, 2, 2, 3])}, r"not unique \(1 repeated, e\.g\. 2\)"),
    ({b"data": np.zeros((4, 32, 32, 3), np.uint8), b"ids": np.array(["a", "b", "c", "d"])}, r"'ids' must be integers"),
    ({b"data": np.zeros((4, 32, 32, 3), np.uint8), b"ids": np.arange(4.0)}, r"'ids' must be integers, found float values, e.g. 0.0"),
    ({b"data": [[1, 2]], b"ids": [1]}, r"'data' must be a numpy array, found list"),
])
def test_malformed_competition_pickles_name_file_and_problem(tmp_path, obj, match):
    path = _write(tmp_path / "comp.pkl", obj)
    with pytest.raises(DataFormatError, match=match) as info:
        load_competition(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_truncated_competition_pickle(tmp_path):
    blob = pickle.dumps({b"data": _images(), b"ids": np.arange(4)}, protocol=4)
    path = tmp_path / "c.pkl"
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataFormatError, match="truncated"):
        load_competition(path)


def _fake_cifar(folder, n_per_batch=20):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8)
        labels = [int(x) for x in np.arange(n_per_batch) % 10]
        _write(folder / name, {b"batch_label": b"x", b"labels": labels, b"data": data,
                               b"filenames": [b"f"] * n_per_batch}, protocol=2)
    names = [n.encode() for n in ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                                  "ship", "truck")]
    _write(folder / "batches.meta", {b"label_names": names, b"num_vis": 3072}, protocol=2)
    return folder


def test_cifar_batches_load_nhwc(tmp_path):
    d = _fake_cifar(tmp_path / "cifar-10-python" / "cifar-10-batches-py")
    data = load_cifar10(d)
    assert data.train_images.shape == (100, 32, 32, 3) and data.train_images.dtype == np.uint8
    assert data.test_labels.dtype == np.int64 and data.class_names[9] == "truck"


def test_cifar_missing_batch(tmp_path):
    d = _fake_cifar(tmp_path / "c")
    (d / "data_batch_3").unlink()
    with pytest.raises(DataFormatError, match="missing CIFAR-10 file data_batch_3"):
        load_cifar10(d)


def test_locate_explicit_env_and_zip_layout(tmp_path, monkeypatch):
    root = tmp_path / "comp"
    _fake_cifar(root / "cifar-10-python" / "cifar-10-batches-py")
    _write(root / "cifar_test_nolabel.pkl", {b"data": _images(), b"ids": np.arange(4)})
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE", raising=False)
    monkeypatch.setenv("KAGGLE_KIT_DATA", str(root))
    found = locate_data()
    assert found.comp_pickle == root / "cifar_test_nolabel.pkl"
    assert found.cifar_dir.name == "cifar-10-batches-py"
    assert locate_data(root).root == root


def test_locate_error_says_where_it_looked_and_what_to_do(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KAGGLE_KIT_DATA", raising=False)
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    with pytest.raises(DataNotFoundError) as info:
        locate_data()
    msg = str(info.value)
    assert "looked in: data, /kaggle/input/competitions/deep-learning-spring-2025-project-1, " \
           "/kaggle/input/deep-learning-spring-2025-project-1" in msg
    assert "kaggle-kit data download" in msg


@pytest.mark.parametrize("wrong", ["missing", "file", "empty"])
def test_a_wrong_kaggle_kit_data_is_an_error_not_a_fall_back_to_data(tmp_path, monkeypatch, wrong):
    """KAGGLE_KIT_DATA with a typo, a file or an empty folder fell back to ./data without a word: the user trained
    and reported on other data than the folder they named, and `data verify` said "data OK"."""
    _fake_cifar(tmp_path / "data" / "cifar-10-batches-py")
    _write(tmp_path / "data" / "cifar_test_nolabel.pkl", {b"data": _images(), b"ids": np.arange(4)})
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE", raising=False)
    named = tmp_path / "kdata"
    if wrong == "file":
        named.write_bytes(b"not a folder")
    elif wrong == "empty":
        named.mkdir()
    monkeypatch.setenv("KAGGLE_KIT_DATA", str(named))
    with pytest.raises(DataNotFoundError) as info:
        locate_data(require_comp=True)
    msg = str(info.value)
    if wrong == "file":
        assert msg.startswith(f"{named}: KAGGLE_KIT_DATA must be a folder, found a file")
    else:
        assert f"looked in: {named} (from KAGGLE_KIT_DATA; unset it to look in ./data)" in msg
    assert "\n" not in msg
    assert locate_data("data").root.name == "data"  # --data-dir still wins over the variable
    monkeypatch.delenv("KAGGLE_KIT_DATA")
    assert locate_data(require_comp=True).root.name == "data"


def test_holdout_split_is_stratified_deterministic_and_disjoint():
    labels = np.repeat(np.arange(10), 100)
    tr, ho = holdout_split(labels, 200, seed=3)
    tr2, ho2 = holdout_split(labels, 200, seed=3)
    np.testing.assert_array_equal(ho, ho2)
    assert len(np.intersect1d(tr, ho)) == 0 and len(tr) + len(ho) == 1000
    assert np.bincount(labels[ho]).tolist() == [20] * 10
    assert not np.array_equal(holdout_split(labels, 200, seed=4)[1], ho)
    assert len(stratified_subset(labels, 50, 0)) == 50
    for size in (1000, 995, 5):  # sklearn's own error for these was a traceback
        with pytest.raises(DataFormatError, match=rf"1,000 images of 10 classes keeps 10 to 990 .* for {size:,}$"):
            holdout_split(labels, size, 0)
    with pytest.raises(DataFormatError, match="asked for 5$"):
        stratified_subset(labels, 5, 0)


# --- malformed CIFAR batches: every rejection is one line naming the file and the problem ---------------------

def _batch(labels, data=None, n=4):
    return {b"batch_label": b"x", b"labels": labels,
            b"data": np.zeros((n, 3072), np.uint8) if data is None else data}


@pytest.mark.parametrize("obj,match", [
    (_batch(["cat", "dog", "cat", "dog"]), r"'labels' must be integers, found str values, e\.g\. 'cat'"),
    (_batch([]), r"0 labels for 4 images \(expected one per image\)"),
    (_batch([b"cat", b"dog", b"cat", b"dog"]), r"'labels' must be integers, found bytes values, e\.g\. b'cat'"),
    (_batch([1, 2, "3", 4]), r"'labels' must be integers, found str values, e\.g\. '3'"),
    (_batch([1.0, 2.5, 3.0, 4.0]), r"'labels' must be integers, found float values, e\.g\. 1\.0"),
    (_batch(np.array([1.0, 2.0, 3.0, 4.0])), r"'labels' must be integers, found float values"),
    (_batch([True, False, True, False]), r"'labels' must be integers, found bool values"),
    (_batch([1, None, 2, 3]), r"'labels' must be integers, found NoneType values"),
    (_batch([1, 2, 3, 2 ** 70]), r"'labels' has values outside int64"),
    (_batch(np.array([1, 2, 3, 2 ** 63], dtype=np.uint64)), r"'labels' has values outside int64"),
    (_batch([], np.zeros((0, 3072), np.uint8), 0), r"empty batch \('data' holds no images\)"),
    (_batch([1, 2]), r"2 labels for 4 images \(expected one per image\)"),
    (_batch(list(range(6))), r"6 labels for 4 images"),
    (_batch([0, 1, 10, -1]), r"2 labels outside 0-9, e\.g\. 10"),
    (_batch([[0], [1], [2], [3]]), r"'labels' must be one-dimensional, found shape \(4, 1\)"),
    (_batch(np.zeros((4, 2), np.int64)), r"'labels' must be one-dimensional, found shape \(4, 2\)"),
    (_batch(np.int64(3)), r"'labels' must be a list of integers, found int64"),
    (_batch(np.array(3)), r"'labels' must be one-dimensional, found shape \(\)"),
    (_batch(7), r"'labels' must be a list of integers, found int"),
    (_batch("0123"), r"'labels' must be a list of integers, found str"),
    (_batch({0: 1}), r"'labels' must be a list of integers, found dict"),
    (_batch([[0, 1], [2]]), r"'labels' must be a flat list of integers, found a ragged or mixed list"),
    (_batch([0, 1, 2, 3], np.zeros((4, 3072), np.float32)),
     r"'data' must be uint8 \(N, 3072\), found float32 \(4, 3072\)"),
    (_batch([0, 1, 2, 3], np.zeros((4, 32, 32, 3), np.uint8)),
     r"'data' must be uint8 \(N, 3072\), found uint8 \(4, 32, 32, 3\)"),
    (_batch([0, 1, 2, 3], [[0] * 3072] * 4), r"'data' must be uint8 \(N, 3072\), found list"),
    ({b"labels": [0, 1]}, r"missing key 'data' \(found keys: b'labels'\)"),
    ({b"data": np.zeros((2, 3072), np.uint8)}, r"missing key 'labels' \(found keys: b'data'\)"),
    ([1, 2], r"expected a CIFAR-10 batch dict, found list"),
])
@pytest.mark.parametrize("protocol", [2, 4])
def test_malformed_cifar_batches_name_file_and_problem(tmp_path, obj, match, protocol):
    from kaggle_kit.data import load_cifar_batch

    path = _write(tmp_path / "data_batch_1", obj, protocol=protocol)
    with pytest.raises(DataFormatError, match=match) as info:
        load_cifar_batch(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg


def test_labels_may_be_a_tuple_or_any_integer_array(tmp_path):
    from kaggle_kit.data import load_cifar_batch

    for labels in ((0, 1, 2, 9), np.array([0, 1, 2, 9], np.uint8), np.array([0, 1, 2, 9], np.uint64)):
        _, out = load_cifar_batch(_write(tmp_path / "b", _batch(labels), protocol=2))
        assert out.dtype == np.int64 and out.tolist() == [0, 1, 2, 9]


def test_bad_batch_inside_a_folder_names_that_batch(tmp_path):
    d = _fake_cifar(tmp_path / "c")
    _write(d / "data_batch_4", _batch(["cat"] * 4), protocol=2)
    with pytest.raises(DataFormatError) as info:
        load_cifar10(d)
    assert str(info.value) == f"{d / 'data_batch_4'}: 'labels' must be integers, found str values, e.g. 'cat'"


@pytest.mark.parametrize("names,match", [
    ([b"\xff\xfe"] + [b"x"] * 9, r"'label_names' holds a name that is not UTF-8 text"),
    ([1] * 10, r"'label_names' must be strings, found int"),
    ([b"x"] * 9, r"'label_names' must be a list of 10 names"),
])
def test_bad_class_names_name_the_meta_file(tmp_path, names, match):
    d = _fake_cifar(tmp_path / "c")
    _write(d / "batches.meta", {b"label_names": names}, protocol=2)
    with pytest.raises(DataFormatError, match=match) as info:
        load_cifar10(d)
    assert str(info.value).startswith(f"{d / 'batches.meta'}: ")


@pytest.mark.parametrize("ids,match", [
    ([[1, 2], [3], [4]], r"'ids' must be a flat list of integers, found a ragged or mixed list"),
    (np.array([1, 2, 2 ** 63, 4], np.uint64), r"'ids' has values outside int64"),
    ([1, 2, 3, 2 ** 70], r"'ids' has values outside int64"),
    ([], r"0 ids for 4 images"),
])
def test_odd_competition_ids_are_format_errors(tmp_path, ids, match):
    path = _write(tmp_path / "comp.pkl", {b"data": _images(), b"ids": ids})
    with pytest.raises(DataFormatError, match=match) as info:
        load_competition(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_competition_zip_is_named_as_a_zip(tmp_path):
    import zipfile

    path = tmp_path / "comp.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("cifar_test_nolabel.pkl", pickle.dumps({b"data": _images(), b"ids": np.arange(4)}))
    with pytest.raises(DataFormatError, match=r"is a zip archive, not a pickle; unzip it first") as info:
        load_competition(path)
    assert str(info.value).startswith(f"{path}: ")


def test_data_dir_that_is_a_zip_says_unzip_it(tmp_path):
    import zipfile

    path = tmp_path / "comp.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("x.txt", "x")
    with pytest.raises(DataNotFoundError) as info:
        locate_data(path)
    assert str(info.value) == (f"{path}: --data-dir must be a folder, found a file (a zip archive); unpack it first "
                               f"(`unzip {path} -d {tmp_path}`) and pass the folder it makes")
    other = tmp_path / "notes.txt"
    other.write_text("x")
    with pytest.raises(DataNotFoundError, match=r"notes\.txt: --data-dir must be a folder, found a file$"):
        locate_data(other)


def test_folder_holding_the_unpacked_zip_says_unpack_it(tmp_path):
    (tmp_path / "comp.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    with pytest.raises(DataNotFoundError) as info:
        locate_data(tmp_path)
    msg = str(info.value)
    assert msg.startswith("no competition data found (CIFAR-10 batches; looked in: ")
    assert msg.endswith(f"; found {tmp_path / 'comp.zip'}, not unpacked: unpack it first "
                        f"(`unzip {tmp_path / 'comp.zip'} -d {tmp_path}`)")


@pytest.mark.parametrize("names, hint", [
    (["comp.tar"], "comp.tar, not unpacked: unpack it first (`tar -xf {d}/comp.tar -C {d}`)"),
    (["comp.tgz"], "comp.tgz, not unpacked: unpack it first (`tar -xzf {d}/comp.tgz -C {d}`)"),
    (["b.tar.gz", "a.zip"], "a.zip (and 1 more archive), not unpacked: unpack it first (`unzip {d}/a.zip -d {d}`)"),
])
def test_the_unpack_hint_fits_the_archives_kind_and_counts_the_others(tmp_path, names, hint):
    """A .tar taken for a .tar.gz would print `tar -xzf` (which fails on it); a dropped count hid the others."""
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    with pytest.raises(DataNotFoundError) as info:
        locate_data(tmp_path)
    assert str(info.value).endswith(f"; found {tmp_path}/" + hint.format(d=tmp_path))


def test_a_data_folder_without_the_competition_pickle_is_not_found_when_the_pickle_is_required(tmp_path, monkeypatch):
    """Ignoring require_comp would hand the report or the pipeline a folder without the competition's images."""
    _fake_cifar(tmp_path / "data" / "cifar-10-batches-py")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KAGGLE_KIT_DATA", raising=False)
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE", raising=False)
    assert locate_data().comp_pickle is None
    with pytest.raises(DataNotFoundError, match=r"^no competition data found \(CIFAR-10 batches and "
                                                r"cifar_test_nolabel\.pkl; looked in: data\)"):
        locate_data(require_comp=True)


def test_verify_counts_classes_and_averages_each_colour_channel(tmp_path):
    """Image stats over the wrong axis (or a class count off) would print wrong numbers in `data verify`."""
    from kaggle_kit.datapaths import verify_data

    d = _fake_cifar(tmp_path / "cifar-10-batches-py")
    raw = np.concatenate([pickle.loads((d / f"data_batch_{i}").read_bytes(), encoding="bytes")[b"data"]
                          for i in range(1, 6)])  # (N, 3072): the R plane, then G, then B
    planes = [raw[:, c * 1024:(c + 1) * 1024] / 255 for c in range(3)]
    lines = verify_data(locate_data(tmp_path), check_md5=False).lines
    assert lines[:4] == [f"CIFAR-10: {d}: 100 train, 20 test images", "  class          train   test",
                         "  airplane          10      2", "  automobile        10      2"]
    assert lines[12] == ("  train RGB mean " + " ".join(f"{p.mean():.4f}" for p in planes)
                         + "  std " + " ".join(f"{p.std():.4f}" for p in planes))


def test_verify_reports_an_unreadable_batch_as_a_problem(tmp_path, monkeypatch):
    import kaggle_kit.datapaths as dp

    d = _fake_cifar(tmp_path / "cifar-10-batches-py")
    _write(tmp_path / "cifar_test_nolabel.pkl", {b"data": _images(), b"ids": np.arange(4)})

    def md5_denied(path):
        if path.name == "data_batch_2":
            raise PermissionError(13, "Permission denied")
        return "0" * 32

    monkeypatch.setattr(dp, "md5_file", md5_denied)
    report = dp.verify_data(locate_data(tmp_path))
    assert f"{d / 'data_batch_2'}: cannot read it (Permission denied)" in report.problems


def test_folder_with_batches_in_two_layouts_is_refused(tmp_path):
    """A download of one layout into a folder holding another (an older edition's) left both; the old copy was
    the one used, silently."""
    from kaggle_kit.errors import DataFormatError

    old = _fake_cifar(tmp_path / "cifar-10-python" / "cifar-10-batches-py")
    new = _fake_cifar(tmp_path / "cifar-10-batches-py")
    with pytest.raises(DataFormatError) as info:
        locate_data(tmp_path)
    assert str(info.value) == (f"{tmp_path}: holds CIFAR-10 batches in two places, {old} and {new}; keep the one "
                               f"you want (the other may be from an older download) and remove the other")


def test_batches_straight_in_the_folder_and_the_standin_pickle_are_found(tmp_path):
    """The bare layout (batches in the named folder itself) and the shared stand-in's standin/ pickle: dropping
    either candidate turned that data folder into 'no competition data found'."""
    root = _fake_cifar(tmp_path / "d")
    (root / "standin").mkdir()
    pkl = _write(root / "standin" / "cifar_test_nolabel.pkl", {b"data": _images(), b"ids": np.arange(4)})
    found = locate_data(root, require_comp=True)
    assert (found.cifar_dir, found.comp_pickle) == (root, pkl)


def test_a_link_to_the_same_batches_is_not_a_second_copy(tmp_path):
    real = _fake_cifar(tmp_path / "cifar-10-python" / "cifar-10-batches-py")
    (tmp_path / "cifar-10-batches-py").symlink_to(real, target_is_directory=True)
    assert locate_data(tmp_path).cifar_dir == real


def test_names_that_differ_only_in_case_are_pointed_out(tmp_path, monkeypatch):
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE", raising=False)
    _fake_cifar(tmp_path / "Cifar-10-Python" / "cifar-10-batches-py")
    with pytest.raises(DataNotFoundError) as info:  # was: only "get it with `kaggle-kit data download`"
        locate_data(tmp_path)
    assert str(info.value).endswith(f"; found {tmp_path / 'Cifar-10-Python'}: names are case-sensitive, rename it "
                                    f"to cifar-10-python")
    (tmp_path / "Cifar-10-Python").rename(tmp_path / "cifar-10-python")
    _write(tmp_path / "CIFAR_TEST_NOLABEL.PKL", {b"data": _images(), b"ids": np.arange(4)})
    from kaggle_kit.datapaths import verify_data

    problems = verify_data(locate_data(tmp_path), check_md5=False).problems
    assert problems == [f"{tmp_path}: no cifar_test_nolabel.pkl (the competition's unlabeled test pickle); found "
                        f"{tmp_path / 'CIFAR_TEST_NOLABEL.PKL'}: names are case-sensitive, rename it to "
                        f"cifar_test_nolabel.pkl"]


def test_the_dry_run_command_names_the_pickle_when_the_data_folder_is_refused(tmp_path, monkeypatch):
    """A ./data holding the batches in two layouts is refused (DataFormatError); the dry run's printed upload
    command looked the data up catching only DataNotFoundError, so it failed after the dry run's ledger row."""
    from kaggle_kit.upload import upload_command

    for where in ("data/cifar-10-batches-py", "data/cifar-10-python/cifar-10-batches-py"):
        _fake_cifar(tmp_path / where)
    pickle_path = _write(tmp_path / "comp.pkl", {b"data": _images(), b"ids": np.arange(4)})
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KAGGLE_KIT_DATA", raising=False)
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE", raising=False)
    with pytest.raises(DataFormatError):
        locate_data(require_comp=True)
    command = upload_command("s.csv", "m", "deep-learning-spring-2025-project-1", against=pickle_path)
    assert f"--against {pickle_path}" in command


def test_training_batches_keep_each_image_with_its_label_in_batch_order(tmp_path):
    """Batches' labels concatenated in another order than their images would train on mislabelled images."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for b, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        data = np.full((3, 3072), b, dtype=np.uint8)          # every pixel of batch b is b
        _write(folder / name, {b"labels": [b, b, 9 - b], b"data": data}, protocol=2)
    cifar = load_cifar10(folder)
    assert cifar.train_labels.tolist() == [0, 0, 9, 1, 1, 8, 2, 2, 7, 3, 3, 6, 4, 4, 5]
    assert cifar.train_images[:, 0, 0, 0].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    assert cifar.test_labels.tolist() == [5, 5, 4] and cifar.test_images.max() == 5


def test_stratified_subset_of_every_item_is_all_of_them():
    """n == len(labels) must return every index, not ask holdout_split for an impossible split."""
    labels = np.repeat(np.arange(10), 3)
    assert stratified_subset(labels, 30, 0).tolist() == list(range(30))


def test_a_holdout_of_zero_trains_on_every_image():
    """holdout_size 0 must keep every index for training, the last one included."""
    train, hold = holdout_split(np.repeat(np.arange(10), 2), 0, seed=0)
    assert train.tolist() == list(range(20)) and hold.tolist() == []
