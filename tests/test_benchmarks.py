"""The benchmark scripts still run (on toy sizes): their numbers go into the README."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_benchmark(name: str):
    """benchmarks/<name>.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lif_forward_benchmark_runs_and_compares_every_simulator(capsys):
    module = load_benchmark("lif_forward")
    module.bench(n=16, steps=5, inputs=3, p_rec=16, p_last=32, repeats=1)
    out = capsys.readouterr().out
    for row in ("snnbench (gemm)", "snnbench (events)", "snntorch", "spikingjelly"):
        assert f"| {row} |" in out, out
    assert "GFLOP/s" in out and "| all |" in out


def test_row_additions_benchmark_runs(capsys, monkeypatch):
    module = load_benchmark("row_additions")
    monkeypatch.setattr(
        "sys.argv",
        [
            "row_additions.py",
            "--width",
            "16",
            "--fan-in",
            "20",
            "--steps",
            "50",
            "--per-step",
            "3",
            "--repeats",
            "1",
        ],
    )
    module.main()
    out = capsys.readouterr().out
    assert out.count("| float32 |") == 2 and out.count("| float64 |") == 2, out


def test_network_rebuild_benchmark_runs(capsys):
    module = load_benchmark("network_rebuild")
    spec = {"kind": "lif", "n_in": 2, "n_out": 2, "depth": 3, "p_rec": 8, "p_last": 8}
    module.bench(spec, "first-last-xor-t6", repeats=1)
    out = capsys.readouterr().out
    assert "| checked_fit (harness rebuild and checks) |" in out and "1000 sequences" in out


def test_sg_train_benchmark_runs_every_simulator(capsys, monkeypatch):
    module = load_benchmark("sg_train")
    tiny = {
        "n_in": 2,
        "n_out": 3,
        "depth": 3,
        "p_rec": 8,
        "p_last": 8,
        "steps": 4,
        "features": "membrane",
        "every_step": False,
        "title": "tiny",
    }
    monkeypatch.setitem(module.SHAPES, "tiny", tiny)
    module.bench("tiny", batch=8, repeats=1, memory=False)
    out = capsys.readouterr().out
    for row in ("snnbench", "snntorch", "spikingjelly"):
        assert f"| {row} |" in out, out
    assert "GFLOP/s" in out and "floor" in out


def test_grid_benchmark_runs(capsys):
    module = load_benchmark("grid")
    module.main(["--methods", "recon", "--tasks", "first-last-xor-t6", "--seeds", "0,1"])
    out = capsys.readouterr().out
    assert "| --jobs 1 |" in out and "| --jobs 2 |" in out and "speed-up" in out


def test_task_cost_benchmark_measures_rounds_and_fixed_costs(capsys, monkeypatch):
    module = load_benchmark("task_cost")
    argv = ["task_cost.py", "--task", "first-last-xor-t6", "--preset", "quick"]
    monkeypatch.setattr("sys.argv", [*argv, "--methods", "sg,recon,admm,recon-sg"])
    module.main()
    rows = {
        line.split(" | ")[0][2:]: line.split(" | ")
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("| ") and "---" not in line
    }
    assert rows["sg"][1] != "-" and float(rows["sg"][1]) > 0 and rows["sg"][3] == "15"
    assert rows["recon"][1] == "-" and float(rows["recon"][2]) > 0
    assert float(rows["admm"][1]) > 0 and float(rows["recon-sg"][1]) > 0
