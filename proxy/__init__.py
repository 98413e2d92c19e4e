"""kubeling-proxy: the service proxy (kube-proxy), one per Docker host.

It watches Services and EndpointSlices and programs the host so that a packet to ``ClusterIP:port`` (from any pod
or from the host) or to ``<node address>:NodePort`` reaches a ready endpoint. Two modes, as kube-proxy had:

- ``iptables`` (:mod:`proxy.iptables`): the kernel does the work. :mod:`proxy.iptables_rules` computes the whole
  ruleset (pure), :mod:`proxy.iptables` writes it atomically with ``iptables-restore --noflush``.
- ``userspace`` (:mod:`proxy.userspace`): a Python asyncio proxy per service port; iptables only redirects
  the service address to it. Slower, but every byte passes through code a student can read.

Read in this order: :mod:`proxy.model` (what a Service port and its endpoints are), :mod:`proxy.iptables_rules`,
:mod:`proxy.iptables`, :mod:`proxy.userspace`, :mod:`proxy.proxier` (informers and the sync loop).
"""
