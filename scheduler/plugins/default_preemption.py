"""DefaultPreemption: when a pod fits nowhere, make room by evicting lower-priority pods.

For each node where preemption might help (its rejection was Unschedulable, not
UnschedulableAndUnresolvable), pretend every pod of lower priority is gone and run the filters
(PreFilter's counts are adjusted through the plugins' add_pod / remove_pod extensions).
If the pod fits, add the would-be victims back one at a time, most important first, keeping each
one whose return still leaves room ("reprieve"): what remains is the minimal victim set.
Among the candidate nodes pick, as Kubernetes does, the one whose most important victim is least
important, then the lowest sum of victim priorities, then the fewest victims.

The plugin only decides; the scheduler deletes the victims and records
`status.nominatedNodeName` on the preemptor, which is retried once the victims are gone.
"""

from __future__ import annotations

from collections.abc import Mapping

from scheduler.diagnosis import fit_error_message
from scheduler.interface import (
    SUCCESS,
    Code,
    CycleState,
    Plugin,
    PostFilterResult,
    Status,
    unresolvable,
    unschedulable,
)
from scheduler.node_info import NodeInfo
from scheduler.pod_info import PodInfo

NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
POLICY_NEVER = "not eligible due to preemptionPolicy=Never."
TERMINATING_ON_NOMINATED = "not eligible due to a terminating pod on the nominated node."


def more_important_first(pods: list[PodInfo]) -> list[PodInfo]:
    """Higher priority first; among equals the one that started earlier (util.MoreImportantPod)."""
    return sorted(pods, key=lambda p: (-p.priority, p.start_time))


class DefaultPreemption(Plugin):
    name = "DefaultPreemption"

    def post_filter(self, state: CycleState, pod: PodInfo,
                    statuses: Mapping[str, Status]) -> tuple[PostFilterResult | None, Status]:
        reason = self.not_eligible(pod)
        if reason:
            return None, unschedulable(f"preemption: {reason}")
        candidates: dict[str, list[PodInfo]] = {}
        outcome: dict[str, Status] = {}
        for name, status in statuses.items():
            node = self.handle.node_info(name)
            if status.code != Code.UNSCHEDULABLE or node is None:
                outcome[name] = unresolvable(NOT_HELPFUL)
                continue
            victims, why = self.select_victims(state, pod, node)
            if victims is None:
                outcome[name] = why
            else:
                candidates[name] = victims
        if not candidates:
            message = fit_error_message(len(outcome), outcome)
            return PostFilterResult(""), unschedulable(f"preemption: {message}")
        chosen = pick_one_node(candidates)
        return PostFilterResult(chosen, candidates[chosen]), SUCCESS

    def not_eligible(self, pod: PodInfo) -> str:
        if pod.spec.get("preemptionPolicy") == "Never":
            return POLICY_NEVER
        nominated = (pod.pod.get("status") or {}).get("nominatedNodeName")
        node = self.handle.node_info(nominated) if nominated else None
        if node is not None and any(p.terminating and p.priority < pod.priority for p in node.pods.values()):
            return TERMINATING_ON_NOMINATED
        return ""

    def select_victims(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[list[PodInfo] | None, Status]:
        """The fewest lower-priority pods to evict from `node` so `pod` fits; None and why if impossible."""
        lower = [p for p in node.pods.values() if p.priority < pod.priority]
        if not lower:
            return None, unresolvable(NO_VICTIMS)
        trial, trial_state, framework = node.clone(), state.clone(), self.framework
        for victim in lower:
            trial.remove_pod(victim.key)
            framework.run_pre_filter_remove_pod(trial_state, pod, victim, trial)
        status = framework.run_filter(trial_state, pod, trial)
        if not status.is_success():
            return None, status
        victims = []
        for candidate in more_important_first(lower):
            trial.add_pod(candidate)
            framework.run_pre_filter_add_pod(trial_state, pod, candidate, trial)
            if not framework.run_filter(trial_state, pod, trial).is_success():
                trial.remove_pod(candidate.key)
                framework.run_pre_filter_remove_pod(trial_state, pod, candidate, trial)
                victims.append(candidate)
        return victims, SUCCESS


def pick_one_node(candidates: Mapping[str, list[PodInfo]]) -> str:
    """pickOneNodeForPreemption without PodDisruptionBudgets: least important victims, then fewest."""
    def rank(name: str) -> tuple[int, int, int]:
        victims = candidates[name]
        highest = max((v.priority for v in victims), default=-(2**31))
        return highest, sum(v.priority for v in victims), len(victims)

    return min(candidates, key=rank)
