"""Where a result was produced: the commit recorded is that of the code, not of the results."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from snnbench import environment


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A repository with source, a committed result, docs and a README."""
    for name in ("pkg/code.py", "leaderboard/results/m/t.json", "docs/page.md", "README.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "c")
    return tmp_path


def test_results_and_prose_do_not_make_a_checkout_dirty(checkout: Path):
    """`evaluate --stale rerun` deletes the tracked results it replaces: its own runs are not
    dirty for that, nor for an edited page."""
    (checkout / "leaderboard/results/m/t.json").unlink()
    (checkout / "docs/page.md").write_text("edited\n")
    (checkout / "README.md").write_text("edited\n")
    commit = environment.git_commit(checkout / "pkg")
    assert commit is not None and len(commit) == 40, commit


def test_a_source_change_makes_it_dirty(checkout: Path):
    (checkout / "pkg/code.py").write_text("changed\n")
    commit = environment.git_commit(checkout / "pkg")
    assert commit is not None and commit.endswith("-dirty"), commit


def test_the_recorded_commit_is_the_one_the_code_was_loaded_from(monkeypatch):
    """A worker writes records for hours: later commits in the checkout are not its code."""
    monkeypatch.setattr(environment, "git_commit", lambda *a: "a later commit")
    assert environment.environment()["git_commit"] == environment.LOADED_COMMIT
