"""Saved networks: evaluate saves each seed's scored network beside its record with its
sha256 in the record; `rescore` scores it again, exactly; a changed network is caught; the
leaderboard's networks stay out of git."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
import torch
from safetensors.torch import load, save
from typer.testing import CliRunner

from snnbench.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def saved(tmp_path) -> Path:
    args = ["evaluate", "--method", "recon", "--task", "first-last-xor-t6", "--preset", "quick"]
    result = runner.invoke(app, [*args, "--seeds", "0", "--out", str(tmp_path / "results")])
    assert result.exit_code == 0, result.output
    return tmp_path / "results" / "recon" / "first-last-xor-t6"


def test_each_seed_saves_its_network_and_rescores_exactly(saved):
    record = json.loads((saved / "seed-0.json").read_text())["run"]
    blob = (saved / "seed-0.safetensors").read_bytes()
    assert record["network"] == {"sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob)}
    for path in (saved.with_suffix(".json"), saved / "seed-0.json"):  # summary or record
        result = runner.invoke(app, ["rescore", str(path)])
        assert result.exit_code == 0 and "rescored exactly" in result.output, result.output


def test_a_changed_network_is_caught(saved):
    path = saved / "seed-0.safetensors"
    blob = path.read_bytes()
    header = json.loads(blob[8 : 8 + int.from_bytes(blob[:8], "little")])
    weights = load(blob)
    weights["readout.weight"] = torch.zeros_like(weights["readout.weight"])
    changed = save(weights, metadata=header["__metadata__"])
    path.write_bytes(changed)
    result = runner.invoke(app, ["rescore", str(saved / "seed-0.json")])
    assert result.exit_code == 1 and "sha256 differs" in result.output, result.output
    # a submitter who also rewrites the record's sha256 gets the new network's scores compared
    record_path = saved / "seed-0.json"
    doc = json.loads(record_path.read_text())
    doc["run"]["network"] = {"sha256": hashlib.sha256(changed).hexdigest(), "bytes": len(changed)}
    record_path.write_text(json.dumps(doc))
    result = runner.invoke(app, ["rescore", str(record_path)])
    assert result.exit_code == 1 and "NOT every seed" in result.output, result.output
    path.write_bytes(b"\0" * 8 + b"not safetensors")
    doc["run"]["network"] = {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "bytes": 23}
    record_path.write_text(json.dumps(doc))
    result = runner.invoke(app, ["rescore", str(record_path)])
    assert result.exit_code == 1 and "not a safetensors network" in result.output, result.output


def test_a_file_without_networks_says_so(saved):
    (saved / "seed-0.safetensors").unlink()
    result = runner.invoke(app, ["rescore", str(saved.with_suffix(".json"))])
    assert result.exit_code == 1 and "no network" in result.output, result.output


def test_the_leaderboards_networks_stay_out_of_git():
    listed = subprocess.run(
        ["git", "ls-files", "leaderboard/results"], cwd=ROOT, capture_output=True, text=True
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    files = listed.stdout.split()
    assert files and not [f for f in files if f.endswith(".safetensors")]
    states = [Path(f) for f in files if Path(f).parent.suffix == ".resume"]
    large = [f for f in files if Path(f) not in states and (ROOT / f).stat().st_size > 1 << 20]
    assert not large, f"committed result files over 1 MB: {large}"
    # mid-fit states are committed only while their seed trains across sessions: one whose
    # seed has a record is a leftover that a later run must never mistake for a live fit
    for state in states:
        record = state.parent.with_suffix(".json")
        summary = state.parent.parent.with_suffix(".json")
        seed = int(state.parent.stem.removeprefix("seed-"))
        assert state.name.startswith("state-") and state.suffix == ".pt", state
        # the project keeps files over 5 MB out of git; a larger state stays local
        assert (ROOT / state).stat().st_size <= 5_000_000, f"{state}: a state over 5 MB"
        assert not (ROOT / record).exists(), f"{state}: its seed is recorded ({record})"
        if (ROOT / summary).exists():
            assert seed not in json.loads((ROOT / summary).read_text())["seeds"], state


def test_the_site_offers_the_networks_as_one_archive_that_rescores(saved, tmp_path):
    import tarfile

    from snnbench.leaderboard.downloads import write_networks_archive

    results = saved.parent.parent
    site = tmp_path / "site"
    result = runner.invoke(
        app, ["leaderboard", "build", "--results", str(results), "--out", str(site)]
    )
    assert result.exit_code == 0, result.output
    assert 'href="networks.tar.gz"' in (site / "index.html").read_text()
    with tarfile.open(site / "networks.tar.gz") as tar:
        assert tar.getnames() == [
            "recon/first-last-xor-t6/seed-0.json",
            "recon/first-last-xor-t6/seed-0.safetensors",
        ]
        tar.extractall(tmp_path / "unpacked", filter="data")
    again = tmp_path / "again.tar.gz"
    assert write_networks_archive(results, again) == 1
    assert again.read_bytes() == (site / "networks.tar.gz").read_bytes()  # same bytes
    unpacked = tmp_path / "unpacked" / "recon" / "first-last-xor-t6" / "seed-0.json"
    assert runner.invoke(app, ["rescore", str(unpacked)]).exit_code == 0
    (saved / "seed-0.safetensors").write_bytes(b"changed")  # no longer the recorded network
    assert write_networks_archive(results, tmp_path / "none.tar.gz") == 0
    record = saved / "seed-0.json"  # a record rewritten to vouch for it is not enough
    doc = json.loads(record.read_text())
    doc["run"]["network"] = {"sha256": hashlib.sha256(b"changed").hexdigest(), "bytes": 7}
    record.write_text(json.dumps(doc))
    assert write_networks_archive(results, tmp_path / "none.tar.gz") == 0
