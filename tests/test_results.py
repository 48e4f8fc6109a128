"""The result model: migration of every committed file, per-seed records, concurrent writers,
resume refusing tampered files, and no stray temporary files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from snnbench.cli import app
from snnbench.results import (
    SCHEMA_VERSION,
    ResultFile,
    load_result,
    result_files,
    validate_file,
)
from snnbench.results.migrate import migrate
from snnbench.results.schema import schema_errors

COMMITTED = result_files(Path(__file__).resolve().parents[1] / "leaderboard" / "results")
runner = CliRunner()
QUICK = ["--preset", "quick", "--method", "recon", "--task", "first-last-xor-t6"]


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_committed_file_migrates_with_its_numbers_unchanged(path):
    old = json.loads(path.read_text())
    new = migrate(json.loads(path.read_text()))
    assert new["schema_version"] == SCHEMA_VERSION and schema_errors(new, "result") == []
    assert new["summary"] == old["summary"] == ResultFile.from_document(new).summary
    assert new["method"] == old["method"] and new["seeds"] == old["seeds"]
    assert new["task"]["fingerprints"] == old["task"]["fingerprints"]
    for a, b in zip(old["runs"], new["runs"], strict=True):
        assert {k: v for k, v in a.items() if k not in ("model", "efficiency")} == {
            k: v for k, v in b.items() if k not in ("model", "efficiency")
        }
        if old["schema_version"] < 3:  # not measured: only the harness can, from the network
            assert b["efficiency"] is None
        else:
            assert b["efficiency"] == a["efficiency"]
        assert b["model"]["num_parameters"] == a["model"]["num_parameters"]
        assert b["model"]["spiking"] == a["model"].get("spiking", True)
        assert b["model"]["spiking"] == (b["model"]["kind"] == "lif")


def evaluate(out: Path, seeds: str, *extra: str):
    return runner.invoke(app, ["evaluate", *QUICK, "--seeds", seeds, "--out", str(out), *extra])


def test_each_seed_is_a_record_and_the_summary_is_derived(tmp_path):
    assert evaluate(tmp_path, "0,1").exit_code == 0
    summary = tmp_path / "recon" / "first-last-xor-t6.json"
    records = sorted((tmp_path / "recon" / "first-last-xor-t6").glob("seed-*.json"))
    assert [p.name for p in records] == ["seed-0.json", "seed-1.json"]
    for path in (summary, *records):
        assert validate_file(path) == [], path
    result = load_result(summary)
    assert result.seeds == [0, 1]
    assert [json.loads(p.read_text())["run"] for p in records] == result.runs


def test_two_processes_writing_other_seeds_of_one_task_lose_none(tmp_path):
    command = [sys.executable, "-m", "snnbench.cli", "evaluate", *QUICK, "--out", str(tmp_path)]
    procs = [
        subprocess.Popen(
            [*command, "--seeds", seeds], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for seeds in ("0,2", "1,3")
    ]
    for proc in procs:
        output = proc.communicate(timeout=300)[0].decode()
        assert proc.returncode == 0, output
    result = load_result(tmp_path / "recon" / "first-last-xor-t6.json")
    assert result.seeds == [0, 1, 2, 3]
    assert validate_file(tmp_path / "recon" / "first-last-xor-t6.json") == []


def test_resume_refuses_a_tampered_record_or_summary_and_suggests_force(tmp_path):
    assert evaluate(tmp_path, "0").exit_code == 0
    summary = tmp_path / "recon" / "first-last-xor-t6.json"
    record = tmp_path / "recon" / "first-last-xor-t6" / "seed-0.json"
    for path, edit in (
        (record, lambda d: d["run"]["metrics"]["test"].update(accuracy=1.0)),
        (summary, lambda d: d["runs"][0]["metrics"]["test"].update(accuracy=1.0)),
    ):
        original = path.read_text()
        doc = json.loads(original)
        edit(doc)
        path.write_text(json.dumps(doc))
        result = evaluate(tmp_path, "0,1")
        assert result.exit_code == 1 and "--force" in result.output, result.output
        assert path.read_text() == json.dumps(doc), "the tampered file was rewritten"
        path.write_text(original)
    assert evaluate(tmp_path, "0,1").exit_code == 0
    assert load_result(summary).seeds == [0, 1]


def test_stray_temporary_files_of_dead_writers_are_removed(tmp_path):
    assert evaluate(tmp_path, "0").exit_code == 0
    folder = tmp_path / "recon" / "first-last-xor-t6"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    pid = int(dead.stdout)  # a process that has exited
    from snnbench.results.io import HOST

    stale = [
        folder / f".seed-1.json.{HOST}-{pid}.tmp",
        folder.parent / f".first-last-xor-t6.json.{pid}.tmp",  # named as before hosts were
    ]
    for path in stale:
        path.write_text("{")
    live = folder / f".seed-5.json.{HOST}-{os.getppid()}.tmp"  # a writer that still runs
    elsewhere = folder / f".seed-6.json.othernode-{pid}.tmp"  # a PID this host cannot judge
    for path in (live, elsewhere):
        path.write_text("{")
    assert evaluate(tmp_path, "0,1").exit_code == 0
    assert not any(p.exists() for p in stale) and live.exists() and elsewhere.exists()
    assert validate_file(tmp_path / "recon" / "first-last-xor-t6.json") == []


def test_a_record_in_a_summarys_place_is_refused_not_crashed_on(tmp_path):
    """A seed record copied to <method>/<task>.json passes no check as a summary, and the
    site build names it instead of crashing on it."""
    from snnbench.leaderboard import build_site
    from snnbench.leaderboard.collect import InvalidResultError

    assert evaluate(tmp_path / "out", "0").exit_code == 0
    record = tmp_path / "out" / "recon" / "first-last-xor-t6" / "seed-0.json"
    results = tmp_path / "results" / "recon"
    results.mkdir(parents=True)
    (results / "first-last-xor-t6.json").write_text(record.read_text())
    assert validate_file(results / "first-last-xor-t6.json")
    with pytest.raises(InvalidResultError, match="first-last-xor-t6.json"):
        build_site(tmp_path / "results", tmp_path / "site")
