"""The docker_node (a real kubelet on the private test network) and kubeconfig fixtures, shared from the kubelet
e2e tests."""

from tests.e2e.kubelet.conftest import docker_node, kubeconfig  # noqa: F401 (fixtures)
