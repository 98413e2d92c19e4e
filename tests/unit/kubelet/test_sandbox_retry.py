"""A pod whose sandbox cannot be created is synced again soon (Kubernetes' pod workers retry a failed sync after
their back-off period), not only at the next periodic resync: the retry is what lets a pod recover, e.g. with another
address when the first one was taken by a container of another cluster."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from kubelet.dns_config import PodDNSConfigurer
from kubelet.pod_actions import PodActions
from kubelet.pod_ipam import PodIPAM
from kubelet.pod_sync import REQUEUE_SANDBOX_FAILED, PodSyncer, PodSyncState
from kubelet.runtime.fake import FakeRuntime
from kubelet.runtime.interface import ContainerCreateError, RuntimeSandbox, SandboxConfig

POD: dict[str, Any] = {"metadata": {"uid": "u1", "name": "p", "namespace": "default"},
                       "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


class TakenAddressRuntime(FakeRuntime):
    """Docker refusing a fixed address another network member holds."""

    def __init__(self, taken: str) -> None:
        super().__init__()
        self.taken = taken
        self.asked: list[str | None] = []

    async def run_sandbox(self, config: SandboxConfig) -> RuntimeSandbox:
        self.asked.append(config.ip)
        if config.ip == self.taken:
            raise ContainerCreateError("failed to start pod sandbox: Address already in use")
        return await super().run_sandbox(config)


def syncer(runtime: FakeRuntime, events: list[str]) -> PodSyncer:
    async def get_node() -> dict[str, Any]:
        return {"spec": {"podCIDR": "10.244.9.0/24"}}

    deps: Any = SimpleNamespace(runtime=runtime, node_name="n1", dns=PodDNSConfigurer(),
                                record=lambda pod, type_, reason, message, **_: events.append(reason))
    return PodSyncer(deps, PodIPAM("n1", runtime, get_node))


async def test_a_failed_sandbox_is_retried_soon_and_with_another_address() -> None:
    runtime = TakenAddressRuntime(taken="10.244.9.2")
    events: list[str] = []
    pods = syncer(runtime, events)
    state = PodSyncState()
    actions = PodActions(create_sandbox=True)

    await pods._apply(POD, state, None, actions, {}, {}, set())
    assert "FailedCreatePodSandBox" in events
    assert state.sandbox_failed
    assert PodSyncer._requeue_after(state, actions) == REQUEUE_SANDBOX_FAILED

    await pods._apply(POD, state, None, PodActions(create_sandbox=True), {}, {}, set())
    assert runtime.asked == ["10.244.9.2", "10.244.9.3"]
    assert not state.sandbox_failed
    assert PodSyncer._requeue_after(state, PodActions()) is None
