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
# The entry-point name is a method's identity: the folder of its result files
# (DIR/<method>/...) and its CLI argument.  No dots or separators, so it is never a path.
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# Folders of an output folder that are not methods': job logs (--jobs) and Slurm's files.
RESERVED = ("logs", "slurm")


def available_methods() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name)}


def claimants(name: str) -> list[str]:
    """Every distinct entry point registered under a method name (more than one is a clash:
    a plugin may not take over the name, and so the results folder, of another method)."""
    return sorted({ep.value for ep in entry_points(group=GROUP) if ep.name == name})


def get_method(name: str) -> Method:
    methods = available_methods()
    if name not in methods:
        raise UnknownNameError("method", name, list(methods))
    clash = claimants(name)
    if len(clash) > 1:
        raise SnnbenchError(
            f"method name {name!r} is registered by more than one entry point "
            f"({', '.join(clash)}); uninstall one: a plugin may not take over another "
            "method's name"
        )
    if not NAME.match(name) or name in RESERVED:
        raise SnnbenchError(
            f"method name {name!r} (entry point {methods[name].value}) must match {NAME.pattern}"
            f" and not be one of {', '.join(RESERVED)} (an output folder's own folders)"
        )
    try:
        cls = methods[name].load()
    except Exception as exc:  # a plugin's import may fail in any way; report it, do not crash
        raise SnnbenchError(
            f"method {name!r} cannot be loaded: {type(exc).__name__}: {exc}"
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise SnnbenchError(
            f"entry point {name!r} ({methods[name].value}) is not a snnbench Method class"
        )
    if getattr(cls, "name", None) != name:
        raise SnnbenchError(
            f"method class {methods[name].value} calls itself {getattr(cls, 'name', None)!r} "
            f"but is registered as {name!r}; the entry-point name is the method's identity: "
            "make them equal"
        )
    return cls()
