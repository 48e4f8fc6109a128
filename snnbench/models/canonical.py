"""The harness's own networks, rebuilt from plain data: what is scored is never a method's object.

A method hands back a spec (a plain dict) and its weights (plain tensors by parameter name);
`build_network` checks them against the canonical classes and builds a fresh `LIFNetwork`
(or `GRUNetwork` for the ANN reference line).  A subclass, an overridden `run`, a tensor
subclass or a stray attribute of the method's objects never reaches the scoring code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import torch

from snnbench.errors import MethodOutputError
from snnbench.models.gru import GRUNetwork, GRUSpec
from snnbench.models.lif import LIFNetwork, LIFSpec
from snnbench.tasks.base import TaskInfo
from snnbench.tasks.protocol import Model

KINDS: dict[str, tuple[type, type]] = {"lif": (LIFSpec, LIFNetwork), "gru": (GRUSpec, GRUNetwork)}
DTYPES = (torch.float32, torch.float64)
# A spec field's annotation -> the plain types its value may have (bool is not an int here).
FIELD_TYPES = {"int": (int,), "float": (int, float), "bool": (bool,), "Features": (str,)}


def spec_kind(spec: Mapping) -> str:
    """'lif' or 'gru'; LIF specs written before kinds were recorded have none."""
    return spec.get("kind", "lif")


def parse_spec(spec: object) -> LIFSpec | GRUSpec:
    """A canonical spec from a plain dict, refusing unknown keys, wrong types and bad values."""
    if type(spec) is not dict:
        raise MethodOutputError(f"the network spec must be a plain dict, not {type(spec).__name__}")
    kind = spec_kind(spec)
    if kind not in KINDS:
        raise MethodOutputError(f"unknown network kind {kind!r}; expected one of {sorted(KINDS)}")
    spec_class = KINDS[kind][0]
    fields = {f.name: f for f in dataclasses.fields(spec_class)}
    values = {k: v for k, v in spec.items() if k != "kind"}
    unknown = set(values) - set(fields)
    if unknown:
        raise MethodOutputError(f"{kind} spec has unknown fields {sorted(unknown)}")
    for key, value in values.items():
        allowed = FIELD_TYPES[str(fields[key].type)]
        if type(value) not in allowed or (type(value) is int and bool not in allowed and value < 0):
            raise MethodOutputError(
                f"{kind} spec field {key}={value!r} must be of type {fields[key].type}"
            )
    try:
        return spec_class(**values)
    except (TypeError, ValueError) as exc:
        raise MethodOutputError(f"invalid {kind} spec: {exc}") from None


def check_fits_task(spec: LIFSpec | GRUSpec, task: TaskInfo) -> None:
    if (spec.n_in, spec.n_out) != (task.n_in, task.n_out):
        raise MethodOutputError(
            f"the network has n_in={spec.n_in}, n_out={spec.n_out}; task {task.id} needs "
            f"n_in={task.n_in}, n_out={task.n_out} (heads {task.heads})"
        )
    if spec.every_step != (task.kind == "token"):
        raise MethodOutputError(f"every_step must be {task.kind == 'token'} on {task.id}")


def build_network(spec: object, weights: object, task: TaskInfo) -> Model:
    """A fresh canonical network with exactly these weights, checked against the task.

    Shapes are checked against a network built on the meta device first, so a spec that
    asks for a huge network costs nothing before its weights are seen to match it.
    """
    parsed = parse_spec(spec)
    check_fits_task(parsed, task)
    network_class = KINDS[spec_kind(spec)][1]  # type: ignore[arg-type]
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in network_class(parsed).state_dict().items()}
    if type(weights) is not dict:
        raise MethodOutputError(
            f"the weights must be a plain dict of tensors, not {type(weights).__name__}"
        )
    if set(weights) != set(expected):
        missing, extra = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
        raise MethodOutputError(
            f"weights do not match the spec: missing {missing}, unexpected {extra}"
        )
    dtypes = set()
    for name, value in weights.items():
        if type(value) is not torch.Tensor:
            raise MethodOutputError(
                f"weight {name!r} is a {type(value).__name__}, not a plain torch.Tensor"
            )
        if tuple(value.shape) != expected[name]:
            raise MethodOutputError(
                f"weight {name!r} has shape {tuple(value.shape)}, the spec needs {expected[name]}"
            )
        if value.dtype not in DTYPES or value.layout != torch.strided or value.device.type != "cpu":
            raise MethodOutputError(
                f"weight {name!r} must be a dense CPU float32 or float64 tensor"
            )
        if not torch.isfinite(value).all():
            raise MethodOutputError(f"weight {name!r} has non-finite entries")
        dtypes.add(value.dtype)
    if len(dtypes) > 1:
        raise MethodOutputError(f"all weights must share one dtype, got {sorted(map(str, dtypes))}")
    network = network_class(parsed).to(dtypes.pop())
    with torch.no_grad():
        for name, tensor in network.state_dict(keep_vars=True).items():
            tensor.copy_(weights[name])
    return network.eval()
