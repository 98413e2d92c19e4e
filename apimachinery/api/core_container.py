"""Containers of a pod spec: defaulting (SetDefaults_Container & co.) and validateContainerCommon.

Defaults: imagePullPolicy (Always for `:latest` or no tag, unless pinned by digest; else
IfNotPresent), terminationMessagePath/Policy, ports[].protocol TCP, `resources: {}`, probe timings
and httpGet path/scheme. Validation: names, image, ports, env/envFrom, volume mounts, resources
(valid quantities, requests ≤ limits), pull policy and probe/lifecycle handlers.
"""

from __future__ import annotations

import re
from typing import Any

from apimachinery.api import core_resources
from apimachinery.api.common import (
    Object,
    duplicate,
    ensure,
    entries,
    forbidden,
    from_messages,
    invalid,
    non_negative,
    not_supported,
    number,
    one_of,
    port_name_errors,
    port_num_or_name,
    protocol,
    required,
    sub,
    text,
    valid_port,
)
from apimachinery.api.core_volume import default_field_ref, validate_volume_mounts
from apimachinery.errors import FieldError
from apimachinery.names import is_config_map_key, is_dns1123_label, is_dns1123_subdomain, is_env_var_name

PULL_POLICIES = ("Always", "IfNotPresent", "Never")
MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
HTTP_SCHEMES = ("HTTP", "HTTPS")
ENV_FIELD_PATHS = ("metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
                   "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs")
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_PROBE_DEFAULTS = (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1), ("failureThreshold", 3))
_PROBE_FIELDS = ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold")
_SUBSCRIPTED = re.compile(r"^(metadata\.(?:labels|annotations))\['(.*)'\]$")
_DIGEST = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")


# -- defaulting -----------------------------------------------------------------------------


def image_tag(image: str) -> str | None:
    """The tag ParseImageName finds: "latest" when neither tag nor digest; None if unparseable."""
    name, _, digest = image.partition("@")
    if digest and not _DIGEST.match(digest):
        return None
    tag = ""
    last = name.rfind(":")
    if last > name.rfind("/"):
        name, tag = name[:last], name[last + 1:]
        if not _TAG.match(tag):
            return None
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]  # a registry host may hold upper case and a port
    if not name or not all(_PATH_COMPONENT.match(part) for part in parts):
        return None
    return tag or ("" if digest else "latest")


def default_pull_policy(image: Any) -> str:
    return "Always" if isinstance(image, str) and image_tag(image) == "latest" else "IfNotPresent"


def default_container(container: Object) -> None:
    container.setdefault("imagePullPolicy", default_pull_policy(container.get("image")))
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    resources = container.setdefault("resources", {})
    for key in ("limits", "requests"):
        core_resources.canonicalize(sub(resources, key))
    for _, port in entries(container, "ports"):
        port.setdefault("protocol", "TCP")
    for _, env in entries(container, "env"):
        default_field_ref(sub(env, "valueFrom"))
    for probe in PROBES:
        if isinstance(container.get(probe), dict):
            _default_probe(container[probe])
    lifecycle = sub(container, "lifecycle")
    for hook in ("postStart", "preStop"):
        _default_http_get(sub(lifecycle, hook))


def _default_probe(probe: Object) -> None:
    for key, value in _PROBE_DEFAULTS:
        if not probe.get(key):
            probe[key] = value
    _default_http_get(probe)


def _default_http_get(handler: Object) -> None:
    http_get = handler.get("httpGet")
    if isinstance(http_get, dict):
        if not http_get.get("path"):
            http_get["path"] = "/"
        if not http_get.get("scheme"):
            http_get["scheme"] = "HTTP"


def default_requests_from_limits(container: Object) -> None:
    """Pods only (not templates): a resource with a limit and no request requests its limit."""
    resources = ensure(container, "resources")
    limits = resources.get("limits")
    if isinstance(limits, dict) and limits:
        requests = ensure(resources, "requests")
        for name, value in limits.items():
            requests.setdefault(name, value)


# -- validation -----------------------------------------------------------------------------


