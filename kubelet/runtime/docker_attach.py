"""Attach for the Docker runtime (``kubectl attach``): a hijacked ``POST /containers/{id}/attach?stream=1``.

Docker's attach streams the container's own stdio from now on (``logs=0``: no replay of what it printed before),
framed like a non-tty exec (8-byte headers) unless the container has a tty. Stdin is attached only when asked and
when the container keeps stdin open (``stdin: true`` in the pod spec → Docker ``OpenStdin``); otherwise writes have
nowhere to go, as in Kubernetes. Resizing resizes the container's own tty.
"""

from __future__ import annotations

import asyncio
from typing import Any

import docker
import docker.errors

from kubelet.runtime.docker_exec import DockerExecSession, HijackedStream
from kubelet.runtime.interface import NotFoundError, RuntimeError_


class HijackedAttach(HijackedStream):
    def __init__(self, api: docker.APIClient, container_id: str, stdin: bool, tty: bool) -> None:
        self.container_id = container_id
        res = api._post(
            api._url("/containers/{0}/attach", container_id),
            headers={"Connection": "Upgrade", "Upgrade": "tcp"},
            params={"stream": 1, "logs": 0, "stdin": int(stdin), "stdout": 1, "stderr": 1},
            stream=True,
        )
        super().__init__(api, res, tty)

    def resize(self, width: int, height: int) -> None:
        self.api.resize(self.container_id, height=height, width=width)


def attach_blocking(api: docker.APIClient, container_id: str, stdin: bool, tty: bool) -> HijackedAttach:
    """Checks that the container runs (Kubernetes refuses to attach to anything else), then attaches."""
    try:
        config = api.inspect_container(container_id)
    except docker.errors.NotFound as err:
        raise NotFoundError(err.explanation or str(err)) from err
    state = config.get("State") or {}
    if not state.get("Running"):
        raise RuntimeError_(f"container {container_id} is not running (state: {state.get('Status', 'unknown')})")
    container = config.get("Config") or {}
    return HijackedAttach(api, container_id, stdin=stdin and bool(container.get("OpenStdin")),
                          tty=bool(container.get("Tty")))  # the container's tty decides the framing


async def attach_session(api: docker.APIClient, executor: Any, container_id: str, stdin: bool,
                         tty: bool) -> DockerExecSession:
    hijack = await asyncio.get_running_loop().run_in_executor(executor, attach_blocking, api, container_id, stdin,
                                                              tty)
    return DockerExecSession(hijack, executor)
