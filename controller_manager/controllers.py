"""Every controller the controller-manager can run, by its Kubernetes name (``--controllers`` takes these).

Each entry is an import path ``module:Class``; the class takes a :class:`ControllerContext`. Imported lazily, so a
student can point an entry at their own module to replace one controller.
"""

from __future__ import annotations

import importlib

from controller_manager.controller import Controller, ControllerContext

CONTROLLERS: dict[str, str] = {
    "replicaset": "controller_manager.replicaset:ReplicaSetController",
    "deployment": "controller_manager.deployment:DeploymentController",
    "statefulset": "controller_manager.statefulset:StatefulSetController",
    "daemonset": "controller_manager.daemonset:DaemonSetController",
    "job": "controller_manager.job:JobController",
    "cronjob": "controller_manager.cronjob:CronJobController",
    "ttl-after-finished": "controller_manager.ttl_after_finished:TTLAfterFinishedController",
    "nodelifecycle": "controller_manager.node_lifecycle:NodeLifecycleController",
    "garbagecollector": "controller_manager.garbage_collector:GarbageCollector",
    "namespace": "controller_manager.namespace:NamespaceController",
    "endpoints": "controller_manager.endpoints:EndpointsController",
    "endpointslice": "controller_manager.endpointslice:EndpointSliceController",
    "serviceaccount": "controller_manager.serviceaccount:ServiceAccountController",
    "podgc": "controller_manager.podgc:PodGCController",
    "disruption": "controller_manager.disruption:DisruptionController",
    "nodeipam": "controller_manager.nodeipam:NodeIpamController",
    "service-lb": "controller_manager.service_lb:ServiceLBController",
}


def load_controller(path: str, ctx: ControllerContext) -> Controller:
    module_name, _, class_name = path.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    controller: Controller = cls(ctx)
    return controller
