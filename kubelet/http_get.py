"""The ``httpGet`` action shared by probes and lifecycle hooks, plus the port and dial helpers of ``tcpSocket``.

Modelled on Kubernetes' ``pkg/probe/http`` (``NewRequestForHTTPGetAction``, ``RedirectChecker``, ``DoHTTPProbe``'s
10 KiB body limit) and ``pkg/probe/util.go`` (``ResolveContainerPort``). Errors are worded like Go's ``net/http``
so events read as they do on a real cluster, e.g.
``Get "http://10.0.0.5:8080/healthz": dial tcp 10.0.0.5:8080: connect: connection refused``.

What this module decides, and what it leaves to its callers:

* :func:`build_request` turns a Kubernetes ``HTTPGetAction`` into a URL and headers (host defaults to the pod IP,
  the port may be a number or the name of a container port, ``User-Agent`` and ``Accept`` get defaults).
* :func:`http_get` performs the GET: TLS certificates are not verified (as Kubernetes), redirects are followed
  only while they stay on the same host name (at most 10); a redirect elsewhere ends the chain and that 3xx
  response is returned. Transport failures raise :class:`HttpGetError`.
* Interpreting the status code is the caller's job: a probe fails on >= 400, a lifecycle hook never looks at it.
"""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from multidict import CIMultiDict

KUBE_VERSION = "1.32"
USER_AGENT_PROBE = f"kube-probe/{KUBE_VERSION}"
USER_AGENT_LIFECYCLE = f"kube-lifecycle/{KUBE_VERSION}"
MAX_BODY_BYTES = 10 * 1024  # Kubernetes' maxRespBodyLength
MAX_REDIRECTS = 10  # Go's default redirect limit, kept by Kubernetes' RedirectChecker
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
HTTP_RESPONSE_TO_HTTPS = "http: server gave HTTP response to HTTPS client"  # Go's wording


class ActionError(Exception):
    """The action cannot even be attempted (unknown named port, invalid port number). A probe reports it as an
    error (result unknown); a hook reports it as its failure."""


class HttpGetError(Exception):
    """The GET failed before a response arrived; ``str(err)`` is worded like Go's ``url.Error``."""


@dataclass(frozen=True)
class HttpRequest:
    url: str
    headers: CIMultiDict[str]


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: str  # the first 10 KiB, decoded leniently
    url: str  # the URL that gave this response (after the redirects that were followed)


def resolve_port(port: Any, container: Mapping[str, Any]) -> int:
    """Kubernetes' ``ResolveContainerPort``: a number, the name of one of the container's ports, or a number
    written as a string."""
    if isinstance(port, int) and not isinstance(port, bool):
        number = port
    else:
        number = _port_by_name(str(port), container)
    if 0 < number < 65536:
        return number
    raise ActionError(f"invalid port number: {number}")


def _port_by_name(name: str, container: Mapping[str, Any]) -> int:
    for declared in container.get("ports") or []:
        if declared.get("name") == name:
            return int(declared.get("containerPort") or 0)
    if name.isdigit():
        return int(name)
    raise ActionError(f"couldn't find port: {name} in container {container.get('name', '')!r}")


def join_host_port(host: str, port: int) -> str:
    """Go's ``net.JoinHostPort``: IPv6 addresses get brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def format_url(scheme: str, host: str, port: int, path: str) -> str:
    if path and not path.startswith("/"):
        path = "/" + path
    return f"{scheme}://{join_host_port(host, port)}{path}"


def build_request(action: Mapping[str, Any], container: Mapping[str, Any], pod_ip: str,
                  user_agent: str) -> HttpRequest:
    """Kubernetes' ``NewRequestForHTTPGetAction`` for an ``httpGet`` action of a probe or hook."""
    scheme = str(action.get("scheme") or "HTTP").lower()
    host = str(action.get("host") or pod_ip)
    port = resolve_port(action.get("port"), container)
    url = format_url(scheme, host, port, str(action.get("path") or ""))
    headers: CIMultiDict[str] = CIMultiDict()
    for header in action.get("httpHeaders") or []:
        headers.add(str(header.get("name", "")), str(header.get("value", "")))
    headers.setdefault("User-Agent", user_agent)
    headers.setdefault("Accept", "*/*")
    if not headers.get("Accept"):
        del headers["Accept"]  # an explicitly empty Accept removes the header
    return HttpRequest(url=url, headers=headers)


async def http_get(request: HttpRequest, timeout: float) -> HttpResponse:
    """GET ``request.url`` within ``timeout`` seconds (the whole redirect chain included)."""
    deadline = asyncio.get_running_loop().time() + timeout
    connector = aiohttp.TCPConnector(ssl=False, force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as session:
        url = request.url
        for _ in range(MAX_REDIRECTS + 1):
            response, location = await _get_once(session, url, request.headers, deadline)
            if location is None:
                return response
            target = urljoin(url, location)
            if urlsplit(target).hostname != urlsplit(request.url).hostname:
                return response  # Kubernetes: http.ErrUseLastResponse for a redirect to another host
            url = target
        raise HttpGetError(f'Get "{url}": stopped after {MAX_REDIRECTS} redirects')


async def _get_once(session: aiohttp.ClientSession, url: str, headers: CIMultiDict[str],
                    deadline: float) -> tuple[HttpResponse, str | None]:
    """One GET without following redirects: the response and, for a redirect, its Location."""
    try:
        async with asyncio.timeout_at(deadline):
            async with session.get(url, headers=headers, allow_redirects=False,
                                   skip_auto_headers=("Accept", "User-Agent")) as resp:
                body = await _read_at_most(resp.content, MAX_BODY_BYTES)
                location = resp.headers.get("Location") if resp.status in REDIRECT_STATUSES else None
                return HttpResponse(resp.status, body.decode("utf-8", "replace"), url), location
    except TimeoutError:
        raise HttpGetError(
            f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)') from None
    except aiohttp.ClientError as err:
        raise HttpGetError(f'Get "{url}": {_describe_client_error(err, url)}') from None


async def _read_at_most(stream: aiohttp.StreamReader, limit: int) -> bytes:
    data = b""
    while len(data) < limit:
        chunk = await stream.read(limit - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _describe_client_error(err: aiohttp.ClientError, url: str) -> str:
    parts = urlsplit(url)
    if isinstance(err, aiohttp.ClientConnectorDNSError):
        return f"dial tcp: lookup {parts.hostname}: no such host"
    if isinstance(err, aiohttp.ClientSSLError):
        return HTTP_RESPONSE_TO_HTTPS if "WRONG_VERSION_NUMBER" in str(err) else f"tls: {err}"
    if isinstance(err, aiohttp.ClientConnectorError):
        host_port = join_host_port(str(parts.hostname), parts.port or (443 if parts.scheme == "https" else 80))
        return dial_error(host_port, err.os_error)
    if isinstance(err, aiohttp.ServerDisconnectedError):
        return "EOF"
    return str(err) or type(err).__name__


def dial_error(host_port: str, err: OSError) -> str:
    """Go's ``net.OpError`` text for a failed TCP connect, e.g. ``dial tcp 10.0.0.5:80: connect: connection
    refused``."""
    if err.errno is not None and err.errno in errno.errorcode:
        reason = os.strerror(err.errno).lower()
    else:
        reason = str(err) or type(err).__name__
    return f"dial tcp {host_port}: connect: {reason}"