def validate_container_common(container: Object, volumes: set[str], path: str) -> list[FieldError]:
    name = text(container.get("name"))
    found = [required(f"{path}.name")] if not name else from_messages(f"{path}.name", name,
                                                                        is_dns1123_label(name))
    image = text(container.get("image"))
    if not image:
        found.append(required(f"{path}.image"))
    elif image != image.strip():
        found.append(invalid(f"{path}.image", image, "must not have leading or trailing whitespace"))
    found += one_of(container.get("terminationMessagePolicy"), MESSAGE_POLICIES,
                     f"{path}.terminationMessagePolicy")
    found += validate_ports(container, f"{path}.ports")
    found += validate_env(container, f"{path}.env")
    found += validate_env_from(container, f"{path}.envFrom")
    found += validate_volume_mounts(container, volumes, f"{path}.volumeMounts")
    found += one_of(container.get("imagePullPolicy"), PULL_POLICIES, f"{path}.imagePullPolicy")
    found += core_resources.validate_requirements(sub(container, "resources"), f"{path}.resources")
    return found


def validate_ports(container: Object, path: str) -> list[FieldError]:
    found: list[FieldError] = []
    names: set[str] = set()
    for i, port in entries(container, "ports"):
        at = f"{path}[{i}]"
        name = text(port.get("name"))
        if name:
            messages = port_name_errors(name)
            if messages:
                found += from_messages(f"{at}.name", name, messages)
            elif name in names:
                found.append(duplicate(f"{at}.name", name))
            names.add(name)
        if not number(port.get("containerPort")):
            found.append(required(f"{at}.containerPort"))
        else:
            found += valid_port(port.get("containerPort"), f"{at}.containerPort")
        if number(port.get("hostPort")):
            found += valid_port(port.get("hostPort"), f"{at}.hostPort")
        found += protocol(port.get("protocol"), f"{at}.protocol")
    return found


def validate_env(container: Object, path: str) -> list[FieldError]:
    found: list[FieldError] = []
    for i, env in entries(container, "env"):
        at = f"{path}[{i}]"
        name = text(env.get("name"))
        if not name:
            found.append(required(f"{at}.name"))
        found += from_messages(f"{at}.name", name, is_env_var_name(name))
        found += _validate_value_from(env, f"{at}.valueFrom")
    return found


def _validate_value_from(env: Object, path: str) -> list[FieldError]:
    value_from = env.get("valueFrom")
    if not isinstance(value_from, dict):
        return []
    checks = {"fieldRef": _field_ref, "resourceFieldRef": _resource_field_ref,
              "configMapKeyRef": _key_ref, "secretKeyRef": _key_ref}
    found: list[FieldError] = []
    sources = 0
    for key, check in checks.items():
        if value_from.get(key) is not None:
            sources += 1
            found += check(sub(value_from, key), f"{path}.{key}")
    if sources == 0:
        found.append(invalid(path, "", "must specify one of: `fieldRef`, `resourceFieldRef`, "
                                       "`configMapKeyRef` or `secretKeyRef`"))
    elif text(env.get("value")):
        found.append(invalid(path, "", "may not be specified when `value` is not empty"))
    elif sources > 1:
        found.append(invalid(path, "", "may not have more than one field specified at a time"))
    return found


def _field_ref(ref: Object, path: str) -> list[FieldError]:
    if not text(ref.get("apiVersion")):
        return [required(f"{path}.apiVersion")]
    field_path = text(ref.get("fieldPath"))
    if not field_path:
        return [required(f"{path}.fieldPath")]
    if _SUBSCRIPTED.match(field_path) or field_path in ENV_FIELD_PATHS:
        return []
    return [not_supported(f"{path}.fieldPath", field_path, ENV_FIELD_PATHS)]


def _resource_field_ref(ref: Object, path: str) -> list[FieldError]:
    resource = text(ref.get("resource"))
    if not resource:
        return [required(f"{path}.resource")]
    supported = tuple(f"{kind}.{name}" for kind in ("limits", "requests")
                      for name in ("cpu", "ephemeral-storage", "memory"))
    if resource in supported or resource.startswith(("limits.hugepages-", "requests.hugepages-")):
        return []
    return [not_supported(f"{path}.resource", resource, sorted(supported))]


