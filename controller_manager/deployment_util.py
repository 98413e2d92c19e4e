"""The Deployment controller's arithmetic, pure (Kubernetes' pkg/controller/deployment/util/deployment_util.go).

* ``compute_hash``: the ``pod-template-hash`` label of a template (+ collisionCount). Kubernetes hashes the Go
  struct with fnv32a over a spew dump (DeepHashObject), which cannot be reproduced outside Go; kubeling hashes the
  template's canonical JSON (sorted keys, no spaces) with fnv32a, then adds the collision count and renders the
  number exactly as Kubernetes does (``SafeEncodeString`` of its decimal string). Names therefore look like
  Kubernetes' (``web-7b9f4c6d8``) but differ in value.
* ``resolve_fenceposts`` / ``max_surge`` / ``max_unavailable``: maxSurge rounds percentages up, maxUnavailable
  down; both 0 after rounding -> maxUnavailable 1.
* finding the new ReplicaSet (template equal to the Deployment's, ignoring the hash label) and the old ones;
* replica sums, ``new_rs_new_replicas`` (how far the new ReplicaSet may scale up now), and the proportional-scaling
  helpers ``get_proportion`` / ``find_active_or_latest`` / ``is_saturated``.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from controller_manager.podutil import parse_time

Object = dict[str, Any]
HASH_LABEL = "pod-template-hash"  # apps/v1 DefaultDeploymentUniqueLabelKey
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand: no vowels, no 0/1/3


# -- the pod-template-hash -----------------------------------------------------------------------


def fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def safe_encode_string(text: str) -> str:
    """rand.SafeEncodeString: each byte mapped onto consonants and digits that spell no words."""
    return "".join(_ALPHANUMS[b % len(_ALPHANUMS)] for b in text.encode())


def compute_hash(template: Mapping[str, Any], collision_count: int | None = None) -> str:
    """controller.ComputeHash over the template's canonical JSON (see the module docstring)."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count is not None:
        data += (collision_count & 0xFFFFFFFF).to_bytes(4, "little") + bytes(4)  # Go writes an 8-byte buffer
    return safe_encode_string(str(fnv32a(data)))


def _semantic(value: Any) -> Any:
    """Empty maps and lists equal absent ones (apiequality.Semantic.DeepEqual)."""
    if isinstance(value, dict):
        return {k: _semantic(v) for k, v in value.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_semantic(v) for v in value]
    return value


