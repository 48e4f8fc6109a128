"""The conformance kit for method authors, in the style of scikit-learn's `check_estimator`.

    from snnbench.testing import check_method, parametrize_with_checks

    check_method("my-method")                  # raises AssertionError naming each failed check

    @parametrize_with_checks(["my-method"])    # or one pytest case per (method, check)
    def test_conformance(method, check):
        check(method)

Each check is small and named.  They run the method's `quick` preset, through the harness's
own rebuild and scoring, on a sequence task (first-last-xor-t6) and a token task (add-b2):

- scorable_on_a_sequence_task / scorable_on_a_token_task: every grid point yields a Fit the
  harness rebuilds into a canonical network and scores;
- deterministic_for_a_seed: two fits with one seed give identical weights;
- leaves_config_and_data_untouched: the configs and the train/val arrays it was given are
  as they were (it may not unfreeze and edit them);
- never_touches_test: no task is loaded while it trains (the harness alone loads data);
- progress_is_monotone: its progress reports count up to their total;
- quick_preset_in_seconds: the quick preset trains within QUICK_SECONDS on one task.

`fit_data` and `network` give a method's test what the harness would give and build.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cache

import torch

from snnbench.harness import checked_fit
from snnbench.methods import get_method
from snnbench.methods.base import Fit, FitData
from snnbench.tasks import get_task
from snnbench.tasks.base import Split, Task
from snnbench.tasks.protocol import Model

SEQUENCE_TASK, TOKEN_TASK = "first-last-xor-t6", "add-b2"
QUICK_SECONDS = 120.0  # the quick preset is for CI; a method that needs more has the wrong preset


def fit_data(task: Task, splits: dict[str, Split] | None = None) -> FitData:
    """Read-only copies of train and val and the task's data-free description, as in the harness."""
    splits = splits if splits is not None else task.load()
    return FitData(task.info, splits["train"].read_only_copy(), splits["val"].read_only_copy())


def network(fit: Fit, task: Task) -> Model:
    """The canonical network the harness rebuilds from a method's Fit (and scores)."""
    return checked_fit(fit, task, "under test")[0]


@contextlib.contextmanager
def no_task_loading() -> Iterator[list[str]]:
    """Record (and refuse) every Task.load while the block runs."""
    calls: list[str] = []
    original = Task.load

    def refuse(self, data_dir=None):
        calls.append(self.id)
        raise AssertionError(f"task {self.id} was loaded while the method trained")

    Task.load = refuse  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        Task.load = original  # type: ignore[method-assign]


@dataclass(frozen=True)
class Observed:
    """One quick-preset fit of a method on a task, and what was seen while it ran."""

    task: Task
    fits: list[tuple[dict, Fit]]
    configs_before: list[dict]
    configs_after: list[dict]
    fingerprints_before: tuple[str, str]
    fingerprints_after: tuple[str, str]
    progress: list[tuple[int, int]]
    loads: list[str]
    seconds: float


@cache
def _splits(task_id: str) -> dict[str, Split]:
    return get_task(task_id).load()


def observe(method_name: str, task_id: str, seed: int = 0) -> Observed:
    """Run the method's quick preset on a task as the harness would, watching it."""
    method, task = get_method(method_name), get_task(task_id)
    splits = _splits(task_id)
    progress: list[tuple[int, int]] = []
    data = replace(
        fit_data(task, splits), progress=lambda done, total: progress.append((done, total))
    )
    configs = method.config("quick", task.info).candidates()
    before = copy.deepcopy(configs)
    prints = (data.train.fingerprint(), data.val.fingerprint())
    start = time.perf_counter()
    with no_task_loading() as loads:
        try:
            fits = list(method.fit_grid(data, configs, seed))
        except AssertionError:
            if not loads:
                raise
            fits = []  # it loaded a task: never_touches_test reports it
    seconds = time.perf_counter() - start
    return Observed(
        task,
        fits,
        before,
        configs,
        prints,
        (data.train.fingerprint(), data.val.fingerprint()),
        progress,
        loads,
        seconds,
    )


_observe = cache(observe)  # the checks share fits: one per (method, task, seed)


