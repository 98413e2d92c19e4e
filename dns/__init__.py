"""kubeling's cluster DNS (``kubeling-dns``): the server behind the ``kube-dns`` Service.

It answers the names of the Kubernetes DNS specification (https://github.com/kubernetes/dns/blob/master/docs/
specification.md) the way CoreDNS's ``kubernetes`` plugin does, from informers over Services, EndpointSlices and
Pods, and forwards every other name to the host's resolvers.

* :mod:`dns.cluster`   — the read-only view of the informers' caches (services, endpoints, pods by IP);
* :mod:`dns.resolver`  — pure name → records logic (the part a student reads; no sockets);
* :mod:`dns.server`    — UDP and TCP listeners: bytes in, bytes out, through the resolver or the forwarder;
* :mod:`dns.forward`   — the upstream resolvers from the host's resolv.conf;
* :mod:`dns.kube_dns`  — the ``kube-dns`` Service and its hand-managed Endpoints/EndpointSlice;
* :mod:`dns.__main__`  — flags and wiring.
"""
