"""The real kubectl, command by command, against ONE real `kubeling up` cluster (2 nodes, Docker runtime) that every
test of this package shares: each test works in its own namespace, with its own names. The cluster lives in a
private ``KUBELING_HOME`` under a unique name and is always taken down (``kubeling down --purge``) when this package's
tests are done. Package scope, not session: the other e2e packages start clusters of their own, and two kubeling
clusters on one host share the Docker pod network while only the first gets the service proxy."""

from __future__ import annotations

import re
from collections.abc import Iterator

import docker
import pytest

from tests.e2e.kubectl.helpers import Kubectl
from tests.e2e.lab import Lab, lab_cluster


@pytest.fixture(scope="package")
def kubectl_lab(tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient,
                kubeling_images: list[str]) -> Iterator[Lab]:
    with lab_cluster(tmp_path_factory, ("--nodes", "2")) as lab:
        yield lab


def _namespace_for(lab: Lab, label: str) -> Kubectl:
    name = re.sub(r"[^a-z0-9-]+", "-", label.lower()).strip("-")[:50].strip("-")
    lab.kubectl("create", "namespace", name)
    return Kubectl(lab, name)


@pytest.fixture
def k(kubectl_lab: Lab, request: pytest.FixtureRequest) -> Kubectl:
    """kubectl in a new namespace named after the test."""
    return _namespace_for(kubectl_lab, request.node.name.removeprefix("test_")[:40])


@pytest.fixture(scope="module")
def module_k(kubectl_lab: Lab, request: pytest.FixtureRequest) -> Kubectl:
    """kubectl in a new namespace named after the test module, for tests that build on each other in file order."""
    return _namespace_for(kubectl_lab, request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_"))
