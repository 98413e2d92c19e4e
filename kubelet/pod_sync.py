"""Syncing one pod: the kubelet's ``SyncPod``. Read this file top to bottom to see a pod come to life.

A sync is level-triggered and idempotent. It never remembers what it did last time; it asks the runtime what
exists, lets the pure :func:`kubelet.pod_actions.compute_pod_actions` decide what to change, does that, and writes
the pod's status (computed by the pure :func:`kubelet.pod_status.compute_pod_status`) when it changed:

1. volumes are set up (and ConfigMap/Secret contents refreshed) under the pod's directory;
2. the runtime's containers of the pod are read (a restarted kubelet finds them by their labels);
3. ``compute_pod_actions`` decides: kill the pod? new sandbox? which containers to kill, which to start?
4. the actions run: a sandbox (pause container) first, then one init container at a time, then the app containers
   (image pulled per imagePullPolicy, env resolved, created, started, postStart hook run);
5. dead attempts beyond the latest one per container are removed (``kubectl logs --previous`` needs that one);
6. the prober learns which containers run; the status is computed and written.

The caller (:mod:`kubelet.pod_workers`) runs syncs of one pod one at a time and calls again on every pod update,
runtime change (PLEG), probe result change, and when the returned ``requeue_after`` expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubelet import lifecycle_hooks
from kubelet.container_config import compute_container_config, compute_sandbox_config, grace_period_seconds
from kubelet.container_env import ContainerConfigError, compute_container_env, referenced_objects
from kubelet.images import ImageError
from kubelet.kubelet_deps import KubeletDeps
from kubelet.pod_actions import (
    ContainerStatus,
    PodActions,
    RuntimePodStatus,
    compute_pod_actions,
)
from kubelet.pod_ipam import PodIPAM
from kubelet.pod_status import compute_pod_status
from kubelet.runtime.interface import (
    STATE_EXITED,
    STATE_RUNNING,
    ContainerCreateError,
    RuntimeContainer,
    RuntimeError_,
    RuntimePod,
    RuntimeSandbox,
)
from kubelet.volume_manager import VolumeError

log = logging.getLogger(__name__)
Object = dict[str, Any]

REQUEUE_WAITING = 1.0  # seconds: how soon to retry a container that could not start (image, config, mount errors)
# A sandbox that could not be created: a failed sync, which Kubernetes' pod workers retry after backOffPeriod (10 s).
REQUEUE_SANDBOX_FAILED = 10.0
PULL_BACKOFF_REASONS = ("ErrImagePull", "ImagePullBackOff")
BACKOFF_EXPIRY_MARGIN = 0.05  # seconds after a back-off ends before the pod is synced again


@dataclass
class PodSyncState:
    """What a pod's worker keeps between syncs: only the reasons containers could not start (for the status)."""

    waiting: dict[str, tuple[str, str]] = field(default_factory=dict)
    volume_paths: dict[str, Path] = field(default_factory=dict)
    sandbox_failed: bool = False  # the last sync could not create the pod's sandbox: retry it soon
    pull_retry_after: float | None = None  # the last sync met an image pull back-off ending in this many seconds


def runtime_pod_status(runtime_pod: RuntimePod | None) -> RuntimePodStatus:
    """The view compute_pod_actions needs: the newest sandbox and the newest attempt of each container."""
    if runtime_pod is None:
        return RuntimePodStatus()
    sandbox = runtime_pod.sandbox
    latest: dict[str, ContainerStatus] = {}
    for c in runtime_pod.containers:  # newest first: the first attempt seen per name is the latest
        if c.name not in latest:
            latest[c.name] = ContainerStatus(
                name=c.name, state=c.state, container_id=c.id, restart_count=c.restart_count,
                exit_code=c.exit_code, started_at=c.started_at, finished_at=c.finished_at,
                oom_killed=c.oom_killed, spec_hash=c.spec_hash)
    return RuntimePodStatus(
        sandbox_id=sandbox.id if sandbox else None,
        sandbox_ready=bool(sandbox and sandbox.ready),
        containers=tuple(latest.values()),
    )


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def field_path(pod: Object, name: str) -> str:
    inits = {c["name"] for c in (pod.get("spec") or {}).get("initContainers") or []}
    return f"spec.initContainers{{{name}}}" if name in inits else f"spec.containers{{{name}}}"


