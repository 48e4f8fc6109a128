"""The method registry: every method, built in or external, is an entry point.

`pyproject.toml` registers the built-in methods under the `snnbench.methods` group; an
external package registers its own the same way, and `snnbench methods` lists it.
"""

from __future__ import annotations

import re
from importlib.metadata import EntryPoint, entry_points

from snnbench.errors import SnnbenchError, UnknownNameError
from snnbench.methods.base import FitData, Method

__all__ = ["FitData", "Method", "available_methods", "get_method"]

GROUP = "snnbench.methods"
# Method names become folders of result files (DIR/<method>/<task>.json) and CLI arguments.
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def available_methods() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name)}


def get_method(name: str) -> Method:
    methods = available_methods()
    if name not in methods:
        raise UnknownNameError("method", name, list(methods))
    if not NAME.match(name):
        raise SnnbenchError(f"method name {name!r} (entry point {methods[name].value}) must match {NAME.pattern}")
    try:
        cls = methods[name].load()
    except ImportError as exc:
        raise SnnbenchError(f"method {name!r} cannot be loaded: {exc}") from exc
    return cls()
