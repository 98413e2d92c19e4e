"""kubeling-scheduler: watches unscheduled pods and binds each to a node.

Read in this order: `queue.py` (which pod next), `framework.py` (the extension points every
plugin hooks into), `plugins/` (one filter/score rule per file), `scheduler.py` (the loop that
ties them together), `config.py` (which plugins run, from a KubeSchedulerConfiguration file).
"""
