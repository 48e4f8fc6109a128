"""Surrogate-gradient baselines built with the two main SNN libraries (snntorch, spikingjelly).

Shipped inside the installed package as `snnbench.baselines` (see pyproject.toml).
"""
