"""Server-side Table rendering: what `kubectl get` prints, computed the way the apiserver does.

`kubectl get` asks for `application/json;as=Table;v=v1;g=meta.k8s.io` and prints the columns the
server returns. `render_table` builds that `meta.k8s.io/v1` Table for one kind from the column sets
of Kubernetes' pkg/printers/internalversion/printers.go (core kinds in `table_columns.py`, Pod and
the workload kinds here); any other kind gets the generic apiserver's DefaultTableConvertor columns
(Name, Created At). Pure functions: the caller passes `now`, so AGE cells are deterministic.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from apimachinery.kinds import ResourceType
from apiserver.http_api.table_columns import (
    CONTAINERS_DOC,
    CORE_TABLES,
    CREATED_DOC,
    IMAGES_DOC,
    KindTable,
    Obj,
    age,
    age_col,
    as_int,
    bool_ptr,
    col,
    container_cells,
    controller_of,
    dig,
    format_labels,
    format_selector,
    human_duration,
    job_status,
    meta_name,
    name_col,
    obj_age,
    parse_time,
    selector_string,
    since,
    template_spec,
)

__all__ = ["age", "human_duration", "render_table"]

TABLE_API_VERSION = "meta.k8s.io/v1"
_LIST_META_KEYS = ("selfLink", "resourceVersion", "continue", "remainingItemCount")

# ---- Pod -------------------------------------------------------------------------------------------


class _PodState:
    """The running tallies of printPod: reason, readiness, restarts and the latest restart."""

    def __init__(self, pod: Obj) -> None:
        status = pod.get("status") or {}
        self.reason: str = status.get("reason") or status.get("phase") or ""
        for cond in status.get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
                self.reason = "SchedulingGated"
        self.ready = 0
        self.restarts = 0
        self.last_restart: datetime | None = None

    def add_restarts(self, container: Obj) -> None:
        self.restarts += as_int(container.get("restartCount"))
        self.last_restart = _later(self.last_restart, _last_finished(container))


def _last_finished(container: Obj) -> datetime | None:
    return parse_time(dig(container, "lastState", "terminated", "finishedAt"))


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)


def _is_sidecar(spec_by_name: dict[str, Obj], name: Any) -> bool:
    return (spec_by_name.get(name) or {}).get("restartPolicy") == "Always"


def _terminated_reason(terminated: Obj, prefix: str) -> str:
    if terminated.get("reason"):
        return prefix + terminated["reason"]
    if as_int(terminated.get("signal")):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{as_int(terminated.get('exitCode'))}"


def _init_containers(pod: Obj, st: _PodState) -> tuple[bool, int, datetime | None]:
    """Walk init container statuses; returns (initializing, sidecar restarts, sidecar last restart)."""
    init_specs = dig(pod, "spec", "initContainers") or []
    by_name = {c.get("name"): c for c in init_specs}
    sidecar_restarts, sidecar_last = 0, None
    for i, cs in enumerate(dig(pod, "status", "initContainerStatuses") or []):
        st.add_restarts(cs)
        sidecar = _is_sidecar(by_name, cs.get("name"))
        if sidecar:
            sidecar_restarts += as_int(cs.get("restartCount"))
            sidecar_last = _later(sidecar_last, _last_finished(cs))
        terminated, waiting = dig(cs, "state", "terminated"), dig(cs, "state", "waiting")
        if isinstance(terminated, dict) and as_int(terminated.get("exitCode")) == 0:
            continue
        if sidecar and cs.get("started"):
            st.ready += 1 if cs.get("ready") else 0
            continue
        if isinstance(terminated, dict):
            st.reason = _terminated_reason(terminated, "Init:")
        elif isinstance(waiting, dict) and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            st.reason = "Init:" + waiting["reason"]
        else:
            st.reason = f"Init:{i}/{len(init_specs)}"
        return True, sidecar_restarts, sidecar_last
    return False, sidecar_restarts, sidecar_last


def _main_containers(pod: Obj, st: _PodState) -> None:
    has_running = False
    for cs in reversed(dig(pod, "status", "containerStatuses") or []):
        st.add_restarts(cs)
        waiting, terminated = dig(cs, "state", "waiting"), dig(cs, "state", "terminated")
        if isinstance(waiting, dict) and waiting.get("reason"):
            st.reason = waiting["reason"]
        elif isinstance(terminated, dict):
            st.reason = _terminated_reason(terminated, "")
        elif cs.get("ready") and isinstance(dig(cs, "state", "running"), dict):
            has_running = True
            st.ready += 1
    if st.reason == "Completed" and has_running:
        st.reason = "Running" if _has_condition(pod, "Ready") else "NotReady"


def _has_condition(pod: Obj, cond_type: str) -> bool:
    for cond in dig(pod, "status", "conditions") or []:
        if cond.get("type") == cond_type:
            return cond.get("status") == "True"
    return False


def _pod_summary(pod: Obj, now: datetime) -> tuple[str, str, str]:
    """READY, STATUS and RESTARTS exactly as printPod computes them."""
    st = _PodState(pod)
    initializing, sidecar_restarts, sidecar_last = _init_containers(pod, st)
    if not initializing or _has_condition(pod, "Initialized"):
        st.restarts, st.last_restart = sidecar_restarts, sidecar_last
        _main_containers(pod, st)
    phase = dig(pod, "status", "phase") or ""
    if dig(pod, "metadata", "deletionTimestamp"):
        if dig(pod, "status", "reason") == "NodeLost":
            st.reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            st.reason = "Terminating"
    restarts = str(st.restarts)
    if st.restarts and st.last_restart is not None:
        restarts = f"{st.restarts} ({since(st.last_restart, now)} ago)"
    specs = dig(pod, "spec", "initContainers") or []
    total = len(dig(pod, "spec", "containers") or []) + sum(1 for c in specs if c.get("restartPolicy") == "Always")
    return f"{st.ready}/{total}", st.reason, restarts


def _readiness_gates(pod: Obj) -> str:
    gates = dig(pod, "spec", "readinessGates") or []
    if not gates:
        return "<none>"
    conditions = {c.get("type"): c.get("status") for c in dig(pod, "status", "conditions") or []}
    ready = sum(1 for g in gates if conditions.get(g.get("conditionType")) == "True")
    return f"{ready}/{len(gates)}"


def _pod_cells(pod: Obj, now: datetime) -> list[Any]:
    ready, reason, restarts = _pod_summary(pod, now)
    status = pod.get("status") or {}
    pod_ips = status.get("podIPs") or []
    pod_ip = (pod_ips[0].get("ip") if pod_ips else status.get("podIP")) or "<none>"
    return [meta_name(pod), ready, reason, restarts, obj_age(pod, now), pod_ip,
            dig(pod, "spec", "nodeName") or "<none>", status.get("nominatedNodeName") or "<none>",
            _readiness_gates(pod)]


def _pod_conditions(pod: Obj) -> list[Obj] | None:
    phase = dig(pod, "status", "phase")
    if phase == "Succeeded":
        return [{"type": "Completed", "status": "True", "reason": "Succeeded",
                 "message": "The pod has completed successfully."}]
    if phase == "Failed":
        return [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]
    return None


POD_TABLE = KindTable([
    name_col(), col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    col("Status", "The aggregate status of the containers in this pod."),
    col("Restarts", "The number of times the containers in this pod have been restarted and when the last "
        "container in this pod has restarted."),
    age_col(),
    col("IP", "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet "
        "allocated.", priority=1),
    col("Node", "NodeName indicates in which node this pod is scheduled.", priority=1),
    col("Nominated Node", "nominatedNodeName is set only when this pod preempts other pods on the node, but it "
        "cannot be scheduled right away as preemption victims receive their graceful termination periods.",
        priority=1),
    col("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.", priority=1),
], _pod_cells)

# ---- apps/v1, batch/v1, coordination.k8s.io/v1 -------------------------------------------------------


def _wide_template(obj: Obj, selector: str) -> list[Any]:
    return [*container_cells(template_spec(obj)), selector]


def _deployment_cells(d: Obj, now: datetime) -> list[Any]:
    status = d.get("status") or {}
    ready = f"{as_int(status.get('readyReplicas'))}/{as_int(dig(d, 'spec', 'replicas'))}"
    return [meta_name(d), ready, as_int(status.get("updatedReplicas")), as_int(status.get("availableReplicas")),
            obj_age(d, now), *_wide_template(d, selector_string(dig(d, "spec", "selector")))]


def _replicaset_cells(rs: Obj, now: datetime) -> list[Any]:
    status = rs.get("status") or {}
    return [meta_name(rs), as_int(dig(rs, "spec", "replicas")), as_int(status.get("replicas")),
            as_int(status.get("readyReplicas")), obj_age(rs, now),
            *_wide_template(rs, format_selector(dig(rs, "spec", "selector")))]


def _statefulset_cells(ss: Obj, now: datetime) -> list[Any]:
    ready = f"{as_int(dig(ss, 'status', 'readyReplicas'))}/{as_int(dig(ss, 'spec', 'replicas'))}"
    return [meta_name(ss), ready, obj_age(ss, now), *container_cells(template_spec(ss))]


def _daemonset_cells(ds: Obj, now: datetime) -> list[Any]:
    status = ds.get("status") or {}
    counts = [as_int(status.get(k)) for k in ("desiredNumberScheduled", "currentNumberScheduled", "numberReady",
                                             "updatedNumberScheduled", "numberAvailable")]
    return [meta_name(ds), *counts, format_labels(dig(template_spec(ds), "nodeSelector")), obj_age(ds, now),
            *_wide_template(ds, format_selector(dig(ds, "spec", "selector")))]


def _job_completions(job: Obj) -> str:
    succeeded = as_int(dig(job, "status", "succeeded"))
    completions = dig(job, "spec", "completions")
    if isinstance(completions, int):
        return f"{succeeded}/{completions}"
    parallelism = as_int(dig(job, "spec", "parallelism"))
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def _job_duration(job: Obj, now: datetime) -> str:
    start = parse_time(dig(job, "status", "startTime"))
    if start is None:
        return ""
    end = parse_time(dig(job, "status", "completionTime"))
    return since(start, now) if end is None else human_duration((end - start).total_seconds())


def _job_cells(job: Obj, now: datetime) -> list[Any]:
    return [meta_name(job), job_status(job), _job_completions(job), _job_duration(job, now), obj_age(job, now),
            *_wide_template(job, format_selector(dig(job, "spec", "selector")))]


def _cronjob_cells(cj: Obj, now: datetime) -> list[Any]:
    spec = cj.get("spec") or {}
    last = dig(cj, "status", "lastScheduleTime")
    job_spec = dig(spec, "jobTemplate", "spec")
    return [meta_name(cj), spec.get("schedule", ""), spec.get("timeZone") or "<none>", bool_ptr(spec.get("suspend")),
            len(dig(cj, "status", "active") or []), age(last, now) if last else "<none>", obj_age(cj, now),
            *container_cells(dig(job_spec, "template", "spec")), format_selector(dig(job_spec, "selector"))]


def _budget(pdb: Obj, field: str) -> str:
    value = dig(pdb, "spec", field)
    return "N/A" if value is None else str(value)


def _wide_cols(selector_doc: str | None) -> list[Obj]:
    cols = [col("Containers", CONTAINERS_DOC, priority=1), col("Images", IMAGES_DOC, priority=1)]
    return cols if selector_doc is None else [*cols, col("Selector", selector_doc, priority=1)]


_SELECTOR_DOC = "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones " \
    "affected by this deployment."

WORKLOAD_TABLES: dict[str, KindTable] = {
    "Deployment": KindTable([
        name_col(), col("Ready", "Number of the pod with ready state"),
        col("Up-to-date", "Total number of non-terminating pods targeted by this deployment that have the "
            "desired template spec."),
        col("Available", "Total number of available non-terminating pods (ready for at least minReadySeconds) "
            "targeted by this deployment."), age_col(), *_wide_cols(_SELECTOR_DOC)], _deployment_cells),
    "ReplicaSet": KindTable([
        name_col(), col("Desired", "Replicas is the number of desired pods.", type_="integer"),
        col("Current", "Replicas is the most recently observed number of non-terminating pods.", type_="integer"),
        col("Ready", "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.",
            type_="integer"), age_col(),
        *_wide_cols("Selector is a label query over pods that should match the replica count.")], _replicaset_cells),
    "StatefulSet": KindTable([name_col(), col("Ready", "Number of the pod with ready state"), age_col(),
                              *_wide_cols(None)], _statefulset_cells),
    "DaemonSet": KindTable([
        name_col(),
        col("Desired", "The total number of nodes that should be running the daemon pod.", type_="integer"),
        col("Current", "The number of nodes that are running at least 1 daemon pod and are supposed to run the "
            "daemon pod.", type_="integer"),
        col("Ready", "The number of nodes that should be running the daemon pod and have one or more of the "
            "daemon pod running with a Ready Condition.", type_="integer"),
        col("Up-to-date", "The total number of nodes that are running updated daemon pod", type_="integer"),
        col("Available", "The number of nodes that should be running the daemon pod and have one or more of the "
            "daemon pod running and available (ready for at least spec.minReadySeconds)", type_="integer"),
        col("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on a node."),
        age_col(), *_wide_cols("A label query over pods that are managed by the daemon set.")], _daemonset_cells),
    "ControllerRevision": KindTable([
        name_col(), col("Controller", "Controller of the object"),
        col("Revision", "Revision indicates the revision of the state represented by Data."), age_col()],
        lambda o, now: [meta_name(o), controller_of(o), as_int(o.get("revision")), obj_age(o, now)]),
    "Job": KindTable([
        name_col(), col("Status", "Status of the job."),
        col("Completions", "The number of pods which reached phase Succeeded."),
        col("Duration", "Time required to complete the job."), age_col(),
        *_wide_cols("A label query over pods that should match the pod count.")], _job_cells),
    "CronJob": KindTable([
        name_col(), col("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
        col("Timezone", "The time zone name for the given schedule, see "
            "https://en.wikipedia.org/wiki/List_of_tz_database_time_zones."),
        col("Suspend", "This flag tells the controller to suspend subsequent executions, it does not apply to "
            "already started executions.", type_="boolean"),
        col("Active", "A list of pointers to currently running jobs.", type_="integer"),
        col("Last Schedule", "Information when was the last time the job was successfully scheduled."),
        age_col(), *_wide_cols("A label query over pods that should match the pod count.")], _cronjob_cells),
    "PodDisruptionBudget": KindTable([  # printPodDisruptionBudget
        name_col(), col("Min Available", "The minimum number of pods that must be available."),
        col("Max Unavailable", "The maximum number of pods that may be unavailable."),
        col("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time.", type_="integer"),
        age_col()], lambda o, now: [meta_name(o), _budget(o, "minAvailable"), _budget(o, "maxUnavailable"),
                                    as_int(dig(o, "status", "disruptionsAllowed")), obj_age(o, now)]),
    "Lease": KindTable([
        name_col(), col("Holder", "holderIdentity contains the identity of the holder of a current lease."),
        age_col()], lambda o, now: [meta_name(o), dig(o, "spec", "holderIdentity") or "", obj_age(o, now)]),
}

KIND_TABLES: dict[str, KindTable] = {"Pod": POD_TABLE, **CORE_TABLES, **WORKLOAD_TABLES}


def _default_cells(obj: Obj, now: datetime) -> list[Any]:
    created = parse_time(dig(obj, "metadata", "creationTimestamp"))
    # DefaultTableConvertor: CreationTimestamp.Time.UTC().Format(time.RFC3339); the zero time when unset.
    when = created.astimezone(UTC) if created else datetime(1, 1, 1, tzinfo=UTC)
    return [meta_name(obj), f"{when.year:04d}-{when:%m-%dT%H:%M:%S}Z"]


DEFAULT_TABLE = KindTable([name_col(), col("Created At", CREATED_DOC, type_="date")], _default_cells)

# ---- the Table -------------------------------------------------------------------------------------


def table_for(rt: ResourceType) -> KindTable:
    """The column set for a kind; built-in printers are keyed by kind in the core and named API groups."""
    return KIND_TABLES.get(rt.kind, DEFAULT_TABLE)


def _row_object(obj: Obj, include_object: str) -> Obj | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": TABLE_API_VERSION, "metadata": obj.get("metadata") or {}}


def _row(table: KindTable, obj: Obj, now: datetime, include_object: str, is_pod: bool) -> Obj:
    row: Obj = {"cells": table.cells(obj, now)}
    conditions = _pod_conditions(obj) if is_pod else None
    if conditions:
        row["conditions"] = conditions
    embedded = _row_object(obj, include_object)
    if embedded is not None:
        row["object"] = embedded
    return row


def render_table(rt: ResourceType, objects: list[dict], *, now: datetime, include_object: str = "Metadata",
                 list_metadata: dict | None = None) -> dict:
    """A `meta.k8s.io/v1` Table of `objects` (all of kind `rt`), rendered as the apiserver would at `now`.

    `include_object` is the TableOptions value: "Metadata" embeds a PartialObjectMetadata per row,
    "Object" the whole object, "None" nothing. `list_metadata` supplies the list's resourceVersion,
    continue token and remainingItemCount.
    """
    table = table_for(rt)
    is_pod = table is POD_TABLE
    metadata = {k: v for k, v in (list_metadata or {}).items() if k in _LIST_META_KEYS and v not in (None, "")}
    return {
        "kind": "Table",
        "apiVersion": TABLE_API_VERSION,
        "metadata": metadata,
        "columnDefinitions": [dict(c) for c in table.columns],
        "rows": [_row(table, obj, now, include_object, is_pod) for obj in objects],
    }
