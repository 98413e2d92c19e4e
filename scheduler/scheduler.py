"""The scheduler: informers feed the cache and the queue; one loop schedules one pod at a time.

    pods informer  ──► unscheduled pods of our schedulerName ──► SchedulingQueue
                   └─► assigned pods ──► SchedulerCache (and "move" events for the queue)
    nodes informer ──► SchedulerCache (and NodeAdd / NodeUpdate events for the queue)

    loop: pod = queue.pop()
          scheduling cycle (synchronous): Framework.schedule_pod -> assume in cache -> Reserve
          binding cycle (a task, so the next pod's cycle runs meanwhile): Bind -> event Scheduled
          on FitError: PostFilter (preemption) -> event FailedScheduling, PodScheduled=False,
                       back to the queue (unschedulable, or backoff)

Pods with another `spec.schedulerName` are someone else's and ignored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from apimachinery import errors
from client.client import Client
from client.events import EventRecorder
from client.informer import Handler
from client.informer_factory import SharedInformerFactory
from scheduler import metrics
from scheduler import queue as q
from scheduler.cache import SchedulerCache
from scheduler.config import SchedulerConfiguration, default_configuration
from scheduler.diagnosis import FitError
from scheduler.framework import Framework
from scheduler.interface import CycleState, PostFilterResult
from scheduler.pod_info import PodInfo
from scheduler.pod_status import PodStatusWriter, node_scheduling_properties_changed, pod_updated
from scheduler.queue import QueuedPodInfo, SchedulingQueue

log = logging.getLogger(__name__)
Object = dict[str, Any]
COMPONENT = "default-scheduler"
POD_FIELD_SELECTOR = "status.phase!=Succeeded,status.phase!=Failed"


class Scheduler:
    def __init__(self, client: Client, config: SchedulerConfiguration | None = None, *,
                 recorder: EventRecorder | None = None) -> None:
        self.client = client
        self.config = config or default_configuration()
        self.cache = SchedulerCache(client)
        self.queue = SchedulingQueue(initial_backoff=self.config.pod_initial_backoff_seconds,
                                     max_backoff=self.config.pod_max_backoff_seconds)
        self.frameworks = {p.scheduler_name: Framework(p, self.cache, self.config.percentage_of_nodes_to_score)
                           for p in self.config.profiles}
        self.recorder = recorder or EventRecorder(client, COMPONENT)
        self.status = PodStatusWriter(client)
        self.factory = SharedInformerFactory(client)
        self._binding: set[asyncio.Task[None]] = set()
        self.bound = 0
        self.ready = False

    # -- running -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Watch, then schedule until cancelled."""
        pods = self.factory.informer("pods", field_selector=POD_FIELD_SELECTOR)
        pods.add_handler(Handler(self._on_pod_add, self._on_pod_update, self._on_pod_delete))
        nodes = self.factory.informer("nodes")
        nodes.add_handler(Handler(self._on_node_add, self._on_node_update, self._on_node_delete))
        self.recorder.start()
        self.factory.start()
        flusher = asyncio.create_task(self.queue.run(), name="scheduler-queue-flush")
        try:
            await self.factory.wait_for_sync()
            self.ready = True
            log.info("scheduler caches synced: %d nodes, %d pods", len(self.cache.node_infos()),
                     self.cache.pod_count())
            await self._loop()
        finally:
            self.ready = False
            self.queue.close()
            flusher.cancel()
            for task in list(self._binding):
                task.cancel()
            await asyncio.gather(flusher, *self._binding, return_exceptions=True)
            await self.factory.stop()
            await self.recorder.stop()

    async def _loop(self) -> None:
        while True:
            queued = await self.queue.pop()
            if queued is None:
                return
            self.schedule_one(queued)
            await asyncio.sleep(0)  # let watch events and binding tasks run between pods

    # -- informer handlers -------------------------------------------------------------------

    def _responsible(self, pod: Object) -> bool:
        return (pod.get("spec") or {}).get("schedulerName", COMPONENT) in self.frameworks

    def _track_nomination(self, pod: Object) -> None:
        nominated = (pod.get("status") or {}).get("nominatedNodeName") or ""
        if _assigned(pod) or _terminating(pod) or not nominated:
            self.cache.remove_nominated(_key(pod))
        elif self._responsible(pod):
            self.cache.nominate(PodInfo.of(pod), nominated)

    def _on_pod_add(self, pod: Object) -> None:
        self._track_nomination(pod)
        if _assigned(pod):
            self.cache.add_pod(pod)
            self.queue.move_all_to_active_or_backoff(q.ASSIGNED_POD_ADD)
        elif self._responsible(pod) and not _terminating(pod) and not self.cache.is_assumed(_key(pod)):
            self.queue.add(PodInfo.of(pod))

    def _on_pod_update(self, old: Object, new: Object) -> None:
        self._track_nomination(new)
        key = _key(new)
        if _assigned(new):
            if not _assigned(old):
                self.queue.delete(key)
            self.cache.update_pod(new)
            if (old.get("metadata") or {}).get("labels") != (new.get("metadata") or {}).get("labels"):
                self.queue.move_all_to_active_or_backoff(q.ASSIGNED_POD_UPDATE)
        elif not self._responsible(new) or _terminating(new):
            self.queue.delete(key)
        elif not self.cache.is_assumed(key):
            self.queue.update(PodInfo.of(new), move=pod_updated(old, new))

    def _on_pod_delete(self, pod: Object) -> None:
        self.cache.remove_nominated(_key(pod))
        if _assigned(pod):
            self.cache.remove_pod(pod)
            self.queue.move_all_to_active_or_backoff(q.ASSIGNED_POD_DELETE)
        else:
            self.queue.delete(_key(pod))

    def _on_node_add(self, node: Object) -> None:
        self.cache.add_node(node)
        self.queue.move_all_to_active_or_backoff(q.NODE_ADD)

    def _on_node_update(self, old: Object, new: Object) -> None:
        self.cache.update_node(new)
        if node_scheduling_properties_changed(old, new):
            self.queue.move_all_to_active_or_backoff(q.NODE_UPDATE)

    def _on_node_delete(self, node: Object) -> None:
        self.cache.remove_node(node["metadata"]["name"])

    # -- the scheduling cycle ----------------------------------------------------------------

    def schedule_one(self, queued: QueuedPodInfo) -> None:
        """Decide for one pod, synchronously; binding continues in a task."""
        pod = queued.pod
        framework = self.frameworks.get(pod.spec.get("schedulerName", COMPONENT))
        if framework is None or self.cache.has_pod(pod.key) or pod.terminating:
            self.queue.done(pod.key)
            return
        state, cycle, started = CycleState(), self.queue.scheduling_cycle, time.perf_counter()
        try:
            result = framework.schedule_pod(state, pod)
        except FitError as fit:
            self._unschedulable(framework, state, queued, fit, cycle)
            self._observe("unschedulable", framework, started)
            return
        except Exception as e:
            log.exception("error scheduling pod %s", pod.key)
            self._failed(queued, cycle, str(e))
            self._observe("error", framework, started)
            return
        assumed = self.cache.assume_pod(pod, result.node_name)
        status = framework.run_reserve(state, assumed, result.node_name)
        if not status.is_success():
            framework.run_unreserve(state, assumed, result.node_name)
            self.cache.forget_pod(pod.key)
            self._failed(queued, cycle, status.message())
            return
        self._observe("scheduled", framework, started)
        task = asyncio.create_task(self._bind(framework, state, queued, assumed, result.node_name, cycle))
        self._binding.add(task)
        task.add_done_callback(self._binding.discard)

    def _observe(self, result: str, framework: Framework, started: float) -> None:
        metrics.schedule_attempts.labels(result, framework.scheduler_name).inc()
        metrics.scheduling_attempt_duration.labels(result, framework.scheduler_name).observe(
            time.perf_counter() - started)

    async def _bind(self, framework: Framework, state: CycleState, queued: QueuedPodInfo, assumed: PodInfo,
                    node_name: str, cycle: int) -> None:
        status = await framework.run_bind(state, assumed, node_name)
        if status.is_success():
            self.cache.finish_binding(assumed.key)
            self.queue.done(assumed.key)
            self.bound += 1
            self.recorder.event(assumed.pod, "Normal", "Scheduled",
                                f"Successfully assigned {assumed.key} to {node_name}")
            return
        log.info("binding %s to %s failed: %s", assumed.key, node_name, status.message())
        framework.run_unreserve(state, assumed, node_name)
        self.cache.forget_pod(assumed.key)
        self.queue.move_all_to_active_or_backoff(q.ASSIGNED_POD_DELETE)
        self._failed(queued, cycle, f"binding rejected: {status.message()}")

    # -- failures ----------------------------------------------------------------------------

    def _unschedulable(self, framework: Framework, state: CycleState, queued: QueuedPodInfo, fit: FitError,
                       cycle: int) -> None:
        pod, diagnosis = queued.pod, fit.diagnosis
        result: PostFilterResult | None = None
        if diagnosis.node_statuses and any(s.is_rejected() for s in diagnosis.node_statuses.values()):
            result, status = framework.run_post_filter(state, pod, diagnosis.node_statuses)
            if not status.is_success() and status.message():
                diagnosis.post_filter_message = status.message()
        if result is not None and result.nominated_node_name:
            self.cache.nominate(pod, result.nominated_node_name)
            self._preempt(pod, result)
        nominated = None if result is None else result.nominated_node_name
        queued.unschedulable_plugins = set(diagnosis.unschedulable_plugins)
        message = str(fit)
        log.info("unable to schedule pod %s: %s", pod.key, message)
        self.recorder.event(pod.pod, "Warning", "FailedScheduling", message)
        self.queue.add_unschedulable(queued, cycle)
        self.status.set_unschedulable(pod.pod, "Unschedulable", message, nominated)

    def _failed(self, queued: QueuedPodInfo, cycle: int, message: str) -> None:
        """An error (not a "does not fit"): retried after backoff."""
        queued.unschedulable_plugins = set()
        self.recorder.event(queued.pod.pod, "Warning", "FailedScheduling", message)
        self.queue.add_unschedulable(queued, cycle)
        self.status.set_unschedulable(queued.pod.pod, "SchedulerError", message, None)

    def _preempt(self, preemptor: PodInfo, result: PostFilterResult) -> None:
        metrics.preemption_attempts.inc()
        metrics.preemption_victims.inc(len(result.victims))
        for victim in result.victims:
            log.info("preempting %s on %s for %s", victim.key, result.nominated_node_name, preemptor.key)
            self.recorder.event(victim.pod, "Normal", "Preempted",
                                f"Preempted by pod {preemptor.uid} on node {result.nominated_node_name}")
            self.status.spawn(self._delete_victim(victim))

    async def _delete_victim(self, victim: PodInfo) -> None:
        try:
            await self.client.delete("pods", victim.name, victim.namespace, preconditions={"uid": victim.uid})
        except errors.NotFound:
            pass
        except errors.ApiError as e:
            log.warning("cannot delete preemption victim %s: %s", victim.key, e)


def _key(pod: Object) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def _assigned(pod: Object) -> bool:
    return bool((pod.get("spec") or {}).get("nodeName"))


def _terminating(pod: Object) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))