def _scorable(method: str, task_id: str) -> None:
    seen = _observe(method, task_id)
    assert not seen.loads, f"{method} loaded tasks {seen.loads} while training"
    assert seen.fits, f"{method} returned no fit on {task_id}"
    assert len(seen.fits) <= len(seen.configs_before), (
        f"{method} returned more fits than grid points"
    )
    for config, fit in seen.fits:
        assert config in seen.configs_before, (
            f"{method} returned a fit for {config}, not a grid point"
        )
        model, _ = checked_fit(fit, seen.task, method)
        score = seen.task.score(model, _splits(task_id)["val"]).metrics[seen.task.primary_metric]
        assert 0.0 <= score <= 1.0


def scorable_on_a_sequence_task(method: str) -> None:
    _scorable(method, SEQUENCE_TASK)


def scorable_on_a_token_task(method: str) -> None:
    _scorable(method, TOKEN_TASK)


def deterministic_for_a_seed(method: str) -> None:
    first, again = _observe(method, SEQUENCE_TASK), observe(method, SEQUENCE_TASK)
    assert len(first.fits) == len(again.fits)
    for (_, a), (_, b) in zip(first.fits, again.fits, strict=True):
        assert a.spec == b.spec and set(a.weights) == set(b.weights)
        for name in a.weights:
            assert torch.equal(a.weights[name], b.weights[name]), (
                f"{method}: weight {name} differs between two fits with seed 0"
            )


def leaves_config_and_data_untouched(method: str) -> None:
    for task_id in (SEQUENCE_TASK, TOKEN_TASK):
        seen = _observe(method, task_id)
        assert seen.configs_after == seen.configs_before, (
            f"{method} edited the configs it was given"
        )
        assert seen.fingerprints_after == seen.fingerprints_before, (
            f"{method} edited its train or val arrays"
        )


def never_touches_test(method: str) -> None:
    for task_id in (SEQUENCE_TASK, TOKEN_TASK):
        loads = _observe(method, task_id).loads
        assert not loads, f"{method} loaded {loads} while training: only the harness loads data"


def progress_is_monotone(method: str) -> None:
    """Within one fit, done counts up to total; a new grid point may start again from 1."""
    reports = _observe(method, SEQUENCE_TASK).progress
    assert all(0 <= done <= total for done, total in reports), (
        f"{method}: progress outside [0, total]"
    )
    for (done, _), (next_done, _) in zip(reports, reports[1:], strict=False):
        assert next_done >= done or next_done <= 1, (
            f"{method}: progress went back from {done} to {next_done}"
        )


def quick_preset_in_seconds(method: str) -> None:
    seconds = _observe(method, SEQUENCE_TASK).seconds
    assert seconds <= QUICK_SECONDS, (
        f"{method}: the quick preset took {seconds:.0f} s (limit {QUICK_SECONDS:.0f} s)"
    )


def changelog_names_its_version(method: str) -> None:
    """The site shows a method's changelog: it must say what its current version changed."""
    from snnbench.methods import get_method

    cls = type(get_method(method))
    assert str(cls.version) in cls.changelog, (
        f"{method}: version {cls.version} is not in its changelog {sorted(cls.changelog)}"
    )


CHECKS: dict[str, Callable[[str], None]] = {
    check.__name__: check
    for check in (
        scorable_on_a_sequence_task,
        scorable_on_a_token_task,
        deterministic_for_a_seed,
        leaves_config_and_data_untouched,
        never_touches_test,
        progress_is_monotone,
        quick_preset_in_seconds,
        changelog_names_its_version,
    )
}


def check_method(method: str) -> None:
    """Run every check; raise AssertionError naming each one that failed and why."""
    failures = []
    for name, check in CHECKS.items():
        try:
            check(method)
        except AssertionError as exc:
            failures.append(f"{name}: {exc}")
    if failures:
        raise AssertionError(
            f"{method} fails {len(failures)} check(s):\n  " + "\n  ".join(failures)
        )


def parametrize_with_checks(methods: list[str]):
    """A pytest parametrisation: one case (method, check) per method and check."""
    import pytest

    cases = [
        pytest.param(m, check, id=f"{m}-{name}") for m in methods for name, check in CHECKS.items()
    ]
    return pytest.mark.parametrize("method, check", cases)
