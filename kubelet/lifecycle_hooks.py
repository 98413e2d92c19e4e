"""Container lifecycle hooks (``postStart``, ``preStop``): Kubernetes' ``pkg/kubelet/lifecycle/handlers.go``.

:func:`run_hook` runs one ``LifecycleHandler`` and returns None on success or the message Kubernetes shows. It
never records events or kills anything itself; who does what:

* **postStart** runs right after the container started. On failure the *pod worker* records a
  ``FailedPostStartHook`` Warning event with the returned message and kills the container (reason
  ``FailedPostStartHook``); the container then restarts under its restartPolicy like any failed container.
* **preStop** runs when the kubelet kills a container, before SIGTERM, within the termination grace period
  (``timeout``). On failure the *pod worker* records ``FailedPreStopHook`` (Kubernetes' event text is just
  "PreStop hook failed", so a secret in a command line cannot leak; kubeling keeps the full message, it is a lab)
  and stops the container anyway.

Handlers, with Kubernetes' rules:

* ``exec``: the command runs in the container (``runtime.exec_sync``); a non-zero exit is a failure.
* ``httpGet``: as a probe's (host defaults to the pod IP, named ports, headers, same-host redirects), with
  ``User-Agent: kube-lifecycle/1.32``; only a transport error fails it -- the status code is not looked at. An
  HTTPS hook answered in plain HTTP is retried over HTTP (``LifecycleHTTPFallback`` event), as Kubernetes does.
* ``sleep``: waits ``sleep.seconds``; cut short by ``timeout``, it fails ("container terminated before sleep hook
  finished").
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

from kubelet.http_get import (
    HTTP_RESPONSE_TO_HTTPS,
    USER_AGENT_LIFECYCLE,
    ActionError,
    HttpGetError,
    HttpRequest,
    build_request,
    http_get,
)
from kubelet.probes import exec_in_container
from kubelet.runtime.interface import Runtime, RuntimeError_

REASON_FAILED_POST_START = "FailedPostStartHook"  # event reason and container kill reason
REASON_FAILED_PRE_STOP = "FailedPreStopHook"  # event reason
REASON_HTTP_FALLBACK = "LifecycleHTTPFallback"  # event reason

RecordEvent = Callable[[Mapping[str, Any], str, str, str], None]


async def run_hook(handler: Mapping[str, Any], *, kind: str, pod: Mapping[str, Any], container: Mapping[str, Any],
                   container_id: str, pod_ip: str, runtime: Runtime, timeout: float,
                   record_event: RecordEvent | None = None,
                   sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> str | None:
    """Run ``handler`` (``kind`` is postStart | preStop) for at most ``timeout`` seconds.

    Returns None on success, else the message Kubernetes shows for the failure. ``record_event(pod, type, reason,
    message)`` is only used for the HTTP fallback warning; ``sleep`` is injectable for tests."""
    where = f'for Container "{container.get("name", "")}" in Pod "{_pod_ref(pod)}"'
    if "exec" in handler:
        command = [str(part) for part in handler["exec"].get("command") or []]
        error, output = await _run_exec(runtime, container_id, command, timeout)
        if error is None:
            return None
        message = json.dumps(output, ensure_ascii=False)
        return f"Exec lifecycle hook ({_go_list(command)}) {where} failed - error: {error}, message: {message}"
    if "httpGet" in handler:
        error = await _run_http(handler["httpGet"], pod, container, pod_ip, timeout, record_event)
        if error is None:
            return None
        return f"HTTP lifecycle hook ({handler['httpGet'].get('path', '')}) {where} failed - error: {error}"
    if "sleep" in handler:
        seconds = int(handler["sleep"].get("seconds") or 0)
        if seconds <= timeout:
            await sleep(seconds)
            return None
        await sleep(timeout)
        error = "container terminated before sleep hook finished"
        return f"Sleep lifecycle hook ({seconds}) {where} failed - error: {error}"
    return f"Cannot run handler: invalid handler: {dict(handler)}"


async def _run_exec(runtime: Runtime, container_id: str, command: list[str],
                    timeout: float) -> tuple[str | None, str]:
    """(error or None, output), with the kubelet's ``RunInContainer`` wording."""
    try:
        outcome = await exec_in_container(runtime, container_id, command, timeout)
    except RuntimeError_ as err:
        return str(err) or type(err).__name__, ""
    if outcome.exit_code is None:
        return outcome.output, ""
    if outcome.exit_code != 0:
        return f"command '{' '.join(command)}' exited with {outcome.exit_code}: {outcome.output}", outcome.output
    return None, outcome.output


async def _run_http(action: Mapping[str, Any], pod: Mapping[str, Any], container: Mapping[str, Any], pod_ip: str,
                    timeout: float, record_event: RecordEvent | None) -> str | None:
    """Kubernetes' ``runHTTPHandler``: the error, or None once any response arrived."""
    try:
        request = build_request(action, container, pod_ip, USER_AGENT_LIFECYCLE)
    except ActionError as err:
        return str(err)
    try:
        await http_get(request, timeout)
        return None
    except HttpGetError as err:
        if not (request.url.startswith("https://") and HTTP_RESPONSE_TO_HTTPS in str(err)):
            return str(err)
    return await _retry_over_http(request, pod, timeout, record_event)


async def _retry_over_http(request: HttpRequest, pod: Mapping[str, Any], timeout: float,
                           record_event: RecordEvent | None) -> str | None:
    headers = request.headers.copy()
    headers.popall("Authorization", None)
    plain = replace(request, url="http://" + request.url.removeprefix("https://"), headers=headers)
    try:
        await http_get(plain, timeout)
    except HttpGetError as err:
        return str(err)
    if record_event is not None:
        host = plain.url.removeprefix("http://").split("/", 1)[0]
        record_event(pod, "Warning", REASON_HTTP_FALLBACK,
                     f"request to HTTPS lifecycle hook {host} got HTTP response, retry with HTTP succeeded")
    return None


def _pod_ref(pod: Mapping[str, Any]) -> str:
    """Kubernetes' ``format.Pod``: ``name_namespace(uid)``."""
    meta = pod.get("metadata") or {}
    return f"{meta.get('name', '')}_{meta.get('namespace', 'default')}({meta.get('uid', '')})"


def _go_list(items: list[str]) -> str:
    """Go's ``%v`` of a []string: ``[sh -c exit 1]``."""
    return "[" + " ".join(items) + "]"
