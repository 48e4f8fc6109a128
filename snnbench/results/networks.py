"""Saved networks: each seed's scored network, as safetensors beside its seed record.

    OUT/<method>/<task>/seed-<n>.safetensors    the weights; the spec in its metadata

The record carries the file's sha256 and size (`run.network`), never its path: the path is
always derived from the seed, so a hostile result file cannot point a reader elsewhere.
Reading a network checks its size, then its sha256 against the record, then its spec against
the record's, then rebuilds it through the canonical constructor that checks every weight
(`models.canonical.build_network`), as the harness does for a method's output.  safetensors
holds plain tensors only (no pickle), so loading runs no code from the file.  The bytes are
deterministic (one metadata entry, tensors by name), so the same run gives the same sha256
(tested across processes).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from snnbench.errors import MethodOutputError, ResultFileError
from snnbench.models.canonical import build_network
from snnbench.tasks.base import TaskInfo

FORMAT = "snnbench-network-1"
MAX_BYTES = 1 << 30  # 1 GiB: the largest paper network (503k parameters, float64) is 4 MB


def network_bytes(model: torch.nn.Module) -> bytes:
    """The network as safetensors: its state dict, and its spec as JSON in the metadata."""
    from safetensors.torch import save

    tensors = {k: v.detach().contiguous() for k, v in sorted(model.state_dict().items())}
    # one metadata key: safetensors writes its metadata map in an order that varies between
    # processes, so two keys would give the same network different bytes (and sha256)
    return save(tensors, metadata={"snnbench": _metadata(model.spec.to_dict())})


def _metadata(spec: dict) -> str:
    return json.dumps({"format": FORMAT, "spec": spec}, sort_keys=True)


def network_entry(blob: bytes) -> dict:
    """What the result record says of its network file."""
    return {"sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob)}


def load_network(path: Path, entry: dict, spec: dict, task: TaskInfo) -> torch.nn.Module:
    """The canonical network saved at path, checked against the record's entry and spec."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        size = path.stat().st_size
        if size > MAX_BYTES or size != entry["bytes"]:
            raise ResultFileError(
                f"{path}: {size} bytes; the record says {entry['bytes']} (limit {MAX_BYTES})"
            )
        blob = path.read_bytes()
    except FileNotFoundError:
        raise ResultFileError(f"{path}: no saved network there") from None
    except OSError as exc:
        raise ResultFileError(f"{path}: cannot read: {exc.strerror}") from None
    if hashlib.sha256(blob).hexdigest() != entry["sha256"]:
        raise ResultFileError(f"{path}: sha256 differs from the record's: not the scored network")
    try:
        header_size = int.from_bytes(blob[:8], "little")
        metadata = json.loads(blob[8 : 8 + header_size]).get("__metadata__") or {}
        weights = load(blob)
    except (SafetensorError, ValueError, AttributeError, RecursionError) as exc:
        raise ResultFileError(f"{path}: not a safetensors network: {exc}") from None
    if metadata.get("snnbench") != _metadata(spec):
        raise ResultFileError(f"{path}: its format or spec differs from the record's")
    try:
        return build_network(spec, weights, task)
    except MethodOutputError as exc:
        raise ResultFileError(f"{path}: {exc}") from None
