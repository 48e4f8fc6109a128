"""Task generators against brute force, exact balance, fingerprints pinned and stable."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from snnbench.errors import UnknownNameError
from snnbench.tasks import TASKS, get_task, resolve_tasks
from snnbench.tasks.addition import SPLITS as ADD_SPLITS

SYNTHETIC = [t for t in TASKS.values() if t.family in ("first-last-xor", "add")]

# sha256 of every split of every synthetic task, v1.  A change here is a new task version.
PINNED = {
    "first-last-xor-t6": {
        "train": "c4f95859ea1bba11a3a5001082243dc7291af04048d29cb4b1daf74bb49c61b4",
        "val": "9e6210c9522550e5f5238e48c0395c5e5581017859daf3e4a7f5bd7315ec795d",
        "test": "4a7846c0cc09b790397462663d06118eb96f907d4a7ecd4f92a59f9281a7d42e",
    },
    "first-last-xor-t8": {
        "train": "5ec9d8861bc6c91e514704d5182220c6046415782a3b49cc481fa2f8d9b064c6",
        "val": "23771496db1e4279331687bdd114a91313462ad29a7f0654cfa982c7039a40a4",
        "test": "f5f3c6956820d8a6fc036cda633cae633eb0d9057275e0d1d02ed7ba81d84007",
    },
    "first-last-xor-t11": {
        "train": "867bc9c1d8f3b5ba29b8d4530a2e4c5dffe3300c2f5ed3112348ef309e385a8e",
        "val": "454da9c68ec22e68e8de0261afdc29db0b6cbf94c3c332d204cbfd8324f0bb5a",
        "test": "474bab067f99eaf32c9d4f61d1a8fe01095982c64a64bc5451aa4a1f4ba5e4b6",
    },
    "first-last-xor-t14": {
        "train": "7d01ab162dc3a1d7dc19aea7a644d8c422a53dbe127fd4c055646adebae8bfb1",
        "val": "156eb2a0d929d4117cfb3ac4142dff3fa6ed94fb99d2f0e4f163ba6665ed498a",
        "test": "635bdc54bd160ff371b8f4b3a40b6537aadf87ef333159ec3628b7d22e27be04",
    },
    "add-b2": {
        "train": "dca83e1799410d2dfe7e2b2bf056af2ae079ec7933486bb2038bd2cdc2e4bb94",
        "val": "c504339d2e9227ac28650728220054559e277dbc3a95b9ad358c8bf9fc967f35",
        "test": "2614e18bb72c5a470f1aecc9b397f385e155a232c27319f7ff159d511b5e4b19",
        "ood-2x": "2aff8b6585294879baad5d607e8bea54149c86671f255808a61e9e81eefe8fb2",
        "ood-5x": "8a32782301ba4730396675c490c9835ba944558fffd425fe88fae9ff1795d8b4",
        "ood-10x": "14d8f700ee1bb65f0a77cba4611ea5df4e8101b96621f64a1bb455a3a49860f2",
    },
    "add-b3": {
        "train": "206c99ce1a1bbc8cc13faf4532c731512cbaeab421dd2a6f9fc3617c68145080",
        "val": "202531b7243ce052d7f6b599e0b2dd2f48c4bcf9bf7a5672f28fe12eeed732e5",
        "test": "85be97390249dd7e5a991a04cfd1e5c3b201904c960eb28b9f52f4caf9233a37",
        "ood-2x": "c4dd199c1b9163c663080c64fa0856d4d9e5909f8dc1147c81f3500866e68cb2",
        "ood-5x": "ee47b9b1f367852e37d986f5eebd7716752b47bb0de7abc23cbbaee14b6335e5",
        "ood-10x": "a845afbbb3b4ed18a021592e2c421afb029a41002ae1cd03ad014c618fd1c0da",
    },
    "add-b5": {
        "train": "bc9ea7c2df7867da1ca96e071cf57fb5efdbc6e20710ed29edb968054d3c8223",
        "val": "15f6cba03ec705b35345cb86b21caaeb6d7ad748aa653e2be1ebc795aeccd207",
        "test": "1c8d92c0bf2d8c4d5c0a6ac328ec57d5a18fa6a0072841c11e47a987ea545a70",
        "ood-2x": "0d6c43af38d9b657a5afabe5ddfaeff0a786b8f5fb4e42005e3c00b4b81ec939",
        "ood-5x": "e913f404f7bc534f59bada1a01de6858b165d00713a6899452934de6eb0881db",
        "ood-10x": "05863e262857a27dadf2a0e7083cf3e5b37053a5112eaa5e728a091a84c86a36",
    },
}


@pytest.mark.parametrize(
    "task", [t for t in SYNTHETIC if t.family == "first-last-xor"], ids=lambda t: t.id
)
def test_xor_labels_are_first_xor_last_and_balanced(task):
    splits = task.load()
    assert {k: len(v) for k, v in splits.items()} == {"train": 2000, "val": 2000, "test": 4000}
    for split in splits.values():
        bits = split.x.argmax(-1)
        assert split.x.shape == (len(split), task.steps, 2)
        assert np.array_equal(split.x.sum(-1), np.ones((len(split), task.steps)))  # one-hot
        for string, label in zip(bits, split.y, strict=False):  # brute force, one string at a time
            assert label == int(string[0]) ^ int(string[-1])
        assert split.y.sum() * 2 == len(split)  # exactly 50/50
        middle = bits[:, 1:-1].mean()
        assert 0.45 < middle < 0.55


@pytest.mark.parametrize("task", [t for t in SYNTHETIC if t.family == "add"], ids=lambda t: t.id)
def test_addition_digits_and_carries_match_integer_addition(task):
    base = task.params["base"]
    for name, split in task.load().items():
        n, digits = ADD_SPLITS[name]
        assert split.x.shape == (n, digits + 1, 3) and split.y.shape == (n, digits + 1, 2)
        a, b = split.extras["a"], split.extras["b"]
        for i in range(0, n, 7):  # brute force on every 7th sequence, every length
            av = sum(int(d) * base**t for t, d in enumerate(a[i]))
            bv = sum(int(d) * base**t for t, d in enumerate(b[i]))
            total = av + bv
            expected_sum = [(total // base**t) % base for t in range(digits + 1)]
            assert split.y[i, :, 0].tolist() == expected_sum
            carry_in = 0
            for t in range(digits):
                s = int(a[i, t]) + int(b[i, t]) + carry_in
                assert split.y[i, t, 1] == s // base
                assert np.allclose(
                    split.x[i, t], np.array([a[i, t], b[i, t], carry_in]) / (base - 1)
                )
                carry_in = s // base
            assert np.allclose(split.x[i, digits], np.array([0, 0, carry_in]) / (base - 1))
            assert split.y[i, digits, 1] == 0
        assert 0 <= a.min() and a.max() == base - 1


@pytest.mark.parametrize("task_id", sorted(PINNED))
def test_fingerprints_are_pinned(task_id):
    got = {k: v.fingerprint() for k, v in get_task(task_id).load().items()}
    assert got == PINNED[task_id]


def test_fingerprints_identical_in_a_fresh_process():
    code = (
        "from snnbench.tasks import TASKS\n"
        "print({t.id: {k: v.fingerprint() for k, v in t.load().items()} "
        "for t in TASKS.values() if t.family in ('first-last-xor', 'add')})"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "PATH": ""},
    ).stdout.strip()
    here = {t.id: {k: v.fingerprint() for k, v in t.load().items()} for t in SYNTHETIC}
    assert other == str(here)


def test_fingerprint_sees_a_single_changed_value():
    split = get_task("first-last-xor-t6").load()["train"]
    before = split.fingerprint()
    split.y[0] ^= 1
    assert split.fingerprint() != before


MINI_T4 = {
    "train": "65982af8ce2662d8f3dec3cabc5c874d8165dd0c290c4582448f5391dc671440",
    "val": "3ebdd8963c89fa47d2d5a421812b9ccf195ecb4fbba46f0f2ccf403f179c7a83",
    "test": "ffafbcb46e2c498362189f2e6fbe017e8668611cc97e83b77b6c8103e9d8673e",
}


def test_mini_mnist_splits():
    assert {k: v.fingerprint() for k, v in get_task("smnist-mini-t4").load().items()} == MINI_T4
    splits = get_task("smnist-mini-t28").load()
    assert {k: v.x.shape for k, v in splits.items()} == {
        "train": (3500, 28, 28),
        "val": (500, 28, 28),
        "test": (1000, 28, 28),
    }
    for s in splits.values():
        assert 0.0 <= s.x.min() and s.x.max() <= 1.0 and set(np.unique(s.y)) <= set(range(10))


def test_resolve_names():
    assert [t.id for t in resolve_tasks("add")] == ["add-b2", "add-b3", "add-b5"]
    assert len(resolve_tasks("all")) == len(TASKS) == 13
    assert [t.id for t in resolve_tasks("add-b3,first-last-xor-t6")] == [
        "add-b3",
        "first-last-xor-t6",
    ]
    with pytest.raises(UnknownNameError, match="add-b3"):
        resolve_tasks("add-b4")


def test_every_task_has_a_card_naming_it():
    from importlib.resources import files

    for task in TASKS.values():
        card = files("snnbench.cards").joinpath(task.card).read_text()
        assert task.id in card and f"version {task.version}" in card
