#!/bin/sh
# Tear the compose lab down completely: `down -v` (control plane, kubelets, etcd's volume), then the pods' containers
# the kubelets started (siblings on the host's dockerd, not compose's: pods outlive their kubelet on purpose), then
# `down -v` again for the lab network and volumes (compose cannot remove the network while pods are attached). Arguments go to compose before `down`, e.g.
#   deploy/compose/down.sh -p mylab          COMPOSE="docker compose" deploy/compose/down.sh
# Uses the same KUBELING_NODE_PREFIX, KUBELING_NETWORK and KUBELING_LAB_DIR as `up` (see deploy/README.md).
set -eu
file="$(cd "$(dirname "$0")/.." && pwd)/docker-compose.yml"
compose=${COMPOSE:-docker-compose}
prefix=${KUBELING_NODE_PREFIX:-compose-node-}
network=${KUBELING_NETWORK:-kubeling-compose}
lab_dir=${KUBELING_LAB_DIR:-/tmp/kubeling-compose}
$compose -f "$file" "$@" down -v --remove-orphans 2>/dev/null || true  # stops the kubelets first
pods=$(docker ps -a --filter label=io.kubeling.managed=true --format '{{.ID}} {{.Label "io.kubeling.node"}}' |
       awk -v p="$prefix" 'index($2, p) == 1 { print $1 }')
if [ -n "$pods" ]; then
  echo "removing $(echo "$pods" | wc -l) pod container(s) of nodes $prefix*"
  # shellcheck disable=SC2086
  docker rm -f $pods >/dev/null
fi
if docker network inspect "$network" >/dev/null 2>&1 || [ -n "$pods" ]; then
  $compose -f "$file" "$@" down -v --remove-orphans
fi
for dir in "$lab_dir/$prefix"*; do  # the nodes' pod volumes (emptyDir, configMap...) on the host
  [ -d "$dir" ] && rm -rf "$dir"
done
exit 0
