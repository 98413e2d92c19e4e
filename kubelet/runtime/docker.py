"""The Docker runtime: pods as a pause container plus app containers joined to its namespaces (as dockershim did).

Every blocking Docker SDK call runs in this runtime's own thread pool; long-lived streams (logs -f, exec sessions)
get a dedicated thread each (see :mod:`kubelet.runtime.docker_exec`). Conversions of Docker's JSON live in
:mod:`kubelet.runtime.docker_convert`.

list_pods costs one ``GET /containers/json`` plus one inspect per container whose Docker state changed since the
previous listing: inspect documents are cached by (id, state), since what we read from them (start/finish times,
exit code, OOMKilled, IP) cannot change while the state stays the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import docker
import docker.errors
from docker.types import LogConfig

from kubelet.runtime.docker_attach import attach_session
from kubelet.runtime.docker_convert import (
    CONTAINER_TYPE_SANDBOX,
    docker_name,
    group_pods,
    resolv_conf,
    to_sandbox,
    to_stats,
)
from kubelet.runtime.docker_exec import DockerExecSession, HijackedExec, create_exec, exec_sync_blocking, pump
from kubelet.runtime.docker_network import (
    ensure_network_blocking,
    network_gateway_blocking,
    network_subnet_blocking,
    remove_network_blocking,
)
from kubelet.runtime.docker_port_forward import port_forward
from kubelet.runtime.image_ref import with_default_tag
from kubelet.runtime.interface import (
    LABEL_CONTAINER_NAME,
    LABEL_CONTAINER_TYPE,
    LABEL_GRACE_PERIOD,
    LABEL_MANAGED,
    LABEL_NODE,
    LABEL_POD_NAME,
    LABEL_POD_NAMESPACE,
    LABEL_POD_UID,
    LABEL_RESTART_COUNT,
    LABEL_SANDBOX_ID,
    LABEL_SPEC_HASH,
    SANDBOX_CONTAINER_NAME,
    ContainerConfig,
    ContainerCreateError,
    ContainerStats,
    ExecResult,
    ExecSession,
    ImagePullError,
    NotFoundError,
    RuntimeError_,
    RuntimePod,
    RuntimeSandbox,
    SandboxConfig,
)

T = TypeVar("T")
API_VERSION = "1.41"  # Debian's docker.io 20.10; pinning it avoids a version probe in the constructor
SANDBOX_STOP_SECONDS = 10  # the pause process exits on SIGTERM at once; this only bounds a wedged one
LOG_CONFIG = {"max-size": "10m", "max-file": "3"}


def _explain(err: docker.errors.DockerException) -> str:
    if isinstance(err, docker.errors.APIError):
        return str(err.explanation or err)
    return str(err)


class DockerRuntime:
    name = "docker"

    def __init__(
        self,
        network: str = "kubeling",
        base_url: str | None = None,
        pause_image: str = "kubeling/pause:3",
        subnet: str | None = "10.244.0.0/16",
        threads: int = 16,
    ) -> None:
        self.network = network
        self.pause_image = pause_image
        self.subnet = subnet  # only used when ensure_network creates the network (fixed pod IPs need a subnet)
        if base_url is None:
            self.client = docker.DockerClient.from_env(version=API_VERSION, max_pool_size=threads + 4)
        else:
            self.client = docker.DockerClient(base_url=base_url, version=API_VERSION, max_pool_size=threads + 4)
        self.api: docker.APIClient = self.client.api
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="docker-runtime")
        self._inspect_cache: dict[str, tuple[str, dict[str, Any]]] = {}  # id -> (docker state, inspect doc)

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    # ---- runtime info -------------------------------------------------------------------------------------

    async def version(self) -> str:
        info = await self._run(self.api.version)
        return f"docker://{info.get('Version', 'unknown')}"

    async def ping(self) -> bool:
        try:
            return bool(await self._run(self.api.ping))
        except Exception:
            return False

    async def ensure_network(self) -> str:
        """Create the pod network when missing; returns its id. Safe when several kubelets race: creation is
        serialized by a host-wide file lock, and since Docker may still let two networks of one name exist (its
        duplicate check is best effort), every caller keeps the oldest one and removes its own duplicate."""
        return await self._run(ensure_network_blocking, self.api, self.network, self.subnet)

    async def network_subnet(self) -> str | None:
        """The pod network's subnet (pod addresses given by the kubelet must lie inside it)."""
        return await self._run(network_subnet_blocking, self.api, self.network)

    async def network_gateway(self) -> str:
        return await self._run(network_gateway_blocking, self.api, self.network)

    async def remove_network(self) -> None:
        await self._run(remove_network_blocking, self.api, self.network)

    # ---- listing ------------------------------------------------------------------------------------------

    async def list_pods(self, node_name: str, pod_uid: str | None = None) -> list[RuntimePod]:
        docs = await self._run(self._list_docs_blocking, node_name, pod_uid)
        return group_pods(docs, self.network)

    def _list_docs_blocking(self, node_name: str, pod_uid: str | None) -> list[dict[str, Any]]:
        """One summary list, then an inspect for each container whose state changed since last time (sequential in
        this thread: measured faster than fanning the inspects out over the pool)."""
        labels = [f"{LABEL_MANAGED}=true", f"{LABEL_NODE}={node_name}"]
        if pod_uid is not None:
            labels.append(f"{LABEL_POD_UID}={pod_uid}")
        summaries = self.api.containers(all=True, filters={"label": labels})
        docs: list[dict[str, Any]] = []
        for summary in summaries:
            cid, state = summary["Id"], summary.get("State", "")
            cached = self._inspect_cache.get(cid)
            if cached is not None and cached[0] == state:
                docs.append(cached[1])
                continue
            try:
                doc = self.api.inspect_container(cid)
            except docker.errors.NotFound:
                continue
            self._inspect_cache[cid] = (state, doc)
            docs.append(doc)
        present = {s["Id"] for s in summaries}
        for cid, (_, doc) in list(self._inspect_cache.items()):
            labels_of = doc["Config"]["Labels"]
            mine = labels_of.get(LABEL_NODE) == node_name and pod_uid in (None, labels_of.get(LABEL_POD_UID))
            if cid not in present and mine:
                self._inspect_cache.pop(cid, None)
        return docs

    # ---- sandboxes ----------------------------------------------------------------------------------------

    async def run_sandbox(self, config: SandboxConfig) -> RuntimeSandbox:
        return await self._run(self._run_sandbox_blocking, config)

    def _run_sandbox_blocking(self, config: SandboxConfig) -> RuntimeSandbox:
        api = self.api
        ports: dict[str, int] = {}  # "8080/tcp" -> host port
        exposed: list[tuple[int, str]] = []  # docker-py wants (port, protocol) here, not "8080/tcp"
        if not config.host_network:
            for host_port, container_port, protocol in config.port_mappings:
                ports[f"{container_port}/{protocol.lower()}"] = host_port
                exposed.append((container_port, protocol.lower()))
        host_config = api.create_host_config(
            network_mode="host" if config.host_network else self.network,
            ipc_mode="shareable",
            dns=list(config.dns_servers) or None,
            dns_search=list(config.dns_searches) or None,
            dns_opt=list(config.dns_options) or None,
            port_bindings=ports or None,
            log_config=LogConfig(type="json-file", config=LOG_CONFIG),
        )
        networking_config = None
        if config.ip and not config.host_network:
            networking_config = api.create_networking_config(
                {self.network: api.create_endpoint_config(ipv4_address=config.ip)}
            )
        environment = None
        resolv = resolv_conf(config)
        if resolv:
            environment = {"KUBELING_RESOLV_CONF": resolv}  # the pause process writes it (see deploy/images/pause)
        labels = self._pod_labels(config.pod_uid, config.namespace, config.name, config.node_name)
        labels.update({LABEL_CONTAINER_NAME: SANDBOX_CONTAINER_NAME, LABEL_CONTAINER_TYPE: CONTAINER_TYPE_SANDBOX,
                       LABEL_RESTART_COUNT: "0"})
        created: dict[str, Any] = {}
        try:
            created = api.create_container(
                self.pause_image,
                name=docker_name(SANDBOX_CONTAINER_NAME, config.name, config.namespace, config.pod_uid, 0),
                hostname=None if config.host_network else config.hostname[:63],
                labels=labels,
                environment=environment,
                ports=exposed or None,
                host_config=host_config,
                networking_config=networking_config,
                detach=True,
            )
            api.start(created["Id"])
            attrs = api.inspect_container(created["Id"])
        except docker.errors.DockerException as err:
            if created.get("Id"):  # created but not started (e.g. the fixed IP is taken): leave nothing behind
                with contextlib.suppress(docker.errors.DockerException):
                    api.remove_container(created["Id"], force=True)
            raise ContainerCreateError(f"failed to start pod sandbox: {_explain(err)}") from err
        return to_sandbox(attrs, self.network)  # ip: None with host networking (the pod IP is the node's)

    async def stop_sandbox(self, sandbox_id: str) -> None:
        await self.stop_container(sandbox_id, SANDBOX_STOP_SECONDS)

    async def remove_sandbox(self, sandbox_id: str) -> None:
        await self.remove_container(sandbox_id)

    @staticmethod
    def _pod_labels(uid: str, namespace: str, name: str, node: str) -> dict[str, str]:
        return {LABEL_MANAGED: "true", LABEL_NODE: node, LABEL_POD_UID: uid, LABEL_POD_NAMESPACE: namespace,
                LABEL_POD_NAME: name}

    # ---- images -------------------------------------------------------------------------------------------

    async def image_present(self, image: str) -> bool:
        ref = with_default_tag(image)
        try:
            await self._run(self.api.inspect_image, ref)
            return True
        except docker.errors.ImageNotFound:
            return False
        except docker.errors.NotFound:
            return False

    async def pull_image(self, image: str) -> None:
        ref = with_default_tag(image)

        def pull() -> None:
            for message in self.api.pull(ref, stream=True, decode=True):
                if isinstance(message, dict) and message.get("error"):
                    raise ImagePullError(str(message["error"]))

        try:
            await self._run(pull)
        except docker.errors.DockerException as err:
            raise ImagePullError(_explain(err)) from err

    # ---- containers ---------------------------------------------------------------------------------------

    async def create_container(self, sandbox_id: str, config: ContainerConfig) -> str:
        return await self._run(self._create_container_blocking, sandbox_id, config)

    def _create_container_blocking(self, sandbox_id: str, config: ContainerConfig) -> str:
        api = self.api
        binds = [f"{m.host_path}:{m.container_path}:{'ro' if m.read_only else 'rw'}" for m in config.mounts]
        memory = config.memory_limit_bytes
        host_config = api.create_host_config(
            network_mode=f"container:{sandbox_id}",
            ipc_mode=f"container:{sandbox_id}",
            binds=binds or None,
            nano_cpus=config.cpu_quota_millis * 1_000_000 if config.cpu_quota_millis else None,
            cpu_shares=config.cpu_shares,
            mem_limit=memory,
            memswap_limit=memory,  # no swap on top of the limit: the OOM killer really fires
            privileged=config.privileged,
            log_config=LogConfig(type="json-file", config=LOG_CONFIG),
        )
        user = None
        if config.run_as_user is not None:
            user = str(config.run_as_user)
            if config.run_as_group is not None:
                user += f":{config.run_as_group}"
        labels = self._pod_labels(config.pod_uid, config.namespace, config.pod_name, config.node_name)
        labels.update({
            LABEL_CONTAINER_NAME: config.name,
            LABEL_CONTAINER_TYPE: config.container_type,
            LABEL_RESTART_COUNT: str(config.restart_count),
            LABEL_SPEC_HASH: config.spec_hash,
            LABEL_SANDBOX_ID: sandbox_id,
            LABEL_GRACE_PERIOD: str(config.termination_grace_seconds),
        })
        try:
            container_config = api.create_container_config(
                config.image,
                list(config.args) if config.args is not None else None,
                entrypoint=list(config.command) if config.command is not None else None,
                environment=[f"{k}={v}" for k, v in config.env] or None,
                working_dir=config.working_dir,
                user=user,
                tty=config.tty,
                stdin_open=config.stdin,
                labels=labels,
                host_config=host_config,
                detach=True,
            )
            container_config["StdinOnce"] = config.stdin and config.stdin_once  # docker-py only sets it attached
            created = api.create_container_from_config(
                container_config,
                docker_name(config.name, config.pod_name, config.namespace, config.pod_uid, config.restart_count),
            )
        except docker.errors.DockerException as err:
            raise ContainerCreateError(_explain(err)) from err
        return str(created["Id"])

    async def start_container(self, container_id: str) -> None:
        self._inspect_cache.pop(container_id, None)  # a failed start leaves the state "created" but sets an error
        try:
            await self._run(self.api.start, container_id)
        except docker.errors.NotFound as err:
            raise NotFoundError(_explain(err)) from err
        except docker.errors.DockerException as err:
            raise ContainerCreateError(_explain(err)) from err

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        timeout = max(0, math.ceil(grace_seconds))
        try:
            await self._run(self.api.stop, container_id, timeout=timeout)
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as err:
            if "not running" in _explain(err).lower() or err.status_code == 304:
                return
            raise RuntimeError_(_explain(err)) from err

    async def remove_container(self, container_id: str) -> None:
        try:
            await self._run(self.api.remove_container, container_id, v=True, force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as err:
            if err.status_code != 409 or "in progress" not in _explain(err):
                raise RuntimeError_(_explain(err)) from err
        self._inspect_cache.pop(container_id, None)

    # ---- exec, attach, port-forward, logs, stats ---------------------------------------------------------

    async def exec_sync(self, container_id: str, command: list[str], timeout: float) -> ExecResult:
        """Exit code 124 and a note appended to the output when ``timeout`` passes (the interface's contract)."""
        return await self._run(exec_sync_blocking, self.api, container_id, command, timeout)

    async def exec_session(self, container_id: str, command: list[str], *, stdin: bool, tty: bool) -> ExecSession:
        def start() -> HijackedExec:
            exec_id = create_exec(self.api, container_id, command, stdin=stdin, tty=tty)
            return HijackedExec(self.api, exec_id, tty=tty)

        hijack = await self._run(start)
        return DockerExecSession(hijack, self._executor)

    async def attach(self, container_id: str, *, stdin: bool, tty: bool) -> ExecSession:
        return await attach_session(self.api, self._executor, container_id, stdin, tty)

    async def port_forward(self, sandbox_id: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await port_forward(self.api, self._executor, self.network, sandbox_id, port)

    def logs(self, container_id: str, *, follow: bool = False, tail_lines: int | None = None,
             since_seconds: int | None = None, timestamps: bool = False) -> AsyncIterator[bytes]:
        holder: list[Any] = []

        def open_stream() -> Any:
            since = int(time.time() - since_seconds) if since_seconds is not None else None
            try:
                stream = self.api.logs(container_id, stream=True, follow=follow, timestamps=timestamps,
                                       tail=tail_lines if tail_lines is not None else "all", since=since)
            except docker.errors.NotFound as err:
                raise NotFoundError(_explain(err)) from err
            holder.append(stream)
            return stream

        def close() -> None:
            for stream in holder:
                stream.close()

        return pump(open_stream, close, name="docker-logs")

    async def container_stats(self, container_id: str) -> ContainerStats:
        """One sample; Docker waits for two cgroup readings (~1-2 s) so the CPU rate is meaningful."""
        try:
            stats = await self._run(self.api.stats, container_id, stream=False)
        except docker.errors.NotFound as err:
            raise NotFoundError(_explain(err)) from err
        return to_stats(container_id, stats, time.time())

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.client.close()
