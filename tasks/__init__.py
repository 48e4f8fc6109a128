"""Task cards (Markdown), shipped as package data of `snnbench.cards`; see `snnbench card`."""
