# The two commands of the README: `make demo` and `make test`. Everything else
# (virtual environment, FMU build, generated stubs) is a prerequisite of those.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

FMU_NAMES := grid furnace vehicle node
FMU_SRC   := fmus/build.py $(wildcard fmus/common/*) $(foreach n,$(FMU_NAMES),$(wildcard fmus/$(n)/*.c fmus/$(n)/*.h fmus/$(n)/*.json))
FMU_OUT   := $(foreach v,fmi2 fmi3,$(foreach n,$(FMU_NAMES),fmus/dist/$(v)/$(n).fmu))

.PHONY: demo standalone test fmus proto native venv bench typecheck clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

fmus: $(FMU_OUT)

# The FMU adapter's native stepping helper (optional at run time, always built here).
NATIVE_OUT := adapters/native/build/fmi_step.so
native: $(NATIVE_OUT)

$(NATIVE_OUT): adapters/native/fmi_step.c | $(STAMP)
	$(PY) -m adapters.native

PROTO_OUT := federation/protocol/_gen/rti_pb2.py
proto: $(PROTO_OUT)

$(PROTO_OUT): proto/federation/v1/rti.proto | $(STAMP)
	$(PY) -m federation.protocol

$(FMU_OUT) &: $(FMU_SRC) | $(STAMP)
	$(PY) fmus/build.py

# --force: a run refuses to overwrite an earlier run's folder without it, and `make demo` is meant to be
# run again (into results/grid_furnace_vehicle, which holds nothing but the previous demo's results).
demo: $(STAMP) fmus proto native
	$(VENV)/bin/federation run examples/grid_furnace_vehicle/scenario.yaml --force

standalone: $(STAMP) fmus
	$(PY) examples/standalone_twins.py --out results/standalone

test: $(STAMP) fmus proto native
	$(PY) -m pytest

bench: $(STAMP) fmus proto native
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) bench/ring.py
	$(PY) bench/scale.py
	$(PY) bench/grpc_ring.py
	$(PY) bench/grpc_floor.py

typecheck: $(STAMP)
	$(PY) -m mypy

clean:
	rm -rf fmus/build fmus/dist results federation/protocol/_gen adapters/native/build
