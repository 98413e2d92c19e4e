"""Every controller's Events name the source component Kubernetes uses (what `kubectl describe` shows under From)."""

from __future__ import annotations

from typing import Any

import pytest

from client.informer_factory import SharedInformerFactory
from controller_manager.controller import ControllerContext
from controller_manager.controllers import CONTROLLERS, load_controller
from tests.unit.controller_manager.harness import FakeApi, FakeRecorder

SOURCES = {
    "replicaset": "replicaset-controller",
    "deployment": "deployment-controller",
    "statefulset": "statefulset-controller",
    "daemonset": "daemonset-controller",
    "job": "job-controller",
    "cronjob": "cronjob-controller",
    "endpoints": "endpoint-controller",
    "endpointslice": "endpoint-slice-controller",
    "nodelifecycle": "node-controller",
    "nodeipam": "cidrAllocator",
    "service-lb": "service-controller",
    "disruption": "controllermanager",
}


class NamedRecorder(FakeRecorder):
    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component


def context() -> tuple[ControllerContext, dict[str, NamedRecorder]]:
    made: dict[str, NamedRecorder] = {}
    api: Any = FakeApi()
    shared: Any = NamedRecorder("controller-manager")

    def recorder_for(source: str) -> Any:
        return made.setdefault(source, NamedRecorder(source))

    return ControllerContext(client=api, informers=SharedInformerFactory(api), recorder=shared,
                             recorders=recorder_for), made


@pytest.mark.parametrize(("controller", "source"), sorted(SOURCES.items()))
def test_controller_records_under_its_kubernetes_source(controller: str, source: str) -> None:
    ctx, _ = context()
    built: Any = load_controller(CONTROLLERS[controller], ctx)
    assert built.recorder.component == source


def test_job_pod_control_and_taint_eviction_use_their_controllers_sources() -> None:
    ctx, _ = context()
    job: Any = load_controller(CONTROLLERS["job"], ctx)
    assert job.pod_control.recorder.component == "job-controller"
    lifecycle: Any = load_controller(CONTROLLERS["nodelifecycle"], ctx)
    assert lifecycle.taint_eviction.recorder.component == "taint-eviction-controller"


def test_without_a_recorder_factory_every_controller_shares_the_recorder() -> None:
    api: Any = FakeApi()
    shared: Any = FakeRecorder()
    ctx = ControllerContext(client=api, informers=SharedInformerFactory(api), recorder=shared)
    assert load_controller(CONTROLLERS["deployment"], ctx).recorder is shared
