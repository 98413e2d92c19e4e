"""The container runtime interface: what the kubelet asks of a runtime, and what a runtime reports back.

Modelled on Kubernetes' CRI (``RuntimeService`` + ``ImageService``), reduced to what kubeling uses. Two runtimes
implement it: :mod:`kubelet.runtime.docker` (real containers through the Docker SDK) and :mod:`kubelet.runtime.fake`
(hollow nodes: nothing runs, containers "start" after a delay). The pod worker, the prober and the kubelet API only
ever talk to this interface, so swapping the runtime changes nothing else.

Every object a runtime creates carries the labels below, so a restarted kubelet finds (re-adopts) the pods it was
running by listing the runtime: the runtime, not the kubelet's memory, is the source of truth for what runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

# Labels on every runtime object (Docker container labels; the fake runtime keeps the same strings).
LABEL_MANAGED = "io.kubeling.managed"  # "true"
LABEL_NODE = "io.kubeling.node"  # node name: several kubelets may share one Docker host
LABEL_POD_UID = "io.kubernetes.pod.uid"
LABEL_POD_NAMESPACE = "io.kubernetes.pod.namespace"
LABEL_POD_NAME = "io.kubernetes.pod.name"
LABEL_CONTAINER_NAME = "io.kubernetes.container.name"  # "POD" for the sandbox, as dockershim did
LABEL_CONTAINER_TYPE = "io.kubeling.container.type"  # "sandbox" | "init" | "app"
LABEL_RESTART_COUNT = "io.kubernetes.container.restartCount"
LABEL_SPEC_HASH = "io.kubernetes.container.hash"
LABEL_SANDBOX_ID = "io.kubeling.sandbox.id"  # on app containers: the sandbox they joined
LABEL_GRACE_PERIOD = "io.kubernetes.pod.terminationGracePeriod"

SANDBOX_CONTAINER_NAME = "POD"

# Container states, as pod_actions understands them.
STATE_CREATED = "created"
STATE_RUNNING = "running"
STATE_EXITED = "exited"
STATE_UNKNOWN = "unknown"


class RuntimeError_(Exception):
    """Base of the runtime's errors; ``str(err)`` is the message shown to users in the pod's status."""


class InvalidImageNameError(RuntimeError_):
    """The image reference cannot be parsed (status reason ``InvalidImageName``)."""


class ImagePullError(RuntimeError_):
    """Pulling failed (status reason ``ErrImagePull``, then ``ImagePullBackOff``); message from the runtime."""


class ImageNotPresentError(RuntimeError_):
    """imagePullPolicy Never and the image is absent (status reason ``ErrImageNeverPull``)."""


class ContainerCreateError(RuntimeError_):
    """The runtime refused to create or start a container (status reason ``CreateContainerError`` /
    ``RunContainerError``)."""


class NotFoundError(RuntimeError_):
    """The container or sandbox does not exist (any more)."""


@dataclass(frozen=True)
class SandboxConfig:
    """What the pause container of a pod needs."""

    pod_uid: str
    namespace: str
    name: str
    node_name: str
    hostname: str  # pod.spec.hostname or the pod name, truncated to 63 characters
    host_network: bool = False
    ip: str | None = None  # a fixed address on the pod network (node IPAM), None: the runtime picks one
    dns_servers: tuple[str, ...] = ()
    dns_searches: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    port_mappings: tuple[tuple[int, int, str], ...] = ()  # (hostPort, containerPort, "tcp"|"udp")
    annotations: Mapping[str, str] = field(default_factory=dict)  # pod annotations (the fake runtime reads some)


@dataclass(frozen=True)
class Mount:
    host_path: str
    container_path: str
    read_only: bool = False


@dataclass(frozen=True)
class ContainerConfig:
    """Everything needed to create one container of a pod; built by the kubelet from the pod spec."""

    pod_uid: str
    namespace: str
    pod_name: str
    node_name: str
    name: str
    container_type: str  # "init" | "app"
    restart_count: int
    spec_hash: str
    image: str
    command: tuple[str, ...] | None = None  # Kubernetes ``command`` (Docker entrypoint); None: the image's
    args: tuple[str, ...] | None = None  # Kubernetes ``args`` (Docker cmd); None: the image's
    env: tuple[tuple[str, str], ...] = ()
    working_dir: str | None = None
    mounts: tuple[Mount, ...] = ()
    cpu_quota_millis: int | None = None  # limits.cpu in millicores -> Docker nano_cpus
    cpu_shares: int | None = None  # requests.cpu -> Docker cpu_shares (1024 per core, min 2)
    memory_limit_bytes: int | None = None  # limits.memory -> Docker mem_limit
    run_as_user: int | None = None
    run_as_group: int | None = None
    privileged: bool = False
    tty: bool = False
    stdin: bool = False
    stdin_once: bool = False
    termination_grace_seconds: int = 30
    annotations: Mapping[str, str] = field(default_factory=dict)  # pod annotations (the fake runtime reads some)


@dataclass(frozen=True)
class RuntimeSandbox:
    id: str
    pod_uid: str
    namespace: str
    name: str
    ready: bool  # the pause container runs
    ip: str | None
    created_at: float  # wall-clock seconds


@dataclass(frozen=True)
class RuntimeContainer:
    """One attempt of one container (the runtime keeps dead attempts until the kubelet removes them)."""

    id: str
    pod_uid: str
    name: str
    container_type: str  # "init" | "app"
    sandbox_id: str
    restart_count: int
    spec_hash: str
    image: str
    image_id: str
    state: str  # STATE_CREATED | STATE_RUNNING | STATE_EXITED | STATE_UNKNOWN
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    oom_killed: bool = False
    error: str = ""  # the runtime's error text for a container that failed to start


@dataclass(frozen=True)
class RuntimePod:
    """Everything the runtime holds for one pod uid; sandboxes and containers newest first."""

    uid: str
    namespace: str
    name: str
    sandboxes: tuple[RuntimeSandbox, ...] = ()
    containers: tuple[RuntimeContainer, ...] = ()

    @property
    def sandbox(self) -> RuntimeSandbox | None:
        """The newest sandbox (the one containers should join)."""
        return self.sandboxes[0] if self.sandboxes else None

    def attempts(self, name: str) -> tuple[RuntimeContainer, ...]:
        """Every attempt of container ``name``, newest first."""
        return tuple(c for c in self.containers if c.name == name)


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: bytes  # stdout and stderr interleaved


@dataclass(frozen=True)
class ContainerStats:
    container_id: str
    cpu_usage_nanocores: int  # average over the runtime's last sample window
    cpu_usage_core_nanoseconds: int  # cumulative
    memory_usage_bytes: int
    memory_working_set_bytes: int
    timestamp: float


class ExecSession(Protocol):
    """An interactive exec: write stdin, read output chunks, resize the tty, learn the exit code."""

    async def write(self, data: bytes) -> None: ...
    async def close_stdin(self) -> None: ...
    async def resize(self, width: int, height: int) -> None: ...
    def output(self) -> AsyncIterator[tuple[int, bytes]]:
        """(stream, data) chunks: stream 1 = stdout, 2 = stderr (with a tty everything arrives on 1)."""
        ...
    async def wait(self) -> int:
        """The command's exit code, once it has ended."""
        ...


