"""End to end through the CLI: each baseline, validation of broken files, resume, determinism."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from snnbench.cli import app
from snnbench.results import validate_file

runner = CliRunner()


def evaluate(
    out: Path, method: str = "sg", task: str = "first-last-xor-t6", seeds: str = "0", *extra: str
):
    args = [
        "evaluate",
        "--method",
        method,
        "--task",
        task,
        "--preset",
        "quick",
        "--seeds",
        seeds,
        "--out",
        str(out),
        *extra,
    ]
    return runner.invoke(app, args)


def load(out: Path, method: str, task: str) -> dict:
    return json.loads((out / method / f"{task}.json").read_text())


@pytest.fixture(scope="module")
def xor_result(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("results")
    result = evaluate(out, "sg", "first-last-xor-t6", "0,1")
    assert result.exit_code == 0, result.output
    return out / "sg" / "first-last-xor-t6.json"


@pytest.mark.slow
@pytest.mark.parametrize("method", ["sg", "sg-snntorch", "sg-spikingjelly"])
def test_each_baseline_end_to_end(tmp_path, method):
    if method == "sg-spikingjelly":
        pytest.importorskip(
            "spikingjelly", reason="spikingjelly is installed by `make install` with --no-deps"
        )
    result = evaluate(tmp_path, method, "first-last-xor-t6")
    assert result.exit_code == 0, result.output
    doc = load(tmp_path, method, "first-last-xor-t6")
    assert validate_file(tmp_path / method / "first-last-xor-t6.json") == []
    assert doc["method"]["name"] == method and doc["seeds"] == [0]
    assert doc["runs"][0]["metrics"]["test"]["accuracy"] > 0.55, "quick preset should beat chance"
    assert doc["environment"]["torch"].startswith("2.")


@pytest.mark.slow
def test_addition_end_to_end_reports_every_split_and_metric(tmp_path):
    result = evaluate(tmp_path, "sg", "add-b2")
    assert result.exit_code == 0, result.output
    doc = load(tmp_path, "sg", "add-b2")
    assert set(doc["summary"]["metrics"]) == {"train", "val", "test", "ood-2x", "ood-5x", "ood-10x"}
    assert set(doc["summary"]["metrics"]["ood-10x"]) == {
        "token_accuracy",
        "sequence_accuracy",
        "sum_token_accuracy",
        "carry_token_accuracy",
        "teacher_forced_token_accuracy",
    }
    assert doc["runs"][0]["spikes"]["per_sample"] > 0
    assert "ood-10x" in result.output


def test_result_file_contents(xor_result):
    doc = json.loads(xor_result.read_text())
    assert doc["seeds"] == [0, 1] and [r["seed"] for r in doc["runs"]] == [0, 1]
    assert doc["summary"]["metrics"]["test"]["accuracy"]["n"] == 2
    assert doc["method"]["grid"] == {"lr": [0.01]} and doc["runs"][0]["chosen_hyperparameters"] == {
        "lr": 0.01
    }
    assert "lr" not in doc["method"]["config"] and doc["method"]["config"]["p_last"] == 64
    assert len(doc["task"]["fingerprints"]) == 3
    for key in (
        "snnbench",
        "git_commit",
        "python",
        "torch",
        "snntorch",
        "spikingjelly",
        "cvxpy",
        "cpu",
        "device",
    ):
        assert key in doc["environment"]


BROKEN = {
    "metric above 1": (
        lambda d: d["runs"][0]["metrics"]["test"].update(accuracy=1.5),
        "runs/0/metrics/test/accuracy",
    ),
    "missing field": (lambda d: d["method"].pop("config"), "method"),
    "seeds do not match": (lambda d: d.update(seeds=[0, 7]), "seeds"),
    "summary edited": (
        lambda d: d["summary"]["metrics"]["test"]["accuracy"].update(mean=0.99),
        "summary/metrics/test/accuracy/mean",
    ),
    "chosen point is not the best on val": (
        lambda d: (
            d["method"]["grid"].update(lr=[0.01, 0.1]),
            d["runs"][0]["selection"].append({"hyperparameters": {"lr": 0.1}, "val_score": 1.0}),
        ),
        "runs/0/chosen_hyperparameters",
    ),
    "val score is not the run's val metric": (
        lambda d: d["runs"][0]["selection"][0].update(val_score=1.0),
        "runs/0/metrics/val/accuracy",
    ),
    "a primary metric no task has": (
        lambda d: d["task"].update(primary_metric="bogus"),
        "task/primary_metric",
    ),
    "a split the task does not have": (
        lambda d: d["task"].update(splits=["test", "val", "train", "ood-99x"]),
        "task/splits",
    ),
    "a GRU marked spiking": (
        lambda d: d["runs"][0]["model"].update(kind="gru"),
        "runs/0/model",
    ),
    "a run copied under another seed": (
        lambda d: (d.update(seeds=[0, 1]), d["runs"].__setitem__(1, {**d["runs"][0], "seed": 1})),
        "runs",
    ),
    "fingerprint of other data": (
        lambda d: d["task"]["fingerprints"].update(test="0" * 64),
        "task/fingerprints/test",
    ),
    "old task version": (lambda d: d["task"].update(version="v0"), "task/version"),
    "hyperparameter off the grid": (
        lambda d: d["runs"][0]["chosen_hyperparameters"].update(lr=0.3),
        "runs/0/chosen_hyperparameters",
    ),
    "name escaping the folder": (lambda d: d["method"].update(name="../../etc"), "method/name"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_validate_reports_file_and_field(xor_result, tmp_path, case):
    doc = json.loads(xor_result.read_text())
    assert validate_file(xor_result) == []
    edit, field = BROKEN[case]
    broken = copy.deepcopy(doc)
    edit(broken)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    problems = validate_file(path)
    assert any(p.field == field for p in problems), [str(p) for p in problems]
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1 and str(path) in result.output and field in result.output


def test_validate_malformed_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"schema_version": 1,')
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1 and "not valid JSON" in result.output


def test_validate_checks_every_file_however_hostile(xor_result, tmp_path, monkeypatch):
    """One line per hostile file, no traceback, and the valid file named last is still ok."""
    text = xor_result.read_text()
    hostile = {
        "deep.json": "[" * 2500 + "]" * 2500,  # beyond the parser's recursion limit
        "nested.json": text.replace(
            '"config": {', '"config": {"x": ' + "[" * 40 + "]" * 40 + ", ", 1
        ),
        "latin1.json": b'{"name": "caf\xe9"}',
        "nan.json": text.replace('"train_seconds": ', '"train_seconds": NaN, "x": ', 1),
        "infinity.json": text.replace('"per_sample": ', '"per_sample": Infinity, "x": ', 1),
        "overflow.json": text.replace('"eval_seconds": ', '"eval_seconds": 1e999, "x": ', 1),
        "duplicate.json": text.replace('"seeds": [', '"seeds": [0], "seeds": [', 1),
        "list.json": "[1, 2]",
        "huge.json": text + " " * 2048,
    }
    import snnbench.results.io as io

    monkeypatch.setattr(io, "MAX_BYTES", len(text) + 1024)
    paths = []
    for name, content in hostile.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        paths.append(path)
    result = runner.invoke(app, ["validate", *map(str, paths), str(xor_result)], terminal_width=400)
    assert result.exit_code == 1 and "Traceback" not in result.output
    expected = {
        "deep.json": "nested too deeply",
        "nested.json": "nested too deeply",
        "latin1.json": "not UTF-8",
        "nan.json": "NaN and Infinity are refused",
        "infinity.json": "NaN and Infinity are refused",
        "overflow.json": "out of range",
        "duplicate.json": "duplicate key 'seeds'",
        "list.json": "not an object",
        "huge.json": "byte limit",
    }
    for name, message in expected.items():
        lines = [line for line in result.output.splitlines() if name in line]
        assert len(lines) == 1 and message in lines[0], (name, lines)
    assert f"ok {xor_result}" in result.output


@pytest.mark.parametrize(
    "args,name",
    [
        (["--method", "nope", "--task", "add-b3"], "sg-snntorch"),
        (["--method", "sg", "--task", "add-b4"], "first-last-xor-t14"),
    ],
)
def test_unknown_names_exit_2_and_list_valid_ones(args, name):
    result = runner.invoke(app, ["evaluate", *args])
    assert result.exit_code == 2 and name in result.output


def test_listing_commands():
    tasks = runner.invoke(app, ["tasks"], terminal_width=200)
    assert tasks.exit_code == 0 and "smnist-mini-t784" in tasks.output
    methods = runner.invoke(app, ["methods"], terminal_width=200)
    assert methods.exit_code == 0 and all(
        m in methods.output for m in ("sg", "sg-snntorch", "sg-spikingjelly")
    )


def test_same_seed_same_numbers(tmp_path):
    for sub in ("a", "b"):
        assert evaluate(tmp_path / sub, "sg", "add-b3").exit_code == 0
    a, b = (load(tmp_path / s, "sg", "add-b3")["runs"][0] for s in ("a", "b"))
    for key in ("metrics", "selection", "spikes", "chosen_hyperparameters"):
        assert a[key] == b[key]


@pytest.mark.slow
def test_killed_run_resumes_where_it_stopped(tmp_path):
    args = [
        sys.executable,
        "-m",
        "snnbench.cli",
        "evaluate",
        "--method",
        "sg",
        "--task",
        "first-last-xor-t6",
        "--preset",
        "quick",
        "--seeds",
        "0,1,2",
        "--out",
        str(tmp_path),
    ]
    path = tmp_path / "sg" / "first-last-xor-t6.json"
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not path.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = json.loads(path.read_text())
    assert 1 <= len(before["runs"]) < 3, "the kill should land between seeds"
    assert validate_file(path) == []
    assert not list(path.parent.glob(".*.tmp")), "no temporary file left behind"

    result = evaluate(tmp_path, "sg", "first-last-xor-t6", "0,1,2")
    assert result.exit_code == 0, result.output
    after = json.loads(path.read_text())
    assert after["seeds"] == [0, 1, 2]
    assert after["runs"][: len(before["runs"])] == before["runs"]  # finished seeds were not rerun


def test_changed_config_refuses_to_mix_without_force(xor_result, tmp_path):
    out = tmp_path / "r"
    (out / "sg").mkdir(parents=True)
    doc = json.loads(xor_result.read_text())
    doc["method"]["config"]["p_last"] = 128
    (out / "sg" / "first-last-xor-t6.json").write_text(json.dumps(doc))
    result = evaluate(out, "sg", "first-last-xor-t6", "0,1")
    assert result.exit_code == 1 and "--force" in result.output
    assert evaluate(out, "sg", "first-last-xor-t6", "0", "--force").exit_code == 0
    assert load(out, "sg", "first-last-xor-t6")["seeds"] == [0]


def test_resume_refuses_a_damaged_file(xor_result, tmp_path):
    out = tmp_path / "r"
    (out / "sg").mkdir(parents=True)
    doc = json.loads(xor_result.read_text())
    del doc["runs"][0]["metrics"]
    (out / "sg" / "first-last-xor-t6.json").write_text(json.dumps(doc))
    result = evaluate(out, "sg", "first-last-xor-t6", "0,1,2")
    assert result.exit_code == 1 and "runs/0" in result.output and "--force" in result.output


def test_smooth_solver_option_reaches_the_solves_and_the_file(tmp_path):
    result = evaluate(tmp_path, "recon", "add-b2", "0", "--set", "smooth_solver=barrier")
    assert result.exit_code == 0, result.output
    doc = load(tmp_path, "recon", "add-b2")
    assert doc["method"]["config"]["smooth_solver"] == "barrier"
    solves = {s["head"]: s for s in doc["runs"][0]["fit_info"]["solves"]}
    assert solves["sum"]["solver"] == "barrier" and solves["sum"]["converged"]
    bad = evaluate(tmp_path, "recon", "add-b2", "0", "--set", "smooth_solver=newton")
    assert bad.exit_code == 2 and "auto, barrier, fista" in bad.output


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--preset", "bogus"], "unknown preset 'bogus'"),
        (["--seeds", "1" * 23], "from 0 to 4294967295"),
        (["--seeds", "-1"], "from 0 to"),
        (["--seeds", "0,0"], "distinct"),
        (["--seeds", "x"], "comma-separated integers"),
        (["--set", "no_such_key=1"], "no setting 'no_such_key'"),
        (["--set", "lr=fast"], "expected a float"),
        (["--set", "=1"], "expected key=value"),
    ],
)
def test_bad_input_exits_2_with_one_line_before_any_work(tmp_path, extra, message):
    result = evaluate(tmp_path / "out", "sg", "first-last-xor-t6", "0", *extra)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out" / "sg").exists()  # nothing trained, nothing written


def test_an_empty_task_list_is_an_error():
    result = runner.invoke(app, ["evaluate", "--method", "sg", "--task", ","])
    assert result.exit_code == 2 and "names no task" in result.output


def test_a_bad_out_folder_is_refused_before_the_first_seed(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("")
    result = evaluate(a_file, "recon", "first-last-xor-t6")
    assert result.exit_code == 2 and "is not a folder" in result.output
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o500)
    # root ignores permission bits; /proc refuses new folders to everyone
    unwritable = Path("/proc/snnbench-out") if os.geteuid() == 0 else read_only
    try:
        result = evaluate(unwritable, "recon", "first-last-xor-t6")
        assert result.exit_code == 2 and "not writable" in result.output, result.output
    finally:
        read_only.chmod(0o700)
    created = tmp_path / "new" / "deeper"
    assert evaluate(created, "recon", "first-last-xor-t6").exit_code == 0 and created.is_dir()


def test_serve_on_a_busy_port_is_one_line(tmp_path):
    import socket

    (tmp_path / "index.html").write_text("<html></html>")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(
            app, ["leaderboard", "serve", "--site", str(tmp_path), "--port", str(port)]
        )
    assert result.exit_code == 2 and "cannot serve on" in result.output
    assert "Traceback" not in result.output
