"""What the site offers for download: the trained networks behind its scores.

`networks.tar.gz` holds, for every seed record under the results folder whose network file is
there and matches the record's sha256 and size, that record and its `seed-<n>.safetensors`,
at their paths relative to the results folder (so `snnbench rescore` runs on the unpacked
tree).  Members are sorted and their times zeroed, so the same networks give the same bytes.
Networks are never committed; the archive is built from whatever results folder is given.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

from snnbench.results import RECORD

ARCHIVE = "networks.tar.gz"


def published_networks(results: Path) -> list[tuple[Path, Path]]:
    """(record, network) pairs under results whose network matches its record."""
    pairs = []
    for record in sorted(results.rglob("seed-*.json")):
        if not RECORD.match(record.name) or record.parent.parent.parent != results:
            continue  # only <results>/<method>/<task>/seed-<n>.json
        network = record.with_suffix(".safetensors")
        try:
            entry = json.loads(record.read_text())["run"]["network"]
            blob = network.read_bytes() if network.is_file() else None
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if (
            blob is not None
            and isinstance(entry, dict)
            and entry.get("bytes") == len(blob)
            and entry.get("sha256") == hashlib.sha256(blob).hexdigest()
        ):
            pairs.append((record, network))
    return pairs


def write_networks_archive(results: Path, target: Path) -> int:
    """Write the archive of every published network to target; how many it holds (none: no
    file is written)."""
    pairs = published_networks(results)
    if not pairs:
        return 0
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for record, network in pairs:
            for path in (record, network):
                data = path.read_bytes()
                info = tarfile.TarInfo(str(path.relative_to(results)))
                info.size, info.mode, info.mtime = len(data), 0o644, 0
                tar.addfile(info, io.BytesIO(data))
    target.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    return len(pairs)
