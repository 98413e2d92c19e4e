"""Indexed Jobs: completion indexes, and `status.completedIndexes` as ranges ("0-2,4").

A Job with ``completionMode: Indexed`` wants exactly one succeeded pod per index ``0..completions-1``. Each pod it
creates carries its index in the ``batch.kubernetes.io/job-completion-index`` annotation and label, its hostname is
``<job>-<index>``, and every container gets ``JOB_COMPLETION_INDEX`` from the annotation through the downward API
(Kubernetes' pkg/controller/job/indexed_job_utils.go). All pure functions.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
Object = dict[str, Any]


def completion_index(pod: Mapping[str, Any]) -> int | None:
    """The pod's completion index (annotation first, then label), or None when missing or malformed."""
    meta = pod.get("metadata") or {}
    for source in (meta.get("annotations") or {}, meta.get("labels") or {}):
        value = source.get(COMPLETION_INDEX)
        if value is not None:
            text = str(value)
            return int(text) if text.isdigit() else None
    return None


def parse_indexes(text: str | None, completions: int) -> set[int]:
    """'0-2,4' -> {0, 1, 2, 4}, dropping indexes >= completions and anything malformed."""
    found: set[int] = set()
    for part in (text or "").split(","):
        low, _, high = part.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            continue
        found.update(i for i in range(int(low), int(high or low) + 1) if i < completions)
    return found


def format_indexes(indexes: Iterable[int]) -> str:
    """{0, 1, 2, 4} -> '0-2,4': sorted, consecutive runs collapsed (Kubernetes' orderedIntervals.String)."""
    runs: list[list[int]] = []
    for index in sorted(set(indexes)):
        if runs and runs[-1][1] == index - 1:
            runs[-1][1] = index
        else:
            runs.append([index, index])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def compute_indexes_to_create(completions: int, succeeded: set[int], active: Iterable[Mapping[str, Any]],
                              count: int) -> list[int]:
    """The first ``count`` indexes that have neither succeeded nor an active pod (firstPendingIndexes)."""
    busy = succeeded | {i for i in (completion_index(p) for p in active) if i is not None}
    return [i for i in range(completions) if i not in busy][:max(count, 0)]


def compute_extra_indexed_pods(active: list[Mapping[str, Any]], completions: int,
                               succeeded: set[int]) -> list[Mapping[str, Any]]:
    """Active pods that must go: no valid index, an index out of range or already succeeded, or a duplicate of an
    index another active pod holds (the first pod of each index is kept)."""
    extra: list[Mapping[str, Any]] = []
    seen: set[int] = set()
    for pod in active:
        index = completion_index(pod)
        if index is None or index >= completions or index in succeeded or index in seen:
            extra.append(pod)
        else:
            seen.add(index)
    return extra


def with_completion_index(pod: Object, job_name: str, index: int) -> Object:
    """A copy of a new pod with its index annotation and label, hostname and JOB_COMPLETION_INDEX env."""
    pod = copy.deepcopy(pod)
    meta = pod["metadata"]
    meta.setdefault("annotations", {})[COMPLETION_INDEX] = str(index)
    meta.setdefault("labels", {})[COMPLETION_INDEX] = str(index)
    meta["generateName"] = f"{job_name}-{index}-"
    spec = pod["spec"]
    spec.setdefault("hostname", f"{job_name}-{index}")
    env_var = {"name": COMPLETION_INDEX_ENV, "valueFrom": {"fieldRef": {
        "fieldPath": f"metadata.annotations['{COMPLETION_INDEX}']"}}}
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or []:
            env = container.setdefault("env", [])
            if not any(e.get("name") == COMPLETION_INDEX_ENV for e in env):
                env.append(copy.deepcopy(env_var))
    return pod
