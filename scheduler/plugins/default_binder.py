"""DefaultBinder: write the decision through the pods/binding subresource."""

from __future__ import annotations

from apimachinery import errors
from scheduler.interface import SUCCESS, CycleState, Plugin, Status, error
from scheduler.pod_info import PodInfo


class DefaultBinder(Plugin):
    name = "DefaultBinder"

    async def bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        try:
            await self.handle.client.bind(pod.namespace, pod.name, node_name, pod.uid)
        except errors.ApiError as e:
            return error(str(e))
        return SUCCESS