def without_hash_label(template: Mapping[str, Any]) -> Object:
    stripped = copy.deepcopy(dict(template))
    labels = (stripped.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    return stripped


def equal_ignore_hash(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return _semantic(without_hash_label(a)) == _semantic(without_hash_label(b))


# -- maxSurge / maxUnavailable ---------------------------------------------------------------------


def scaled_value(value: int | str | None, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    if not value.endswith("%"):
        raise ValueError(f"invalid value for IntOrString: invalid type: string is not a percentage: {value!r}")
    percent = int(value[:-1])
    exact = percent * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def resolve_fenceposts(max_surge: int | str | None, max_unavailable: int | str | None,
                       desired: int) -> tuple[int, int]:
    surge = scaled_value(max_surge, desired, True)
    unavailable = scaled_value(max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1  # rounding made both zero: allow one unavailable rather than deadlock
    return surge, unavailable


def replicas(obj: Mapping[str, Any]) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def is_rolling_update(d: Mapping[str, Any]) -> bool:
    return ((d.get("spec") or {}).get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"


def _rolling(d: Mapping[str, Any]) -> Mapping[str, Any]:
    return ((d.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}


def max_surge(d: Mapping[str, Any]) -> int:
    if not is_rolling_update(d):
        return 0
    return resolve_fenceposts(_rolling(d).get("maxSurge"), _rolling(d).get("maxUnavailable"), replicas(d))[0]


def max_unavailable(d: Mapping[str, Any]) -> int:
    if not is_rolling_update(d) or replicas(d) == 0:
        return 0
    unavailable = resolve_fenceposts(_rolling(d).get("maxSurge"), _rolling(d).get("maxUnavailable"), replicas(d))[1]
    return min(unavailable, replicas(d))


# -- ReplicaSet lists ------------------------------------------------------------------------------


def status_int(obj: Mapping[str, Any] | None, field: str) -> int:
    return int(((obj or {}).get("status") or {}).get(field) or 0)


def sum_spec_replicas(rss: Iterable[Mapping[str, Any] | None]) -> int:
    return sum(replicas(rs) for rs in rss if rs is not None)


def sum_status(rss: Iterable[Mapping[str, Any] | None], field: str) -> int:
    return sum(status_int(rs, field) for rs in rss if rs is not None)


def _created(rs: Mapping[str, Any]) -> tuple[float, str]:
    meta = rs.get("metadata") or {}
    return parse_time(meta.get("creationTimestamp")) or 0.0, str(meta.get("name", ""))


def by_creation(rss: Iterable[Object]) -> list[Object]:
    """Oldest first (controller.ReplicaSetsByCreationTimestamp, ties by name)."""
    return sorted(rss, key=_created)


def active(rss: Iterable[Object | None]) -> list[Object]:
    """FilterActiveReplicaSets: the ones with spec.replicas > 0."""
    return [rs for rs in rss if rs is not None and replicas(rs) > 0]


def find_new_replica_set(d: Mapping[str, Any], rss: Iterable[Object]) -> Object | None:
    """The oldest ReplicaSet whose template equals the Deployment's, ignoring the hash label."""
    template = (d.get("spec") or {}).get("template") or {}
    for rs in by_creation(rss):
        if equal_ignore_hash((rs.get("spec") or {}).get("template") or {}, template):
            return rs
    return None


def find_old_replica_sets(d: Mapping[str, Any], rss: list[Object]) -> list[Object]:
    new = find_new_replica_set(d, rss)
    new_uid = new["metadata"]["uid"] if new is not None else None
    return [rs for rs in rss if rs["metadata"].get("uid") != new_uid]


def revision(obj: Mapping[str, Any]) -> int:
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION, "")
    try:
        return int(text)
    except ValueError:
        return 0


def max_revision(rss: Iterable[Object]) -> int:
    return max((revision(rs) for rs in rss), default=0)


def pods_upper_bound(rss: Iterable[Mapping[str, Any] | None]) -> int:
    """Pods that may exist: a ReplicaSet just scaled down still has status.replicas pods until its controller acts."""
    return sum(max(replicas(rs), status_int(rs, "replicas")) for rs in rss if rs is not None)


def available_lower_bound(rss: Iterable[Mapping[str, Any] | None]) -> int:
    """Available pods that will remain: a ReplicaSet scaled below its available count will delete the surplus."""
    return sum(min(replicas(rs), status_int(rs, "availableReplicas")) for rs in rss if rs is not None)


def new_rs_new_replicas(d: Mapping[str, Any], all_rss: list[Object | None], new_rs: Mapping[str, Any],
                        current: int | None = None) -> int:
    """How many replicas the new ReplicaSet may have now: up to replicas + maxSurge pods in total.

    ``current`` is the pod count to hold against that bound (Kubernetes: the sum of spec.replicas).
    """
    if not is_rolling_update(d):
        return replicas(d)
    current = sum_spec_replicas(all_rss) if current is None else current
    max_total = replicas(d) + max_surge(d)
    if current >= max_total:
        return replicas(new_rs)
    scale_up = min(max_total - current, replicas(d) - replicas(new_rs))
    return replicas(new_rs) + scale_up


# -- proportional scaling --------------------------------------------------------------------------


def annotation_int(obj: Mapping[str, Any], key: str) -> int | None:
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(key)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def find_active_or_latest(new_rs: Object | None, old_rss: list[Object]) -> Object | None:
    """The one ReplicaSet with replicas, or (none has any) the newest; None when several are active."""
    if new_rs is None and not old_rss:
        return None
    newest_first = list(reversed(by_creation(old_rss)))
    actives = active([*newest_first, new_rs])
    if not actives:
        return new_rs if new_rs is not None else newest_first[0]
    return actives[0] if len(actives) == 1 else None


def is_saturated(d: Mapping[str, Any], rs: Mapping[str, Any] | None) -> bool:
    if rs is None:
        return False
    want = replicas(d)
    return (annotation_int(rs, DESIRED_REPLICAS) == want and replicas(rs) == want
            and status_int(rs, "availableReplicas") == want)


def go_round(value: float) -> int:
    """math.Round: halves away from zero."""
    return math.floor(abs(value) + 0.5) * (1 if value >= 0 else -1)


def replica_set_fraction(rs: Mapping[str, Any], d: Mapping[str, Any]) -> int:
    """How many replicas ``rs`` gains (or loses) if the Deployment's new size is shared in proportion."""
    if replicas(d) == 0:
        return -replicas(rs)
    deployment_replicas = replicas(d) + max_surge(d)
    annotated = annotation_int(rs, MAX_REPLICAS)
    if annotated is None:
        annotated = status_int(d, "replicas")
    if annotated == 0:
        return 0
    return go_round(replicas(rs) * deployment_replicas / annotated) - replicas(rs)


def get_proportion(rs: Mapping[str, Any] | None, d: Mapping[str, Any], to_add: int, added: int) -> int:
    if rs is None or replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = replica_set_fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def compute_proportional_sizes(d: Mapping[str, Any], rss: list[Object]) -> list[tuple[Object, int]]:
    """The new size of every active ReplicaSet when a scaled Deployment has several (DeploymentController.scale).

    The replicas to add (or remove) are shared in proportion to each ReplicaSet's size against the size recorded
    in its max-replicas annotation; largest first (newer first when scaling up, older first when scaling down);
    the rounding leftover goes to the first.
    """
    allowed = replicas(d) + max_surge(d) if replicas(d) > 0 else 0
    to_add = allowed - sum_spec_replicas(rss)
    newer_first = to_add > 0
    ordered = sorted(rss, key=lambda rs: _created(rs)[0], reverse=newer_first)
    ordered = sorted(ordered, key=replicas, reverse=True)
    sizes: list[tuple[Object, int]] = []
    added = 0
    for rs in ordered:
        proportion = get_proportion(rs, d, to_add, added) if to_add != 0 else 0
        sizes.append((rs, replicas(rs) + proportion))
        added += proportion
    if sizes and to_add != 0:
        first, size = sizes[0]
        sizes[0] = (first, max(0, size + to_add - added))
    return sizes
