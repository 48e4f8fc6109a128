"""`snnbench rescore`: score the saved networks of a result file again, without training.

Each seed's network is read from `seed-<n>.safetensors` beside its record (checked: size,
sha256 against the record, spec, every weight) and scored on every split the run reports, by
the task's own protocol, on the data of the recorded task version (fingerprints checked), on
the recorded torch thread count.  Scoring is deterministic, so every metric and the spike
count, and the efficiency figures, must come out exactly as recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from snnbench.efficiency import comparisons, measure
from snnbench.errors import ResultFileError
from snnbench.jobs import pinned_threads
from snnbench.results import RECORD, load_record, load_result, validate_file
from snnbench.results.networks import load_network
from snnbench.tasks import get_task
from snnbench.verify import recorded_threads


@dataclass
class Rescore:
    seed: int
    # (split, metric, recorded, rescored), spikes per sample on test included
    comparisons: list[tuple[str, str, float, float]] = field(default_factory=list)
    missing: str | None = None  # why the seed has no network to rescore

    @property
    def exact(self) -> bool:
        return self.missing is None and all(a == b for _, _, a, b in self.comparisons)


def rescore_file(path: Path, data_dir: str | None = None) -> list[Rescore]:
    """A Rescore per seed of a summary or seed record that validates."""
    errors = [p for p in validate_file(path, data_dir) if p.level == "error"]
    if errors:
        raise ResultFileError(
            "cannot rescore an invalid result file:\n  " + "\n  ".join(map(str, errors))
        )
    if RECORD.match(path.name):
        record = load_record(path)
        runs, header, environment, folder = (
            [record.run],
            record.task,
            record.environment,
            path.parent,
        )
    else:
        result = load_result(path)
        runs, header, environment = result.runs, result.task, result.environment
        folder = path.with_suffix("")
    task = get_task(header["id"])
    if task.version != header["version"]:
        raise ResultFileError(
            f"{path} was made on {task.id} version {header['version']}; this is version "
            f"{task.version}"
        )
    splits = task.load(data_dir)
    for name, fingerprint in header["fingerprints"].items():
        if splits[name].fingerprint() != fingerprint:
            raise ResultFileError(f"{path}: the {name} split's data differs from the recorded")
    out = []
    with pinned_threads(recorded_threads(environment)):
        for run in runs:
            seed, entry = run["seed"], run.get("network")
            if entry is None:
                out.append(Rescore(seed, missing="made before networks were saved"))
                continue
            network_path = folder / f"seed-{seed}.safetensors"
            if network_path.is_symlink():  # a reader follows no path out of its folder
                raise ResultFileError(f"{network_path} is a symbolic link; refused")
            if not network_path.exists():
                out.append(Rescore(seed, missing=f"{network_path} is not there"))
                continue
            model = load_network(network_path, entry, run["model"]["spec"], task.info)
            check = Rescore(seed)
            for split, metrics in run["metrics"].items():
                score = task.score(model, splits[split])
                for metric, value in metrics.items():
                    check.comparisons.append((split, metric, value, score.metrics[metric]))
                if split == run["spikes"]["split"]:
                    spikes = ("spikes per sample", run["spikes"]["per_sample"])
                    check.comparisons.append((split, *spikes, score.spikes_per_sample))
                recorded = run.get("efficiency")
                if recorded is not None and split == recorded["split"]:
                    measured = measure(model, score.inputs, split, score.replay)
                    check.comparisons.extend(comparisons(recorded, measured))
            out.append(check)
    return out
