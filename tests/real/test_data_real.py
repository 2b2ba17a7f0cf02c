"""The shared CIFAR-10 batches and the stand-in pickle, loaded through the safe path."""
from __future__ import annotations

import numpy as np

from kaggle_kit.cli import main
from kaggle_kit.data import CIFAR10_MD5, CIFAR10_MEAN, CIFAR10_STD
from kaggle_kit.datapaths import locate_data, verify_data
from kaggle_kit.fsio import md5_file
from kaggle_kit.submission import validate_submission, write_submission


def test_md5s_match_the_official_files(cifar_dir):
    for name, expected in CIFAR10_MD5.items():
        assert md5_file(cifar_dir / name) == expected, name


def test_cifar10_shapes_and_class_counts(cifar10):
    assert cifar10.train_images.shape == (50000, 32, 32, 3) and cifar10.train_images.dtype == np.uint8
    assert cifar10.test_images.shape == (10000, 32, 32, 3)
    assert np.bincount(cifar10.train_labels).tolist() == [5000] * 10
    assert np.bincount(cifar10.test_labels).tolist() == [1000] * 10
    assert cifar10.class_names[0] == "airplane" and cifar10.class_names[9] == "truck"
    mean = cifar10.train_images.reshape(-1, 3).mean(0) / 255
    std = cifar10.train_images.reshape(-1, 3).std(0) / 255
    np.testing.assert_allclose(mean, CIFAR10_MEAN, atol=1e-4)
    np.testing.assert_allclose(std, CIFAR10_STD, atol=1e-4)


def test_first_training_image_matches_known_pixels(cifar10):
    # data_batch_1 image 0 is a frog (label 6); its top-left RGB pixel is (59, 62, 63) in the official files
    assert cifar10.train_labels[0] == 6
    assert cifar10.train_images[0, 0, 0].tolist() == [59, 62, 63]


def test_standin_loads_with_unique_ids(standin):
    assert standin.images.shape == (10000, 32, 32, 3) and standin.images.dtype == np.uint8
    assert len(np.unique(standin.ids)) == 10000


def test_verify_shared_folder_is_clean(shared_data, capsys):
    report = verify_data(locate_data(shared_data))
    assert report.problems == [] and all(report.md5.values())
    assert main(["data", "verify", "--data-dir", str(shared_data)]) == 0
    out = capsys.readouterr().out
    assert "data OK" in out and "competition:" in out and "10,000 images" in out


def test_full_size_submission_round_trip(standin, tmp_path, standin_pickle):
    labels = np.random.default_rng(0).integers(0, 10, len(standin.ids))
    csv = write_submission(tmp_path / "s.csv", standin.ids, labels)
    assert validate_submission(csv, standin.ids) == []
    assert main(["validate", str(csv), "--against", str(standin_pickle)]) == 0
