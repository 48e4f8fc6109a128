"""snnbench: standard tasks, one harness and a leaderboard for training methods of SNNs.

The public entry points are the CLI (`snnbench --help`) and these modules:
`snnbench.tasks` (the versioned task registry), `snnbench.models.lif` (the canonical LIF
network every method is scored as), `snnbench.methods` (the method API and registry) and
`snnbench.harness` (the only place where metrics are computed).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("snnbench")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
