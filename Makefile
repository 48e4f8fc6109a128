# Two commands for a fresh machine: `make demo` (install + the main job), `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test bench clean

# torch first, pinned, so that nothing later can pull a CUDA build; spikingjelly (and neurobench) with
# --no-deps because its metadata asks for torchvision/torchaudio (see pyproject.toml).
$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip "setuptools>=69" wheel
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/pip install --quiet --no-deps spikingjelly==2.0.0 neurobench==2.3.0
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/snnbench evaluate --method recon --task first-last-xor-t8

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/lif_forward.py
	$(BIN)/python benchmarks/row_additions.py
	$(BIN)/python benchmarks/solver.py
	$(BIN)/python benchmarks/network_rebuild.py
	$(BIN)/python benchmarks/sg_train.py
	$(BIN)/python benchmarks/grid.py

clean:
	rm -rf $(VENV) build *.egg-info
