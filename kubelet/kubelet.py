"""The kubelet: one node's agent. This file only wires the parts together; each part has its own module.

    apiserver ──watch pods (spec.nodeName=<node>)──▶ informer ──▶ pod_workers ──▶ pod_sync ──▶ runtime
                                                                     ▲   ▲
                       runtime ──relist every second──▶ pleg ────────┘   │
                       probes (prober_manager) ─── result changed ───────┘
    node_lease: Node registration, Lease heartbeat, node status      api: logs / exec / stats for the apiserver

Start-up order matters for restart safety: the informer must have synced, and the runtime been listed once, before
housekeeping may call a runtime pod an orphan. So a restarted kubelet re-adopts running containers (its pod workers
find them by their labels and leave them alone) instead of killing them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from client.client import Client
from client.events import EventRecorder
from client.informer import Handler, Informer
from kubelet.api import KubeletAPI, StatsTarget
from kubelet.dns_config import PodDNSConfigurer
from kubelet.images import ImageManager
from kubelet.kubelet_deps import KubeletDeps
from kubelet.node_lease import NodeAgent
from kubelet.node_status import NodeConfig, NodeObservation
from kubelet.object_cache import ObjectCache
from kubelet.pleg import PLEG
from kubelet.pod_ipam import PodIPAM
from kubelet.pod_sync import PodSyncer
from kubelet.pod_workers import PodWorkers
from kubelet.prober_manager import ProberManager
from kubelet.probes import ProbeRunner
from kubelet.runtime.interface import STATE_RUNNING, Runtime, RuntimeContainer, RuntimePod
from kubelet.static_pods import MirrorPods, StaticPodSource, is_mirror_pod
from kubelet.status_manager import StatusManager
from kubelet.volume_manager import VolumeManager

log = logging.getLogger(__name__)
Object = dict[str, Any]
ORPHAN_GRACE_SECONDS = 2


@dataclass
class KubeletConfig:
    node: NodeConfig
    root_dir: Path
    api_host: str = "127.0.0.1"  # where the kubelet API listens (the node's address)
    api_port: int = 0  # 0: a free port, published in the Node's daemonEndpoints
    sync_frequency: float = 60.0  # --sync-frequency: every pod is re-synced at least this often
    pleg_period: float = 1.0
    housekeeping_period: float = 2.0
    manifest_dir: Path | None = None  # static pods
    static_check_period: float = 20.0
    object_ttl: float = 5.0  # ConfigMap/Secret cache TTL
    lease_duration: int = 40
    lease_renew_interval: float = 10.0
    node_status_update_frequency: float = 10.0
    image_pull_backoff: float = 10.0
    cluster_dns: tuple[str, ...] = ()  # --cluster-dns: the nameserver(s) of ClusterFirst pods (kube-dns ClusterIP)
    cluster_domain: str = "cluster.local"  # --cluster-domain
    extra: Mapping[str, Any] = field(default_factory=dict)


class Kubelet:
    def __init__(self, client: Client, config: KubeletConfig, runtime: Runtime, probe_runner: ProbeRunner,
                 observe: Callable[[], Awaitable[NodeObservation]]) -> None:
        self.client = client
        self.config = config
        self.runtime = runtime
        self.node_name = config.node.node_name
        self.recorder = EventRecorder(client, "kubelet", self.node_name)
        self.status = StatusManager(client, self._mirror_of)
        self.prober = ProberManager(probe_runner, self._wake, self.recorder.event)
        deps = KubeletDeps(
            node_name=self.node_name, host_ip=config.node.address or "127.0.0.1", runtime=runtime,
            objects=ObjectCache(client, ttl=config.object_ttl), volumes=VolumeManager(config.root_dir),
            images=ImageManager(runtime, backoff_initial=config.image_pull_backoff), prober=self.prober,
            status=self.status, record=self.recorder.event,
            dns=PodDNSConfigurer.from_host(config.cluster_dns, config.cluster_domain))
        self.deps = deps
        self.pod_ips = PodIPAM(self.node_name, runtime, self._get_node)
        self.workers = PodWorkers(PodSyncer(deps, self.pod_ips), self.status)
        self.pleg = PLEG(runtime, self.node_name, self._wake, period=config.pleg_period)
        self.pods = Informer(client, "pods", field_selector=f"spec.nodeName={self.node_name}")
        self.pods.add_handler(Handler(on_add=self._on_pod, on_update=self._on_pod_update,
                                      on_delete=self._on_pod_deleted))
        self.static_pods = StaticPodSource(
            config.manifest_dir or Path("/nonexistent"), self.node_name, on_update=self.workers.update_pod,
            on_remove=self.workers.remove_pod, check_period=config.static_check_period)
        self.mirror_pods = MirrorPods(client, self.node_name)
        self.api = KubeletAPI(runtime, self._resolve_container, self._stats_targets, self._resolve_sandbox)
        self._observe = observe
        self.node_agent: NodeAgent | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    # -- events from the apiserver, the runtime and the prober --------------------------------------------------

    def _on_pod(self, pod: Object) -> None:
        if not is_mirror_pod(pod):
            self.workers.update_pod(pod)

    def _on_pod_update(self, old: Object, new: Object) -> None:
        """Only what the kubelet must act on wakes the worker; a status-only change (usually the kubelet's own
        write) just refreshes the worker's copy, as Kubernetes' pod config turns it into a mere reconcile."""
        if is_mirror_pod(new):
            return
        self.workers.update_pod(new, wake=not only_status_changed(old, new))

    def _on_pod_deleted(self, pod: Object) -> None:
        if not is_mirror_pod(pod):
            self.workers.remove_pod(pod)

    def _mirror_of(self, static_pod: Object) -> Object | None:
        meta = static_pod["metadata"]
        mirror = self.pods.store.get_by_name(meta["namespace"], meta["name"])
        return mirror if mirror is not None and is_mirror_pod(mirror) else None

    async def _get_node(self) -> Object | None:
        return await self.client.get("nodes", self.node_name)

    def _wake(self, uid: str) -> None:
        self.workers.wake(uid)

    # -- lifecycle -----------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Serve the kubelet API, register the node, then start syncing pods. Returns once everything runs."""
        subnet = getattr(self.runtime, "network_subnet", None)
        if subnet is not None:
            self.pod_ips.network = await subnet()
        port = await self.api.start(self.config.api_host, self.config.api_port)
        node_config = self.config.node
        self.node_agent = NodeAgent(
            self.client, _with_port(node_config, port), self._observe_runtime,
            lease_duration=self.config.lease_duration, renew_interval=self.config.lease_renew_interval,
            status_update_frequency=self.config.node_status_update_frequency, recorder=self.recorder)
        self.recorder.start()
        await self.node_agent.register()
        self._spawn(self.node_agent.run(), "node-agent")
        self._spawn(self.pods.run(), "pod-informer")
        if self.config.manifest_dir is not None:
            self._spawn(self.static_pods.run(), "static-pods")
        self._spawn(self.pleg.run(), "pleg")
        self._spawn(self._housekeeping(), "housekeeping")
        self._spawn(self._resync(), "resync")

    def _spawn(self, coro: Awaitable[Any], name: str) -> None:
        self._tasks.append(asyncio.ensure_future(coro))
        self._tasks[-1].set_name(f"{self.node_name}:{name}")

    async def stop(self) -> None:
        """Stop the agent; containers keep running (a kubelet restart must not disturb pods)."""
        if self.node_agent is not None:
            await self.node_agent.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.workers.stop()
        await self.prober.stop()
        await self.api.stop()
        await self.recorder.stop()

    async def _observe_runtime(self) -> NodeObservation:
        from dataclasses import replace

        obs = await self._observe()
        ok = await self.runtime.ping()
        version = await self.runtime.version() if ok else obs.runtime_version
        return replace(obs, runtime_ok=ok, runtime_version=version)

    # -- housekeeping ---------------------------------------------------------------------------------------------

    async def _housekeeping(self) -> None:
        """Clean up runtime pods whose API object is gone (found after a restart, or missed deletions)."""
        await self.pods.wait_for_sync()
        await self.pleg.relisted.wait()
        if self.config.manifest_dir is not None:
            await self.static_pods.loaded.wait()
        while True:
            known = {pod["metadata"]["uid"] for pod in self.pods.store} | set(self.static_pods.pods)
            if self.config.manifest_dir is not None and self.static_pods.loaded.is_set():
                mirrors = [pod for pod in self.pods.store if is_mirror_pod(pod)]
                await self.mirror_pods.sync(self.static_pods.pods, mirrors)
            for uid, runtime_pod in list(self.pleg.pods.items()):
                if uid not in known and uid not in self.workers:
                    log.info("pod %s/%s (%s) has no API object: cleaning it up", runtime_pod.namespace,
                             runtime_pod.name, uid)
                    self.workers.remove_pod(_orphan_pod(runtime_pod))
            await self._remove_orphan_volumes(known)
            await asyncio.sleep(self.config.housekeeping_period)

    async def _remove_orphan_volumes(self, known: set[str]) -> None:
        for uid in self.deps.volumes.pod_dirs() - known - set(self.workers.uids()) - set(self.pleg.pods):
            with contextlib.suppress(OSError):
                await self.deps.volumes.teardown_pod_volumes(uid)

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(self.config.sync_frequency)
            self.workers.wake_all()

    # -- the kubelet API's questions ------------------------------------------------------------------------------

    async def _resolve_container(self, namespace: str, name: str, container: str, previous: bool) -> str:
        pod = self.static_pods.by_name(namespace, name) or self.pods.store.get_by_name(namespace, name)
        if pod is None:
            raise LookupError(f'pod "{name}" not found on node {self.node_name}')
        uid = pod["metadata"]["uid"]
        # Ask the runtime, not the PLEG's last relist: a container started a moment ago must be found.
        runtime_pods = await self.runtime.list_pods(self.node_name, pod_uid=uid)
        attempts = runtime_pods[0].attempts(container) if runtime_pods else ()
        status = self.status.last_sent(uid) or pod.get("status") or {}
        return log_container_id(name, container, attempts, status, previous)

    async def _resolve_sandbox(self, namespace: str, name: str, uid: str) -> str:
        """The running sandbox of a pod, for port-forward (the kubelet's GetPortForward: an unknown pod, or one whose
        uid differs from the caller's, is "not found"; a static pod's mirror has a uid of its own)."""
        static = self.static_pods.by_name(namespace, name)
        pod = static or self.pods.store.get_by_name(namespace, name)
        if pod is None or (uid and static is None and pod["metadata"].get("uid") != uid):
            raise LookupError(f'pod "{name}" not found on node {self.node_name}')
        runtime_pods = await self.runtime.list_pods(self.node_name, pod_uid=pod["metadata"]["uid"])
        sandboxes = [s for p in runtime_pods for s in p.sandboxes if s.ready]
        if not sandboxes:
            raise LookupError(f'pod "{name}" has no running sandbox on node {self.node_name}')
        return sandboxes[0].id

    async def _stats_targets(self) -> list[StatsTarget]:
        return [StatsTarget(namespace=p.namespace, pod=p.name, pod_uid=p.uid, container=c.name, container_id=c.id)
                for p in self.pleg.pods.values() for c in p.containers if c.state == STATE_RUNNING]


