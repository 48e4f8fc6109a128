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
import re
from dataclasses import dataclass
from importlib.resources import files

import tomllib

from snnbench.errors import UnknownNameError, UsageError

PRESETS = ("quick", "paper")


@dataclass(frozen=True)
class ResolvedConfig:
    """The fixed settings and the grid for one (method, preset, task family)."""

    settings: dict
    grid: dict[str, list]

    def with_overrides(self, overrides: dict) -> ResolvedConfig:
        """Settings replaced by `--set key=value`: a fixed setting takes the value; a grid key
        becomes a grid of that value (or of that list).  Only keys the config has are allowed."""
        settings, grid = dict(self.settings), dict(self.grid)
        for key, value in overrides.items():
            if key in grid:
                values = value if isinstance(value, list) and value else [value]
                for v in values:
                    check_type(key, v, grid[key][0])
                grid[key] = values
            elif key in settings:
                check_type(key, value, settings[key])
                settings[key] = value
            else:
                known = ", ".join(sorted([*settings, *grid]))
                raise UsageError(f"no setting {key!r} to set; this config has: {known}")
        return ResolvedConfig(settings, grid)

    def candidates(self) -> list[dict]:
        """Every grid point, merged over the settings, in a fixed order (the tie-break)."""
        keys = sorted(self.grid)
        return [
            {**self.settings, **dict(zip(keys, values, strict=False))}
            for values in itertools.product(*(self.grid[k] for k in keys))
        ]


def check_type(key: str, value: object, like: object) -> None:
    """A set value must have the type of the value it replaces (an int may replace a float)."""
    numbers = (int, float)
    same = type(value) is type(like) or (type(like) is float and type(value) is int)
    if not same or (isinstance(like, numbers) and isinstance(value, bool)):
        raise UsageError(f"--set {key}={value!r}: expected a {type(like).__name__} like {like!r}")


KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$")  # TOML bare keys, dotted


def parse_setting(text: str, option: str = "--set") -> tuple[str, object]:
    """`key=value`, the value in TOML syntax (1e-3, true, [1, 2], "text"); a bare word is a
    string.  Keys are TOML bare keys, dotted for a table (sbatch.qos=high)."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not KEY.match(key):
        raise UsageError(
            f"{option} {text!r}: expected key=value, e.g. --set solver=cvxpy or --set lr=1e-3"
        )
    try:
        return key, tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        return key, value.strip()


def read_config(resource: str) -> dict:
    """Read "package:relative/path.toml", following `extends` (child wins, tables merge)."""
    package, _, path = resource.partition(":")
    raw = tomllib.loads(files(package).joinpath(path).read_text())
    parent = raw.pop("extends", None)
    return deep_merge(read_config(parent), raw) if parent else raw


def deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = (
            deep_merge(out[key], value)
            if isinstance(value, dict) and isinstance(out.get(key), dict)
            else value
        )
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
