"""The in-tree plugins, one Kubernetes plugin per module, named as in Kubernetes' config:

    node_name.NodeName                    spec.nodeName
    node_unschedulable.NodeUnschedulable  cordoned nodes
    taint_toleration.TaintToleration      taints vs tolerations (filter + PreferNoSchedule score)
    node_affinity.NodeAffinity            nodeSelector, required / preferred node affinity
    node_ports.NodePorts                  hostPort conflicts
    node_resources_fit.NodeResourcesFit   requests vs allocatable; LeastAllocated / MostAllocated score
    node_resources_balanced.NodeResourcesBalancedAllocation  balance cpu and memory use
    inter_pod_affinity.InterPodAffinity   pod (anti-)affinity by topology
    pod_topology_spread.PodTopologySpread maxSkew across topology domains
    default_preemption.DefaultPreemption  PostFilter: evict lower-priority pods to make room
    default_binder.DefaultBinder          Bind through the pods/binding subresource

To write your own, subclass scheduler.interface.Plugin and enable it by import path in the config.
"""
