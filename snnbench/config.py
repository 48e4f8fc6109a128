"""Method configs from TOML files: defaults, presets (quick, paper), per-family overrides, grids.

A config file looks like

    extends = "snnbench.methods:configs/sg.toml"   # optional: start from another file
    [defaults]            # every preset, every task
    [presets.paper]       # one preset
    [presets.paper.grid]  # hyperparameters searched on val: name = [values]
    [presets.paper.family.add]        # overrides for one task family
    [presets.paper.family.add.grid]

The resolved config is what goes into the result file, so a reader sees every value used.
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass
from importlib.resources import files

from snnbench.errors import UnknownNameError

PRESETS = ("quick", "paper")


@dataclass(frozen=True)
class ResolvedConfig:
    """The fixed settings and the grid for one (method, preset, task family)."""

    settings: dict
    grid: dict[str, list]

    def candidates(self) -> list[dict]:
        """Every grid point, merged over the settings, in a fixed order (the tie-break)."""
        keys = sorted(self.grid)
        return [
            {**self.settings, **dict(zip(keys, values))}
            for values in itertools.product(*(self.grid[k] for k in keys))
        ]


def read_config(resource: str) -> dict:
    """Read "package:relative/path.toml", following `extends` (child wins, tables merge)."""
    package, _, path = resource.partition(":")
    raw = tomllib.loads(files(package).joinpath(path).read_text())
    parent = raw.pop("extends", None)
    return deep_merge(read_config(parent), raw) if parent else raw


def deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def resolve(raw: dict, preset: str, family: str) -> ResolvedConfig:
    presets = raw.get("presets", {})
    if preset not in presets:
        raise UnknownNameError("preset", preset, list(presets) or list(PRESETS))
    layer = presets[preset]
    fam = layer.get("family", {}).get(family, {})
    scalar = lambda d: {k: v for k, v in d.items() if k not in ("grid", "family")}  # noqa: E731
    settings = {**raw.get("defaults", {}), **scalar(layer), **scalar(fam)}
    grid = {**layer.get("grid", {}), **fam.get("grid", {})}
    for key in grid:
        settings.pop(key, None)
    return ResolvedConfig(settings, grid)
