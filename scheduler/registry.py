"""Which plugin class a name in the scheduler config stands for.

In-tree plugins are found by their Kubernetes names ("NodeResourcesFit"). Any other name of the
form ``package.module:ClassName`` is imported, so a student can write a plugin in their own file
and enable it from the config without touching the framework::

    plugins:
      filter:
        enabled: [{name: "mypkg.myplugin:MyFilter"}]
"""

from __future__ import annotations

import importlib

from scheduler.interface import Plugin

# Kubernetes plugins kubeling accepts in a config but does not emulate (no volumes, no images).
NOT_EMULATED = frozenset({"SchedulingGates", "VolumeRestrictions", "NodeVolumeLimits", "VolumeBinding",
                          "VolumeZone", "ImageLocality", "PrioritySort"})


def in_tree() -> dict[str, type[Plugin]]:
    from scheduler.plugins import (
        default_binder,
        default_preemption,
        inter_pod_affinity,
        node_affinity,
        node_name,
        node_ports,
        node_resources_balanced,
        node_resources_fit,
        node_unschedulable,
        pod_topology_spread,
        taint_toleration,
    )

    classes: list[type[Plugin]] = [
        node_unschedulable.NodeUnschedulable, node_name.NodeName, taint_toleration.TaintToleration,
        node_affinity.NodeAffinity, node_ports.NodePorts, node_resources_fit.NodeResourcesFit,
        pod_topology_spread.PodTopologySpread, inter_pod_affinity.InterPodAffinity,
        default_preemption.DefaultPreemption, node_resources_balanced.NodeResourcesBalancedAllocation,
        default_binder.DefaultBinder]
    return {cls.name: cls for cls in classes}


def is_import_path(name: str) -> bool:
    return ":" in name


def load(name: str) -> type[Plugin]:
    """The class for `name`; KeyError if unknown, ImportError/AttributeError/TypeError if it cannot load."""
    if not is_import_path(name):
        return in_tree()[name]
    module_name, _, attribute = name.partition(":")
    cls = getattr(importlib.import_module(module_name), attribute)
    if not (isinstance(cls, type) and issubclass(cls, Plugin)):
        raise TypeError(f"{name} is not a subclass of scheduler.interface.Plugin")
    return cls