def _key_ref(ref: Object, path: str) -> list[FieldError]:
    name, key = text(ref.get("name")), text(ref.get("key"))
    found = from_messages(f"{path}.name", name, is_dns1123_subdomain(name))
    if not key:
        found.append(required(f"{path}.key"))
    else:
        found += from_messages(f"{path}.key", key, is_config_map_key(key))
    return found


def validate_env_from(container: Object, path: str) -> list[FieldError]:
    found: list[FieldError] = []
    for i, source in entries(container, "envFrom"):
        at = f"{path}[{i}]"
        prefix = text(source.get("prefix"))
        if prefix:
            found += from_messages(f"{at}.prefix", prefix, is_env_var_name(prefix))
        refs = [key for key in ("configMapRef", "secretRef") if source.get(key) is not None]
        for key in refs:
            name = text(sub(source, key).get("name"))
            found += [required(f"{at}.{key}.name")] if not name else from_messages(
                f"{at}.{key}.name", name, is_dns1123_subdomain(name))
        if not refs:
            found.append(invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"))
        elif len(refs) > 1:
            found.append(invalid(path, "", "may not have more than one field specified at a time"))
    return found


# -- probes and lifecycle hooks -------------------------------------------------------------


def validate_probes(container: Object, path: str) -> list[FieldError]:
    found: list[FieldError] = []
    for kind in PROBES:
        probe = container.get(kind)
        if not isinstance(probe, dict):
            continue
        at = f"{path}.{kind}"
        found += _validate_probe(probe, at)
        threshold = number(probe.get("successThreshold"))
        if kind != "readinessProbe" and threshold is not None and threshold != 1:
            found.append(invalid(f"{at}.successThreshold", threshold, "must be 1"))
    return found


def _validate_probe(probe: Object, path: str) -> list[FieldError]:
    found = validate_handler(probe, path, ("exec", "httpGet", "tcpSocket", "grpc"))
    for key in _PROBE_FIELDS:
        found += non_negative(probe.get(key), f"{path}.{key}")
    grace = number(probe.get("terminationGracePeriodSeconds"))
    if grace is not None and grace <= 0:
        found.append(invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than 0"))
    return found


def validate_lifecycle(container: Object, path: str) -> list[FieldError]:
    lifecycle = container.get("lifecycle")
    if not isinstance(lifecycle, dict):
        return []
    found: list[FieldError] = []
    for hook in ("postStart", "preStop"):
        if isinstance(lifecycle.get(hook), dict):
            found += validate_handler(lifecycle[hook], f"{path}.lifecycle.{hook}",
                                      ("exec", "httpGet", "tcpSocket", "sleep"))
    return found


def validate_handler(handler: Object, path: str, kinds: tuple[str, ...]) -> list[FieldError]:
    """Exactly one handler type (exec, httpGet, tcpSocket, grpc or sleep), each well formed."""
    present = [kind for kind in kinds if handler.get(kind) is not None]
    if not present:
        return [required(path, "must specify a handler type")]
    found = [forbidden(f"{path}.{extra}", "may not specify more than 1 handler type") for extra in present[1:]]
    kind = present[0]
    action, at = sub(handler, kind), f"{path}.{kind}"
    if kind == "exec" and not action.get("command"):
        found.append(required(f"{at}.command"))
    elif kind == "httpGet":
        found += [] if text(action.get("path")) else [required(f"{at}.path")]
        found += port_num_or_name(action.get("port", 0), f"{at}.port")
        scheme = action.get("scheme")
        if scheme not in HTTP_SCHEMES:
            found.append(not_supported(f"{at}.scheme", scheme, HTTP_SCHEMES))
    elif kind == "tcpSocket":
        found += port_num_or_name(action.get("port", 0), f"{at}.port")
    elif kind == "grpc":
        found += valid_port(action.get("port", 0), f"{at}.port")
    elif kind == "sleep":
        found += non_negative(action.get("seconds"), f"{at}.seconds")
    return found
