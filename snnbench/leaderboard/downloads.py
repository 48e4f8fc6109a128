"""What the site offers for download: the trained networks behind its scores.

`networks.tar.gz` holds, for every seed record under the results folder whose network file is
there and matches the record's sha256 and size, that record and its `seed-<n>.safetensors`,
at their paths relative to the results folder (so `snnbench rescore` runs on the unpacked
tree).  Members are sorted and their times zeroed, so the same networks give the same bytes.
Networks are never committed; the archive is built from whatever results folder is given.
"""

from __future__ import annotations

import gzip
import json
import tarfile
from pathlib import Path

from snnbench.results import RECORD

ARCHIVE = "networks.tar.gz"


def published_networks(results: Path) -> list[tuple[Path, Path]]:
    """(record, network) pairs under results that `rescore` would accept: the record
    validates, neither file is a symlink, and the network passes every check of
    `load_network` (size limit, sha256 and size against the record, spec, weights)."""
    from snnbench.errors import SnnbenchError
    from snnbench.results import load_record, validate_file
    from snnbench.results.networks import load_network
    from snnbench.tasks import TASKS

    pairs = []
    for record in sorted(results.glob("*/*/seed-*.json")):
        network = record.with_suffix(".safetensors")
        if not RECORD.match(record.name) or record.is_symlink() or not network.is_file():
            continue
        if network.is_symlink() or validate_file(record):
            continue
        try:
            seed = load_record(record)
            entry, task = seed.run.get("network"), TASKS[seed.task["id"]]
            if entry is None:
                continue
            load_network(network, entry, seed.run["model"]["spec"], task.info)
        except (SnnbenchError, KeyError):
            continue
        pairs.append((record, network))
    return pairs


def write_networks_archive(results: Path, target: Path) -> int:
    """Write the archive of every published network to target, streamed; how many it holds
    (none: no file is written)."""
    pairs = published_networks(results)
    if not pairs:
        return 0
    with (
        open(target, "wb") as raw,
        # no file name and no time in the gzip header: the bytes depend on the networks only
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed,
        tarfile.open(fileobj=packed, mode="w") as tar,
    ):
        for record, network in pairs:
            for path in (record, network):
                info = tarfile.TarInfo(str(path.relative_to(results)))
                info.size, info.mode, info.mtime = path.stat().st_size, 0o644, 0
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
    return len(pairs)


TABLE_COLUMNS = [
    "method", "method_version", "preset", "task", "version", "split", "metric", "mean", "std",
    "n", "spiking", "params", "spikes_per_sample", "synops_per_sample", "train_seconds",
    "threads", "commit", "file_href",
]  # fmt: skip


def write_score_tables(scores, out: Path) -> None:
    """`results.csv` and `results.json`: every published number (one row per result file,
    split and metric), the same rows in both, sorted, with the site path of its file."""
    frame = scores[TABLE_COLUMNS].sort_values(["task", "method", "preset", "split", "metric"])
    frame = frame.rename(columns={"file_href": "file"}).reset_index(drop=True)
    frame.to_csv(out / "results.csv", index=False)
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    (out / "results.json").write_text(json.dumps(records, indent=1) + "\n")  # full precision


def copy_result_files(scores, out: Path) -> None:
    """Each published result file, as validated, at its site path (`file_href`)."""
    import shutil

    from snnbench.leaderboard.pages import inside

    for source, href in sorted(set(zip(scores.file, scores.file_href, strict=True))):
        target = inside(out, href)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
