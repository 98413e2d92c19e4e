"""Fixtures for the e2e tests: a real Docker daemon, kubeling's offline images, and a DockerRuntime on a private
test network. Every test gets its own node names, so it only ever sees (and cleans up) its own containers.

Docker unreachable: the e2e tests are skipped on a developer machine, but fail under CI (env CI=true), where
.ci/run / `make deps` must have started dockerd.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import uuid
from collections.abc import AsyncIterator, Iterator

import docker
import docker.errors
import pytest

from kubelet.runtime.docker import API_VERSION, DockerRuntime
from kubelet.runtime.docker_network import network_lock_path
from kubelet.runtime.interface import LABEL_MANAGED, LABEL_NODE

E2E_NODE_PREFIX = "e2e-"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = docker.DockerClient.from_env(version=API_VERSION)
        client.ping()
    except Exception as err:  # no socket, permission denied, daemon down...
        message = f"Docker is unreachable ({err}); start dockerd (make deps) to run the e2e tests"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    yield client
    client.close()


@pytest.fixture(scope="session")
def kubeling_images(docker_client: docker.DockerClient) -> list[str]:
    """Builds kubeling's images once per session (a no-op when they are up to date); returns the references."""
    from kubeling.images import build_images, load_definitions

    build_images(docker_client)
    return [d.ref for d in load_definitions()]


def _remove_node_containers(client: docker.DockerClient, node: str) -> None:
    for c in client.containers.list(all=True, filters={"label": [f"{LABEL_MANAGED}=true", f"{LABEL_NODE}={node}"]}):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            c.remove(force=True, v=True)


@pytest.fixture(scope="session")
def e2e_network(docker_client: docker.DockerClient, kubeling_images: list[str]) -> Iterator[tuple[str, str]]:
    """A private bridge network ``kubeling-test-<random>`` on a free random /24 (fixed pod IPs need a subnet);
    returns (name, subnet). Removed, with anything still attached, at the end of the session."""
    name = f"kubeling-test-{uuid.uuid4().hex[:8]}"
    subnet = ""
    for _ in range(20):
        subnet = f"10.{random.randint(150, 250)}.{random.randint(0, 255)}.0/24"
        runtime = DockerRuntime(network=name, subnet=subnet)
        try:
            asyncio.run(runtime.ensure_network())
            break
        except Exception as err:
            last = err
            if "overlap" not in str(err):
                raise
        finally:
            asyncio.run(runtime.close())
    else:
        raise RuntimeError(f"cannot create a test network: {last}")
    yield name, subnet
    for network in docker_client.networks.list(names=[name]):
        network.reload()
        for container in network.containers:
            with contextlib.suppress(docker.errors.APIError):
                container.remove(force=True, v=True)
        with contextlib.suppress(docker.errors.APIError):
            network.remove()
    with contextlib.suppress(OSError):
        os.unlink(network_lock_path(name))


class NodeNames:
    """Makes node names unique to one test (``e2e-<random>``) and remembers them for the cleanup."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self) -> str:
        self.names.append(f"{E2E_NODE_PREFIX}{uuid.uuid4().hex[:10]}")
        return self.names[-1]


@pytest.fixture
def make_node_name() -> NodeNames:
    return NodeNames()


@pytest.fixture
def node_name(make_node_name: NodeNames) -> str:
    return make_node_name()


@pytest.fixture
async def docker_runtime(
    docker_client: docker.DockerClient, e2e_network: tuple[str, str], make_node_name: NodeNames
) -> AsyncIterator[DockerRuntime]:
    """A DockerRuntime on the test network; at teardown every container of this test's nodes is removed."""
    name, subnet = e2e_network
    runtime = DockerRuntime(network=name, subnet=subnet)
    await runtime.ensure_network()
    yield runtime
    await runtime.close()
    for node in make_node_name.names:
        _remove_node_containers(docker_client, node)
