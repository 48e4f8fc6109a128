"""Where results live on disk, and writing them so that concurrent runs lose nothing.

    OUT/<method>/<task>.json                 the summary (what validate, verify and the site read)
    OUT/<method>/<task>/seed-<n>.json        one record per finished seed (what evaluate writes)
    OUT/<method>/<task>/seed-<n>.safetensors its scored network (results/networks.py)

Each seed is written atomically as its own record; the summary is then rebuilt, under an
exclusive lock on the records folder, from every record there (and the runs of an existing
summary that has no record files, as committed leaderboard files have).  Two processes writing
different seeds of one (method, task) therefore both end up in the summary.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from snnbench.errors import ResultFileError
from snnbench.results.checks import Problem
from snnbench.results.io import (
    locked,
    read_json,
    remove_stale_temporaries,
    write_atomic,
    write_bytes_atomic,
)
from snnbench.results.model import ResultFile, SeedRecord

RECORD = re.compile(r"^seed-(\d+)\.json$")
RESUME = re.compile(r"^seed-(\d+)\.resume$")  # a seed's mid-fit states (resume_path)


def summary_path(out: str | Path, method: str, task_id: str) -> Path:
    return Path(out) / method / f"{task_id}.json"


def result_files(root: Path) -> list[Path]:
    """Every summary file under root (seed records are not result files of their own)."""
    return sorted(p for p in root.rglob("*.json") if not RECORD.match(p.name))


class ResultStore:
    """The summary and seed records of one (method, task) under an output folder."""

    def __init__(self, out: str | Path, method: str, task_id: str):
        self.summary = summary_path(out, method, task_id)
        self.folder = self.summary.with_suffix("")

    def record_path(self, seed: int) -> Path:
        return self.folder / f"seed-{seed}.json"

    def network_path(self, seed: int) -> Path:
        """Derived from the seed only: a record never names a path of its own."""
        return self.folder / f"seed-{seed}.safetensors"

    def resume_path(self, seed: int) -> Path:
        """The seed's mid-fit checkpoints while it trains (snnbench/checkpoints.py)."""
        return self.folder / f"seed-{seed}.resume"  # matched by RESUME

    def record_files(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.iterdir() if RECORD.match(p.name))

    def _read(self) -> list[SeedRecord]:
        """Every record by seed: record files win over the runs of the summary."""
        from snnbench.results import load_record, load_result

        records: dict[int, SeedRecord] = {}
        if self.summary.exists():
            records.update((r.seed, r) for r in load_result(self.summary).records())
        for path in self.record_files():
            record = load_record(path)
            records[record.seed] = record
        return [records[seed] for seed in sorted(records)]

    def recorded_seeds(self) -> set[int]:
        """Seeds with a record file or in the summary, by name and the summary's seed list
        only (what `status` shows; resuming validates them, see `existing`)."""
        seeds = {int(RECORD.match(p.name)[1]) for p in self.record_files()}
        try:
            listed = read_json(self.summary).get("seeds", []) if self.summary.exists() else []
            seeds.update(s for s in listed if isinstance(s, int) and not isinstance(s, bool))
        except (ResultFileError, AttributeError, TypeError):
            pass
        return seeds

    def existing(self, data_dir: str | None = None) -> list[SeedRecord]:
        """The finished seeds to resume from; refuses a summary or record that fails
        validation, or a record that disagrees with the summary (a tampered file is never
        resumed, and so never re-summarised).  Read under the lock: a consistent snapshot."""
        from snnbench.results import load_result, validate_file

        with locked(self.folder):
            paths = [*([self.summary] if self.summary.exists() else []), *self.record_files()]
            problems = [
                p for path in paths for p in validate_file(path, data_dir) if p.level == "error"
            ]
            if not problems and self.summary.exists():
                summarised = {r["seed"]: r for r in load_result(self.summary).runs}
                for path in self.record_files():
                    record = SeedRecord.from_document(json.loads(path.read_text()))
                    if record.seed in summarised and summarised[record.seed] != record.run:
                        problems.append(
                            Problem(
                                str(path),
                                "run",
                                f"disagrees with the run of seed {record.seed} in {self.summary}",
                            )
                        )
            if problems:
                listed = "; ".join(map(str, problems[:3]))
                if len(problems) > 3:
                    listed += f" (and {len(problems) - 3} more)"
                raise ResultFileError(
                    f"cannot resume from invalid results: {listed}; "
                    "pass --force to recompute every seed"
                )
            return self._read()

    def write(self, record: SeedRecord, network: bytes | None = None) -> ResultFile:
        """Write one seed's network (if given) and record, then rebuild the summary from every
        record.  The network goes first, so a record never names a file that is not there."""
        with locked(self.folder):
            remove_stale_temporaries(self.folder)
            remove_stale_temporaries(self.summary.parent)
            if network is not None:
                write_bytes_atomic(self.network_path(record.seed), network)
            write_atomic(self.record_path(record.seed), record.to_document())
            result = ResultFile.from_records(self._read())
            write_atomic(self.summary, result.to_document())
        return result

    def clear(self) -> None:
        """Forget every seed (--force)."""
        with locked(self.folder):
            for path in self.record_files():
                path.unlink()
                self.network_path(int(RECORD.match(path.name)[1])).unlink(missing_ok=True)
            self.summary.unlink(missing_ok=True)
        shutil.rmtree(self.folder, ignore_errors=True)