class PodSyncer:
    """Runs syncs and terminations of pods against the runtime; shared by every pod worker of a kubelet."""

    def __init__(self, deps: KubeletDeps, pod_ips: PodIPAM | None = None) -> None:
        self.deps = deps
        self.runtime = deps.runtime
        self.node_name = deps.node_name
        self.pod_ips = pod_ips  # addresses from the node's podCIDR; None: the runtime picks

    # -- reading the runtime -------------------------------------------------------------------------------------

    async def runtime_pod(self, uid: str) -> RuntimePod | None:
        for pod in await self.runtime.list_pods(self.node_name, pod_uid=uid):
            if pod.uid == uid:
                return pod
        return None

    # -- the sync ----------------------------------------------------------------------------------------------

    async def sync_pod(self, pod: Object, state: PodSyncState) -> float | None:
        """Make the runtime match a live (not deleted) pod; returns seconds until the next sync is due, if any."""
        uid = pod["metadata"]["uid"]
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            await self.kill_pod(pod, await self.runtime_pod(uid), reason="pod is terminal")
            return None
        runtime_pod = await self.runtime_pod(uid)
        sandbox = runtime_pod.sandbox if runtime_pod else None
        pod_ip = sandbox.ip if sandbox and sandbox.ready and sandbox.ip else ""
        config_maps, secrets = await self._config_objects(pod)
        if not await self._setup_volumes(pod, state, config_maps, secrets, pod_ip):
            await self._write_status(pod, runtime_pod, state, {})
            return REQUEUE_WAITING
        probe_failures = self._probe_failures(pod)
        state.pull_retry_after = None
        actions = compute_pod_actions(pod, runtime_pod_status(runtime_pod), time.time(), probe_failures)
        await self._apply(pod, state, runtime_pod, actions, config_maps, secrets, set(probe_failures))
        for name, (_reason, message) in actions.waiting.items():
            self.deps.record(pod, "Warning", "BackOff", f"Back-off restarting failed container {name} in pod "
                             f"{message.rsplit('pod=', 1)[-1]}", field_path=field_path(pod, name))
        runtime_pod = await self.runtime_pod(uid)
        await self._collect_garbage(runtime_pod)
        await self._write_status(pod, runtime_pod, state, actions.waiting)
        return self._requeue_after(state, actions)

    async def _config_objects(self, pod: Object) -> tuple[dict[str, Object | None], dict[str, Object | None]]:
        namespace = pod["metadata"].get("namespace", "default")
        cm_names, secret_names = referenced_objects(pod)
        objects = self.deps.objects
        return (await objects.get_many("configmaps", namespace, cm_names),
                await objects.get_many("secrets", namespace, secret_names))

    async def _setup_volumes(self, pod: Object, state: PodSyncState, config_maps: Mapping[str, Object | None],
                             secrets: Mapping[str, Object | None], pod_ip: str) -> bool:
        try:
            state.volume_paths = await self.deps.volumes.setup_pod_volumes(
                pod, config_maps=config_maps, secrets=secrets, pod_ip=pod_ip, host_ip=self.deps.host_ip,
                node_name=self.node_name)
        except VolumeError as e:
            self.deps.record(pod, "Warning", "FailedMount", str(e))
            return False
        return True

    def _probe_failures(self, pod: Object) -> dict[str, str]:
        uid = pod["metadata"]["uid"]
        failures = {}
        for container in (pod.get("spec") or {}).get("containers") or []:
            message = self.deps.prober.liveness_failed(uid, container["name"])
            if message:
                failures[container["name"]] = message
        return failures

    async def _apply(self, pod: Object, state: PodSyncState, runtime_pod: RuntimePod | None, actions: PodActions,
                     config_maps: Mapping[str, Object | None], secrets: Mapping[str, Object | None],
                     probe_killed: set[str]) -> None:
        if actions.kill_pod:
            await self.kill_pod(pod, runtime_pod, reason="")
        sandbox = runtime_pod.sandbox if runtime_pod else None
        state.sandbox_failed = False
        if actions.create_sandbox:
            sandbox = await self._create_sandbox(pod)
            state.sandbox_failed = sandbox is None
            if sandbox is None:
                return
        for name, reason in actions.containers_to_kill:
            grace = probe_grace_period(pod, name) if name in probe_killed else None
            await self._kill_container(pod, runtime_pod, name, reason, grace)
        if sandbox is None or not sandbox.ready:
            return
        spec = pod.get("spec") or {}
        if actions.next_init_container:
            init = next(c for c in spec.get("initContainers") or [] if c["name"] == actions.next_init_container)
            await self._start_container(pod, state, sandbox, init, "init", runtime_pod, config_maps, secrets)
        wanted = set(actions.containers_to_start)
        for container in spec.get("containers") or []:
            if container["name"] in wanted:
                await self._start_container(pod, state, sandbox, container, "app", runtime_pod, config_maps, secrets)

    async def _create_sandbox(self, pod: Object) -> RuntimeSandbox | None:
        try:
            notes: list[tuple[str, str]] = []
            dns = self.deps.dns.pod_dns(pod, notes)
            for reason, message in notes:
                self.deps.record(pod, "Warning", reason, message)
            async with self.pod_ips.reserve(pod) if self.pod_ips else contextlib.nullcontext() as ip:
                return await self.runtime.run_sandbox(compute_sandbox_config(pod, self.node_name, ip=ip, dns=dns))
        except RuntimeError_ as e:
            self.deps.record(pod, "Warning", "FailedCreatePodSandBox", f"Failed to create pod sandbox: {e}")
            return None

    async def _start_container(self, pod: Object, state: PodSyncState, sandbox: RuntimeSandbox,
                               container: Object, kind: str, runtime_pod: RuntimePod | None,
                               config_maps: Mapping[str, Object | None], secrets: Mapping[str, Object | None]) -> None:
        """Kubernetes' ``startContainer``: image, config, create, start, postStart. Failures become waiting reasons."""
        name = container["name"]
        path = field_path(pod, name)

        def record(type_: str, reason: str, message: str) -> None:
            self.deps.record(pod, type_, reason, message, field_path=path)

        try:
            await self.deps.images.ensure_image(pod, container, record)
            env = compute_container_env(
                container, pod, config_maps=config_maps, secrets=secrets, pod_ip=sandbox.ip or "",
                pod_ips=[sandbox.ip] if sandbox.ip else [], host_ip=self.deps.host_ip, node_name=self.node_name)
            mounts = self.deps.volumes.container_mounts(pod, container, state.volume_paths, env)
            attempts = runtime_pod.attempts(name) if runtime_pod else ()
            restart_count = attempts[0].restart_count + 1 if attempts else 0
            config = compute_container_config(pod, container, container_type=kind, restart_count=restart_count,
                                              env=env, mounts=mounts, node_name=self.node_name)
        except ImageError as e:
            state.waiting[name] = (e.reason, e.message)
            if e.retry_after is not None:
                state.pull_retry_after = min(e.retry_after, state.pull_retry_after or e.retry_after)
            return
        except (ContainerConfigError, VolumeError) as e:
            state.waiting[name] = ("CreateContainerConfigError", str(e))
            record("Warning", "Failed", f"Error: {e}")
            return
        try:
            container_id = await self.runtime.create_container(sandbox.id, config)
        except RuntimeError_ as e:
            state.waiting[name] = ("CreateContainerError", str(e))
            record("Warning", "Failed", f"Error: {e}")
            return
        record("Normal", "Created", f"Created container {name}")
        try:
            await self.runtime.start_container(container_id)
        except (ContainerCreateError, RuntimeError_) as e:
            state.waiting[name] = ("RunContainerError", str(e))
            record("Warning", "Failed", f"Error: {e}")
            return
        state.waiting.pop(name, None)
        record("Normal", "Started", f"Started container {name}")
        await self._post_start(pod, container, container_id, sandbox, record)

    async def _post_start(self, pod: Object, container: Object, container_id: str, sandbox: RuntimeSandbox,
                          record: Any) -> None:
        handler = (container.get("lifecycle") or {}).get("postStart")
        if not handler:
            return
        message = await lifecycle_hooks.run_hook(
            handler, kind="postStart", pod=pod, container=container, container_id=container_id,
            pod_ip=sandbox.ip or "", runtime=self.runtime, timeout=float(self._grace(pod)))
        if message:
            record("Warning", "FailedPostStartHook", message)
            await self.runtime.stop_container(container_id, self._grace(pod))

    # -- killing -----------------------------------------------------------------------------------------------

    @staticmethod
    def _grace(pod: Object) -> int:
        return grace_period_seconds(pod)

    async def _kill_container(self, pod: Object, runtime_pod: RuntimePod | None, name: str, reason: str,
                              grace: float | None = None) -> None:
        """Kubernetes' ``killContainer``: event, preStop hook (within the grace period), then stop."""
        running = [c for c in (runtime_pod.attempts(name) if runtime_pod else ()) if c.state == STATE_RUNNING]
        if not running:
            return
        container = running[0]
        spec = next((c for c in _all_containers(pod) if c["name"] == name), None)
        grace = float(self._grace(pod)) if grace is None else grace
        message = reason or f"Stopping container {name}"
        self.deps.record(pod, "Normal", "Killing", message, field_path=field_path(pod, name))
        started = time.monotonic()
        hook = ((spec or {}).get("lifecycle") or {}).get("preStop")
        if hook and grace > 0:
            error = await lifecycle_hooks.run_hook(
                hook, kind="preStop", pod=pod, container=spec or {}, container_id=container.id,
                pod_ip=_pod_ip(runtime_pod), runtime=self.runtime, timeout=grace)
            if error:
                self.deps.record(pod, "Warning", "FailedPreStopHook", error, field_path=field_path(pod, name))
        remaining = max(grace - (time.monotonic() - started), 2.0 if grace > 0 else 0.0)
        await self.runtime.stop_container(container.id, remaining)

    async def kill_pod(self, pod: Object, runtime_pod: RuntimePod | None, *, reason: str,
                       grace: float | None = None) -> None:
        """Stop every running container (in parallel, each with its preStop hook), then the sandbox."""
        if runtime_pod is None:
            return
        names = {c.name for c in runtime_pod.containers if c.state == STATE_RUNNING}
        await asyncio.gather(*(self._kill_container(pod, runtime_pod, n, reason, grace) for n in sorted(names)))
        for sandbox in runtime_pod.sandboxes:
            if sandbox.ready:
                await self.runtime.stop_sandbox(sandbox.id)

    async def terminate_pod(self, pod: Object, state: PodSyncState, *, write_status: bool = True) -> None:
        """Kubernetes' ``SyncTerminatingPod`` + ``SyncTerminatedPod``: preStop hooks and SIGTERM within the grace
        period, SIGKILL after it, the final status, then the containers, sandboxes and volumes are removed."""
        uid = pod["metadata"]["uid"]
        await self.kill_pod(pod, await self.runtime_pod(uid), reason="", grace=float(grace_period_seconds(pod)))
        runtime_pod = await self.runtime_pod(uid)
        if write_status:
            await self._write_status(pod, runtime_pod, state, {})
        self.deps.prober.remove_pod(uid)
        self.deps.images.forget_pod(uid)
        await self.remove_pod(runtime_pod)
        await self.deps.volumes.teardown_pod_volumes(uid)

    async def remove_pod(self, runtime_pod: RuntimePod | None) -> None:
        """Remove every container and sandbox of a pod that has been killed."""
        if runtime_pod is None:
            return
        for c in runtime_pod.containers:
            await self.runtime.remove_container(c.id)
        for sandbox in runtime_pod.sandboxes:
            await self.runtime.remove_sandbox(sandbox.id)

    async def _collect_garbage(self, runtime_pod: RuntimePod | None) -> None:
        """Keep the running attempt and the newest dead one per container; keep only the newest sandbox."""
        if runtime_pod is None:
            return
        kept_dead: set[str] = set()
        for c in runtime_pod.containers:  # newest first
            if c.state != STATE_EXITED:
                continue
            if c.name in kept_dead:
                await self.runtime.remove_container(c.id)
            kept_dead.add(c.name)
        for sandbox in runtime_pod.sandboxes[1:]:
            if not any(c.sandbox_id == sandbox.id and c.state == STATE_RUNNING for c in runtime_pod.containers):
                await self.runtime.remove_sandbox(sandbox.id)

    # -- status ------------------------------------------------------------------------------------------------

    async def _write_status(self, pod: Object, runtime_pod: RuntimePod | None, state: PodSyncState,
                            backoff_waiting: Mapping[str, tuple[str, str]]) -> None:
        uid = pod["metadata"]["uid"]
        prober = self.deps.prober
        running = {c.name: (c.id, c.started_at or 0.0) for c in _latest(runtime_pod) if c.state == STATE_RUNNING}
        prober.update_pod(pod, running, _pod_ip(runtime_pod))
        names = [c["name"] for c in _all_containers(pod)]
        # The old status is the one this kubelet last wrote (as Kubernetes' status manager cache), not the
        # informer's copy, which may not have caught up with it (e.g. the IP of a pod that finished at once).
        last_sent = self.deps.status.last_sent(uid)
        status = compute_pod_status(
            {**pod, "status": last_sent} if last_sent is not None else pod, runtime_pod,
            waiting={**state.waiting, **backoff_waiting},
            ready={n: n in running and prober.is_ready(uid, n) for n in names},
            started={n: n in running and prober.is_started(uid, n) for n in names},
            host_ip=self.deps.host_ip, now=now_rfc3339(), runtime_name=self.runtime.name)
        await self.deps.status.set_status(pod, status)

    @staticmethod
    def _requeue_after(state: PodSyncState, actions: PodActions) -> float | None:
        if state.sandbox_failed:
            return REQUEUE_SANDBOX_FAILED
        if state.waiting:
            pulls_only = all(reason in PULL_BACKOFF_REASONS for reason, _ in state.waiting.values())
            if pulls_only and state.pull_retry_after is not None:
                return max(state.pull_retry_after, 0.0) + BACKOFF_EXPIRY_MARGIN  # when the pull back-off ends
            return REQUEUE_WAITING
        if actions.backoff_remaining is not None:
            # Sync again when the back-off ends (not every second: each sync in back-off records a
            # BackOff event, and Kubernetes' describe shows about one per back-off period).
            return actions.backoff_remaining + BACKOFF_EXPIRY_MARGIN
        return None


def probe_grace_period(pod: Mapping[str, Any], name: str) -> float | None:
    """A probe-level terminationGracePeriodSeconds (liveness or startup) overrides the pod's for a probe kill."""
    for container in (pod.get("spec") or {}).get("containers") or []:
        if container["name"] == name:
            for kind in ("livenessProbe", "startupProbe"):
                value = (container.get(kind) or {}).get("terminationGracePeriodSeconds")
                if value is not None:
                    return float(value)
    return None


def _all_containers(pod: Mapping[str, Any]) -> list[Object]:
    spec = pod.get("spec") or {}
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def _latest(runtime_pod: RuntimePod | None) -> list[RuntimeContainer]:
    seen: dict[str, RuntimeContainer] = {}
    for c in runtime_pod.containers if runtime_pod else ():
        seen.setdefault(c.name, c)
    return list(seen.values())


def _pod_ip(runtime_pod: RuntimePod | None) -> str:
    sandbox = runtime_pod.sandbox if runtime_pod else None
    return sandbox.ip or "" if sandbox else ""
