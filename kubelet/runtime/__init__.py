"""Container runtimes for the kubelet: the interface (:mod:`.interface`), Docker and a fake for hollow nodes."""
