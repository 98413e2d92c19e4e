"""A container's environment, as the kubelet computes it before creating the container.

Modelled on Kubernetes' ``makeEnvironmentVariables`` (``pkg/kubelet/kubelet_pods.go``), the ``$(VAR)`` expansion of
``third_party/forked/golang/expansion`` and the downward API helpers (``pkg/fieldpath``, ``pkg/api/v1/resource``).

The environment is built in four layers, later layers overriding earlier ones (a Python dict keeps the position of
the first definition, so the order is stable and easy to read):

1. the service variables (``KUBERNETES_SERVICE_HOST`` ... and, with ``enableServiceLinks``, every service of the
   namespace) -- :func:`service_env_vars` computes them, the caller passes them in;
2. ``envFrom``, in order: every key of a ConfigMap (``data``) or Secret (base64 ``data``), with an optional prefix;
   a key that is not a valid variable name is skipped and reported, as Kubernetes does;
3. ``env``, in order: a ``value`` has its ``$(VAR)`` references expanded against everything defined so far; a
   ``valueFrom`` reads a ConfigMap or Secret key, a pod field (``fieldRef``) or a resource (``resourceFieldRef``).

Everything here is pure: the caller fetches the ConfigMaps and Secrets the pod references (:func:`referenced_objects`
says which) and passes them in, ``None`` for one that does not exist. A missing non-optional source raises
:class:`ContainerConfigError` with Kubernetes' message; the caller sets the status reason
``CreateContainerConfigError``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from apimachinery.names import is_env_var_name, is_qualified_name
from apimachinery.quantity import Quantity

Objects = Mapping[str, Mapping[str, Any] | None]  # object name -> object, None: it does not exist
MASTER_SERVICES = frozenset({"kubernetes"})  # always exported, from the "default" namespace
# Resources whose limit falls back to the node's allocatable amount when the container sets none.
_ALLOCATABLE_FALLBACK = ("cpu", "memory", "ephemeral-storage")


class ContainerConfigError(Exception):
    """The container cannot be configured (status reason ``CreateContainerConfigError``); ``str`` is the message."""


# -- $(VAR) expansion: third_party/forked/golang/expansion/expand.go --------------------------------------------------


def expand(text: str, lookup: Mapping[str, str] | Callable[[str], str]) -> str:
    """Kubernetes' ``expansion.Expand`` with ``MappingFuncFor(lookup)``.

    ``$(NAME)`` becomes the value of ``NAME``; an unknown name stays ``$(NAME)`` verbatim; ``$$`` is an escaped
    ``$`` (so ``$$(NAME)`` gives ``$(NAME)``); a ``$`` followed by anything else, or an unclosed ``$(``, is kept.
    ``lookup`` may also be a function from name to value (Kubernetes' "mapping function").
    """
    mapping = lookup if callable(lookup) else _mapping_func(lookup)
    out: list[str] = []
    checkpoint = cursor = 0
    while cursor < len(text):
        if text[cursor] == "$" and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            read, is_var, advance = _read_variable_name(text[cursor + 1 :])
            out.append(mapping(read) if is_var else read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    out.append(text[checkpoint:])
    return "".join(out)


def _mapping_func(values: Mapping[str, str]) -> Callable[[str], str]:
    """``MappingFuncFor``: the value of a known name, the reference itself for an unknown one."""
    return lambda name: values.get(name, f"$({name})")


def _read_variable_name(rest: str) -> tuple[str, bool, int]:
    """``tryReadVariableName``: (text read, whether it is a variable name, characters consumed after the ``$``)."""
    if rest[0] == "$":
        return "$", False, 1
    if rest[0] == "(":
        closer = rest.find(")", 1)
        if closer != -1:
            return rest[1:closer], True, closer + 1
        return "$(", False, 1
    return "$" + rest[0], False, 1


def expand_command(args: Iterable[str], env: Iterable[tuple[str, str]]) -> list[str]:
    """``ExpandContainerCommandAndArgs``: expand ``$(VAR)`` in each element of a command or args list."""
    lookup = dict(env)
    return [expand(arg, lookup) for arg in args]


def expand_subpath(expr: str, env: Iterable[tuple[str, str]]) -> str:
    """``ExpandContainerVolumeMounts``: expand a ``subPathExpr``; an unknown or empty variable is an error."""
    values = dict(env)
    missing: set[str] = set()

    def mapping(name: str) -> str:
        if not values.get(name):
            missing.add(name)
        return values.get(name, "")

    expanded = expand(expr, mapping)
    if missing:
        raise ContainerConfigError(f"missing value for {', '.join(sorted(missing))}")
    return expanded


# -- The environment --------------------------------------------------------------------------------------------------


def compute_container_env(
    container: Mapping[str, Any],
    pod: Mapping[str, Any],
    *,
    config_maps: Objects,
    secrets: Objects,
    pod_ip: str,
    pod_ips: list[str],
    host_ip: str,
    node_name: str,
    service_env: Mapping[str, str] | None = None,
    node_allocatable: Mapping[str, Any] | None = None,
    host_ips: list[str] | None = None,
    warnings: list[str] | None = None,
) -> tuple[tuple[str, str], ...]:
    """The ``(name, value)`` pairs of ``container``'s environment (see the module docstring for the rules).

    ``config_maps`` / ``secrets`` map an object name in the pod's namespace to the object, or ``None`` when it does
    not exist (a name absent from the mapping counts as not existing). ``warnings`` collects the text of the
    ``InvalidEnvironmentVariableNames`` events Kubernetes would record. Raises :class:`ContainerConfigError`.
    """
    ips = list(pod_ips) or ([pod_ip] if pod_ip else [])
    node = NodeFacts(ips[0] if ips else pod_ip, ips, host_ip, list(host_ips or [host_ip]), node_name)
    ctx = _Context(pod, container, config_maps, secrets, node, node_allocatable or {}, warnings)
    env: dict[str, str] = dict(service_env or {})
    for source in container.get("envFrom") or []:
        _add_env_from(env, source, ctx)
    for var in container.get("env") or []:
        value = _env_value(var, env, ctx)
        if value is not None:
            env[var["name"]] = value
    return tuple(env.items())


@dataclass(frozen=True)
class NodeFacts:
    """What the kubelet knows that the pod object may not say yet: addresses and the node name."""

    pod_ip: str
    pod_ips: list[str]
    host_ip: str
    host_ips: list[str]
    node_name: str


@dataclass(frozen=True)
class _Context:
    """Everything one environment is computed from."""

    pod: Mapping[str, Any]
    container: Mapping[str, Any]
    config_maps: Objects
    secrets: Objects
    node: NodeFacts
    allocatable: Mapping[str, Any]
    warnings: list[str] | None

    @property
    def namespace(self) -> str:
        return str((self.pod.get("metadata") or {}).get("namespace") or "default")


def _add_env_from(env: dict[str, str], source: Mapping[str, Any], ctx: _Context) -> None:
    """One ``envFrom`` entry: copy every key of the ConfigMap or Secret, prefixed, skipping invalid names."""
    if source.get("configMapRef") is not None:
        ref, kind = source["configMapRef"], "configMap"
        obj = _get_object(ctx.config_maps, ref, kind)
        values = config_map_data(obj or {})
    elif source.get("secretRef") is not None:
        ref, kind = source["secretRef"], "secret"
        obj = _get_object(ctx.secrets, ref, kind)
        values = {k: v.decode(errors="replace") for k, v in secret_data(obj or {}).items()}
    else:
        return
    prefix = str(source.get("prefix") or "")
    invalid = sorted(prefix + key for key in values if is_env_var_name(prefix + key))
    env.update((prefix + key, value) for key, value in values.items() if prefix + key not in invalid)
    if invalid and ctx.warnings is not None:
        ctx.warnings.append(f"Keys [{', '.join(invalid)}] from the EnvFrom {kind} {ctx.namespace}/{ref.get('name')} "
                            "were skipped since they are considered invalid environment variable names.")


def _get_object(objects: Objects, ref: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    """The referenced object; ``None`` if it is missing and optional; raises if it is missing and required."""
    name = str(ref.get("name") or "")
    obj = objects.get(name)
    if obj is None and not ref.get("optional"):
        raise ContainerConfigError(f'{kind.lower()} "{name}" not found')
    return obj


def config_map_data(config_map: Mapping[str, Any]) -> dict[str, str]:
    """A ConfigMap's string ``data`` (``binaryData`` is not usable as environment)."""
    return {str(k): str(v) for k, v in (config_map.get("data") or {}).items()}


def secret_data(secret: Mapping[str, Any]) -> dict[str, bytes]:
    """A Secret's ``data``, base64-decoded. ``stringData`` is write-only: the apiserver merges it into ``data``."""
    decoded = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            decoded[str(key)] = base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError) as err:
            name = (secret.get("metadata") or {}).get("name")
            raise ContainerConfigError(f"secret {name!r} key {key}: illegal base64 data: {err}") from err
    return decoded


def _env_value(var: Mapping[str, Any], env: Mapping[str, str], ctx: _Context) -> str | None:
    """The value of one ``env`` entry; ``None`` when an optional source is missing (the variable is skipped)."""
    value = str(var.get("value") or "")
    source = var.get("valueFrom")
    if value or not source:
        return expand(value, env)
    if source.get("fieldRef") is not None:
        return pod_field_value(str(source["fieldRef"].get("fieldPath") or ""), ctx.pod, ctx.node)
    if source.get("resourceFieldRef") is not None:
        return resource_field_value(source["resourceFieldRef"], ctx.pod, ctx.container, ctx.allocatable)
    if source.get("configMapKeyRef") is not None:
        ref = source["configMapKeyRef"]
        config_map = _get_object(ctx.config_maps, ref, "ConfigMap")
        return None if config_map is None else _key_value(ref, "ConfigMap", ctx, config_map_data(config_map))
    if source.get("secretKeyRef") is not None:
        ref = source["secretKeyRef"]
        secret = _get_object(ctx.secrets, ref, "Secret")
        if secret is None:
            return None
        return _key_value(ref, "Secret", ctx, {k: v.decode(errors="replace") for k, v in secret_data(secret).items()})
    return ""


def _key_value(ref: Mapping[str, Any], kind: str, ctx: _Context, values: Mapping[str, str]) -> str | None:
    """``configMapKeyRef`` / ``secretKeyRef``: one key of the object's values (``None``: optional and absent)."""
    key = str(ref.get("key") or "")
    if key in values:
        return values[key]
    if ref.get("optional"):
        return None
    raise ContainerConfigError(f"couldn't find key {key} in {kind} {ctx.namespace}/{ref.get('name')}")


# -- The downward API: fieldRef and resourceFieldRef ------------------------------------------------------------------


def pod_field_value(field_path: str, pod: Mapping[str, Any], node: NodeFacts | None = None) -> str:
    """``podFieldSelectorRuntimeValue`` (env) and ``fieldpath.ExtractFieldPathAsString`` (volumes, node=None)."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    if node is not None:
        runtime_fields = {
            "spec.nodeName": str(spec.get("nodeName") or node.node_name),
            "spec.serviceAccountName": str(spec.get("serviceAccountName") or ""),
            "status.hostIP": node.host_ip or str(status.get("hostIP") or ""),
            "status.hostIPs": ",".join(node.host_ips),
            "status.podIP": node.pod_ip,
            "status.podIPs": ",".join(node.pod_ips),
        }
        if field_path in runtime_fields:
            return runtime_fields[field_path]
    return _metadata_field(field_path, pod.get("metadata") or {})


def _metadata_field(field_path: str, meta: Mapping[str, Any]) -> str:
    if field_path.endswith("']") and "['" in field_path:
        path, subscript = field_path[:-2].split("['", 1)
        if path not in ("metadata.labels", "metadata.annotations"):
            raise ContainerConfigError(f'fieldPath "{field_path}" does not support subscript')
        checked = subscript.lower() if path == "metadata.annotations" else subscript
        errors = is_qualified_name(checked)
        if errors:
            raise ContainerConfigError(f"invalid key subscript in {field_path}: {';'.join(errors)}")
        return str((meta.get(path.split(".")[1]) or {}).get(subscript, ""))
    if field_path in ("metadata.labels", "metadata.annotations"):
        return format_map(meta.get(field_path.split(".")[1]) or {})
    if field_path in ("metadata.name", "metadata.namespace", "metadata.uid"):
        return str(meta.get(field_path.split(".")[1]) or "")
    raise ContainerConfigError(f"unsupported fieldPath: {field_path}")


def format_map(values: Mapping[str, Any]) -> str:
    """``fieldpath.FormatMap``: ``key="value"`` lines sorted by key, values quoted as Go's ``%q`` does."""
    return "\n".join(f"{key}={go_quote(str(values[key]))}" for key in sorted(values))


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
               "\\": "\\\\", '"': '\\"'}


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote``: printable characters kept, the rest escaped (``\\n``, ``\\x00``, ``\\u00a0``)."""
    out = []
    for char in text:
        if char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def resource_field_value(
    ref: Mapping[str, Any],
    pod: Mapping[str, Any],
    container: Mapping[str, Any] | None,
    node_allocatable: Mapping[str, Any] | None = None,
) -> str:
    """``containerResourceRuntimeValue``: a container's limit or request divided by ``divisor``, rounded up.

    ``containerName`` picks another container of the pod (required in volumes). An unset limit falls back to the
    node's allocatable amount (``defaultPodLimitsForDownwardAPI``); an unset request falls back to the limit
    written in the spec (the apiserver's defaulting), else 0. CPU is compared in millicores, the rest in units.
    """
    name = ref.get("containerName")
    if name:
        container = _find_container(pod, str(name))
    if container is None:
        raise ContainerConfigError("resourceFieldRef needs a containerName")
    resource = str(ref.get("resource") or "")
    kind, _, resource_name = resource.partition(".")
    if kind not in ("limits", "requests") or resource_name not in _ALLOCATABLE_FALLBACK:
        raise ContainerConfigError(f"unsupported container resource : {resource}")
    amount = _container_resource(container, kind, resource_name, node_allocatable or {})
    divisor = Quantity.parse(ref.get("divisor") or "1")
    if divisor.is_zero():
        divisor = Quantity.parse("1")
    if resource_name == "cpu":
        return str(_ceil_div(amount.milli_value(), divisor.milli_value()))
    return str(_ceil_div(amount.value(), divisor.value()))


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _find_container(pod: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    spec = pod.get("spec") or {}
    for container in list(spec.get("containers") or []) + list(spec.get("initContainers") or []):
        if container.get("name") == name:
            return container
    raise ContainerConfigError(f"container {name} not found")


def _container_resource(
    container: Mapping[str, Any], kind: str, resource_name: str, node_allocatable: Mapping[str, Any]
) -> Quantity:
    resources = container.get("resources") or {}
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    if kind == "requests":
        value = requests.get(resource_name, limits.get(resource_name, "0"))
    else:
        value = limits.get(resource_name, node_allocatable.get(resource_name, "0"))
    return Quantity.parse(value)


# -- What to fetch, and the service variables -------------------------------------------------------------------------


def referenced_objects(pod: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    """(ConfigMap names, Secret names) the pod uses: env, envFrom, volumes (incl. projected), imagePullSecrets."""
    spec = pod.get("spec") or {}
    config_maps: set[str] = set()
    secrets: set[str] = {str(ref.get("name")) for ref in spec.get("imagePullSecrets") or [] if ref.get("name")}
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or []),
                  *(spec.get("ephemeralContainers") or [])]
    for container in containers:
        for source in container.get("envFrom") or []:
            _add_name(config_maps, source.get("configMapRef"))
            _add_name(secrets, source.get("secretRef"))
        for var in container.get("env") or []:
            value_from = var.get("valueFrom") or {}
            _add_name(config_maps, value_from.get("configMapKeyRef"))
            _add_name(secrets, value_from.get("secretKeyRef"))
    for volume in spec.get("volumes") or []:
        _add_name(config_maps, volume.get("configMap"))
        _add_name(secrets, volume.get("secret"), key="secretName")
        for source in (volume.get("projected") or {}).get("sources") or []:
            _add_name(config_maps, source.get("configMap"))
            _add_name(secrets, source.get("secret"))
    return config_maps, secrets


def _add_name(names: set[str], ref: Mapping[str, Any] | None, key: str = "name") -> None:
    if ref and ref.get(key):
        names.add(str(ref[key]))


def service_env_vars(
    services: Iterable[Mapping[str, Any]], namespace: str, enable_service_links: bool = True
) -> dict[str, str]:
    """``getServiceEnvVarMap`` + ``envvars.FromServices``: the Docker-link style variables of services.

    The ``kubernetes`` service of the ``default`` namespace is always exported; the other services of the pod's
    namespace only with ``enableServiceLinks`` (default true). Services without a cluster IP are skipped.
    """
    chosen: dict[str, Mapping[str, Any]] = {}
    for service in services:
        meta, spec = service.get("metadata") or {}, service.get("spec") or {}
        if spec.get("clusterIP") in (None, "", "None"):
            continue
        name, svc_namespace = str(meta.get("name")), str(meta.get("namespace") or "default")
        if svc_namespace == "default" and name in MASTER_SERVICES:
            chosen.setdefault(name, service)
        elif svc_namespace == namespace and enable_service_links:
            chosen[name] = service
    env: dict[str, str] = {}
    for name in sorted(chosen):
        env.update(_service_vars(chosen[name]))
    return env


def _service_vars(service: Mapping[str, Any]) -> dict[str, str]:
    prefix = str(service["metadata"]["name"]).upper().replace("-", "_")
    spec = service["spec"]
    ip, ports = str(spec["clusterIP"]), list(spec.get("ports") or [])
    env = {f"{prefix}_SERVICE_HOST": ip}
    host = f"[{ip}]" if ":" in ip else ip
    for index, port in enumerate(ports):
        number = int(port["port"])
        if index == 0:
            env[f"{prefix}_SERVICE_PORT"] = str(number)
        if port.get("name"):
            env[f"{prefix}_SERVICE_PORT_{str(port['name']).upper().replace('-', '_')}"] = str(number)
    for index, port in enumerate(ports):
        number, proto = int(port["port"]), str(port.get("protocol") or "TCP")
        url = f"{proto.lower()}://{host}:{number}"
        if index == 0:
            env[f"{prefix}_PORT"] = url
        base = f"{prefix}_PORT_{number}_{proto.upper()}"
        env.update({base: url, f"{base}_PROTO": proto.lower(), f"{base}_PORT": str(number), f"{base}_ADDR": ip})
    return env
