# kubeling — everything a user or CI runs goes through these targets.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install test lint unit integration chaos proto proto-check bench clean deps

deps:  ## Debian packages the project needs (etcd server); root or sudo
	@command -v etcd >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server; }

install: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $(STAMP)

proto: $(STAMP)  ## regenerate proto/*_pb2*.py from proto/*.proto
	$(PY) -m grpc_tools.protoc -I . --python_out=. --pyi_out=. --grpc_python_out=. proto/kubeling.proto

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

test: deps $(STAMP) lint  ## the whole suite: lint, unit, integration (real etcd), chaos
	$(VENV)/bin/pytest -q

unit: $(STAMP)
	$(VENV)/bin/pytest -q tests/unit

bench: $(STAMP)
	$(PY) -m bench.apiserver

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