class Runtime(Protocol):
    """The container runtime. Every method is a coroutine; blocking SDK calls run in a thread pool."""

    name: str  # "docker" | "fake"

    async def version(self) -> str:
        """The runtime's version string, e.g. ``docker://20.10.24`` (for nodeInfo.containerRuntimeVersion)."""
        ...

    async def ping(self) -> bool:
        """True when the runtime answers (drives the node's Ready condition)."""
        ...

    async def list_pods(self, node_name: str, pod_uid: str | None = None) -> list[RuntimePod]:
        """Every pod (sandboxes and containers, running or dead) this runtime holds for ``node_name``; only the
        pod ``pod_uid`` when given."""
        ...

    async def run_sandbox(self, config: SandboxConfig) -> RuntimeSandbox: ...
    async def stop_sandbox(self, sandbox_id: str) -> None: ...
    async def remove_sandbox(self, sandbox_id: str) -> None: ...

    async def image_present(self, image: str) -> bool:
        """Raises InvalidImageNameError for an unparsable reference."""
        ...

    async def pull_image(self, image: str) -> None:
        """Raises InvalidImageNameError or ImagePullError (with the runtime's message)."""
        ...

    async def create_container(self, sandbox_id: str, config: ContainerConfig) -> str:
        """Create (not start) a container joined to the sandbox's namespaces; returns its id."""
        ...

    async def start_container(self, container_id: str) -> None: ...

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        """SIGTERM, wait up to ``grace_seconds``, then SIGKILL. Stopping a stopped container is not an error."""
        ...

    async def remove_container(self, container_id: str) -> None:
        """Removing a missing container is not an error."""
        ...

    async def exec_sync(self, container_id: str, command: list[str], timeout: float) -> ExecResult:
        """Run a command in a running container and wait for it (probes, hooks). Timeout -> exit code 124 + note."""
        ...

    async def exec_session(
        self, container_id: str, command: list[str], *, stdin: bool, tty: bool
    ) -> ExecSession: ...

    async def attach(self, container_id: str, *, stdin: bool, tty: bool) -> ExecSession:
        """The running container's own stdio (``kubectl attach``): its output from now on, stdin when the container
        keeps it open; ``wait()`` answers 0 once the output has ended (the container exited or detached us).
        Raises NotFoundError or RuntimeError_ (e.g. the container is not running)."""
        ...

    async def port_forward(self, sandbox_id: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A TCP connection to ``port`` on localhost inside the sandbox's network namespace (``kubectl
        port-forward``). Raises NotFoundError for an unknown sandbox, RuntimeError_ with the reason when the
        connection fails (``connection refused``)."""
        ...

    def logs(
        self,
        container_id: str,
        *,
        follow: bool = False,
        tail_lines: int | None = None,
        since_seconds: int | None = None,
        timestamps: bool = False,
    ) -> AsyncIterator[bytes]:
        """The container's output (stdout and stderr) as it was written, chunk by chunk."""
        ...

    async def container_stats(self, container_id: str) -> ContainerStats: ...

    async def close(self) -> None: ...
