"""Every result file committed under leaderboard/results/ passes `snnbench validate`."""

from __future__ import annotations

from pathlib import Path

import pytest

from snnbench.validate import validate_file

RESULTS = sorted((Path(__file__).resolve().parents[1] / "leaderboard" / "results").glob("*/*.json"))


@pytest.mark.parametrize("path", RESULTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_committed_result_file_is_valid(path):
    errors = [str(p) for p in validate_file(path) if p.level == "error"]
    assert errors == []


def test_there_are_committed_results():
    assert RESULTS, "leaderboard/results/ should hold the harness's result files"
