"""kubeling-scheduler: watches unscheduled pods and binds each to a node.

Read in this order:

    interface.py   what a plugin is: Status codes and the extension points it may implement
    pod_info.py, node_info.py, resources.py   the precomputed views plugins read
    queue.py       which pod next: activeQ (priority, FIFO), backoffQ, unschedulablePods
    cache.py       nodes and the pods on them, including pods "assumed" before their bind lands
    framework.py   one profile's plugins run in order: filter, score, normalize, weigh, select
    diagnosis.py   the "0/3 nodes are available: ..." message
    plugins/       one Kubernetes plugin per file (NodeResourcesFit, TaintToleration, ...)
    config.py, registry.py   KubeSchedulerConfiguration: which plugins run, with which weights/args
    scheduler.py   the loop tying informers, queue, framework, binding and events together
    __main__.py    flags, leader election, /healthz and /metrics
"""
