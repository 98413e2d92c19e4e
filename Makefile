# kubeling — everything a user or CI runs goes through these targets.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install test lint unit integration chaos proto proto-check bench bench-apiserver bench-kubelet clean deps images up down

deps:  ## Debian packages the project needs (etcd, docker, busybox-static) and a running dockerd; root or sudo
	@missing=""; \
	command -v etcd >/dev/null || missing="$$missing etcd-server"; \
	command -v dockerd >/dev/null || missing="$$missing docker.io"; \
	[ -x /bin/busybox ] || missing="$$missing busybox-static"; \
	[ -x /usr/sbin/debootstrap ] || missing="$$missing debootstrap"; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	command -v conntrack >/dev/null || missing="$$missing conntrack"; \
	if [ -n "$$missing" ]; then \
	  echo "== installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@docker info >/dev/null 2>&1 || { \
	  log=/var/log/dockerd.log; touch $$log 2>/dev/null || log=/tmp/dockerd.log; \
	  echo "== starting dockerd (log: $$log)"; \
	  nohup dockerd >>$$log 2>&1 & \
	  for i in $$(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done; \
	  docker info >/dev/null 2>&1 || { echo "dockerd did not come up in 30 s, see $$log"; tail -n 20 $$log; exit 1; }; }

up: deps images  ## a lab cluster on this machine (etcd, control plane, nodes as processes); ARGS="--nodes 3 --ha ..."
	@command -v kubectl >/dev/null || { echo "== installing: kubernetes-client (kubectl)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >/dev/null; }
	$(VENV)/bin/kubeling up $(ARGS)

down: $(STAMP)  ## stop the lab cluster and remove its containers; ARGS="--purge" also deletes its state
	$(VENV)/bin/kubeling down $(ARGS)

images: $(STAMP)  ## build kubeling's offline images (busybox based, no registry) into the local Docker
	$(PY) -m kubeling images build

install: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $(STAMP)

proto: $(STAMP)  ## regenerate proto/*_pb2*.py from proto/*.proto and proto/k8s/k8s/**/generated_pb2.py from proto/k8s/k8s.io/
	$(PY) -m grpc_tools.protoc -I . --python_out=. --pyi_out=. --grpc_python_out=. proto/kubeling.proto
	cd proto/k8s && ../../$(PY) -m grpc_tools.protoc -I . --python_out=. $$(find k8s.io -name generated.proto | LC_ALL=C sort)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

test: deps $(STAMP) lint  ## the whole suite: lint, unit, integration (real etcd), chaos
	$(VENV)/bin/pytest -q

unit: $(STAMP)
	$(VENV)/bin/pytest -q tests/unit

bench: bench-apiserver bench-kubelet  ## every benchmark; results in docs/benchmarks.md

bench-apiserver: $(STAMP)
	$(PY) -m bench.apiserver

bench-kubelet: deps $(STAMP) images
	$(PY) -m bench.kubelet

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
