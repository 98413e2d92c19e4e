"""The kubelet: turns the pods bound to this node into running containers."""