def log_container_id(pod_name: str, container: str, attempts: Sequence[RuntimeContainer], status: Mapping[str, Any],
                     previous: bool) -> str:
    """Which attempt of ``container`` ``kubectl logs [--previous]`` reads (``attempts`` newest first), as the kubelet's
    ``validateContainerLogStatus``: ``--previous`` is the container of the status's ``lastState.terminated`` — while a
    crash-looping container waits in back-off that is its newest attempt, not the one before it."""
    if previous:
        statuses = [*status.get("initContainerStatuses", ()), *status.get("containerStatuses", ())]
        mine: Mapping[str, Any] = next((s for s in statuses if s.get("name") == container), {})
        last = (mine.get("lastState") or {}).get("terminated") or {}
        last_id = str(last.get("containerID") or "").partition("://")[2]
        for attempt in attempts:
            if attempt.id == last_id:
                return attempt.id
        dead = attempts[1:]  # no status written yet: the attempt before the newest
        if not dead:
            raise LookupError(f'previous terminated container "{container}" in pod "{pod_name}" not found')
        return dead[0].id
    if not attempts:
        raise LookupError(f'container "{container}" in pod "{pod_name}" is waiting to start: ContainerCreating')
    return attempts[0].id


def only_status_changed(old: Object, new: Object) -> bool:
    """True when nothing but status and bookkeeping metadata differs between two versions of a pod."""
    ignored_meta = ("resourceVersion", "managedFields", "generation")

    def relevant(pod: Object) -> tuple[Any, Any]:
        meta = {k: v for k, v in pod.get("metadata", {}).items() if k not in ignored_meta}
        return meta, pod.get("spec")

    return relevant(old) == relevant(new)


def _with_port(config: NodeConfig, port: int) -> NodeConfig:
    from dataclasses import replace

    return replace(config, kubelet_port=port)


def _orphan_pod(runtime_pod: RuntimePod) -> Object:
    return {"metadata": {"uid": runtime_pod.uid, "name": runtime_pod.name, "namespace": runtime_pod.namespace},
            "spec": {"terminationGracePeriodSeconds": ORPHAN_GRACE_SECONDS}}
