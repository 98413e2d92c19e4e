#!/bin/sh
# Entrypoint of the compose lab's kubeling containers: `kubeling-compose-entrypoint <component> [flags...]`.
# The apiserver advertises, and the kubelet uses as its --node-ip, this container's address on the lab network: the
# `kubernetes` Service's endpoint is then reachable from pods, and the kubelet API (logs, exec) listens where the
# apiserver container reaches it (the node's InternalIP). The kubelet's --node-name is KUBELING_NODE_NAME (default:
# the container's hostname).
set -eu
ip=$(python3 -c 'import socket; print(socket.gethostbyname(socket.gethostname()))')
component=$1
shift
case "$component" in
  apiserver) exec kubeling-apiserver --advertise-address "$ip" "$@" ;;
  kubelet) exec kubeling-kubelet --node-name "${KUBELING_NODE_NAME:-$(hostname)}" --node-ip "$ip" "$@" ;;
  *) exec "kubeling-$component" "$@" ;;
esac
