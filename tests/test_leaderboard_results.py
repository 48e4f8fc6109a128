"""Every result file committed under leaderboard/results/ passes `snnbench validate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from snnbench.results import validate_file

RESULTS = sorted((Path(__file__).resolve().parents[1] / "leaderboard" / "results").glob("*/*.json"))


@pytest.mark.parametrize("path", RESULTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_committed_result_file_is_valid(path):
    errors = [str(p) for p in validate_file(path) if p.level == "error"]
    assert errors == []


def test_there_are_committed_results():
    assert RESULTS, "leaderboard/results/ should hold the harness's result files"


def current_version_solves() -> list[tuple[str, dict]]:
    """Every readout solve recorded in committed files made by the installed version
    of their method."""
    from snnbench.methods import get_method

    solves = []
    for path in RESULTS:
        doc = json.loads(path.read_text())
        if (
            doc["method"]["name"] in ("recon", "sg-recon", "recon-sg")
            and doc["method"]["version"] == get_method(doc["method"]["name"]).version
        ):
            for run in doc["runs"]:
                for solve in run.get("fit_info", {}).get("solves", []):
                    solves.append(
                        (
                            f"{path.parent.name}/{path.stem} seed {run['seed']} {solve['head']}",
                            solve,
                        )
                    )
    return solves


def test_committed_readouts_of_the_current_versions_are_certified():
    """docs/reproduction.md says every current recon-family readout is a certified optimum."""
    solves = current_version_solves()
    assert solves, "no committed result file of a current recon-family version"
    uncertified = [
        f"{name}: {s['solver']} rel gap {s['rel_gap']:.1e}"
        for name, s in solves
        if not (s["converged"] and 0 <= s["rel_gap"] <= 1e-6)
    ]
    assert uncertified == []
