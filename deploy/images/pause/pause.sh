#!/bin/sh
# PID 1 of a pod sandbox: exit at once on TERM/INT (so `docker stop` is immediate), otherwise sleep forever.
#
# On a user-defined Docker network, Docker points /etc/resolv.conf at its embedded DNS (127.0.0.11), which only
# forwards to the pod's nameservers. Kubernetes pods see their DNS config verbatim (dockershim rewrote the
# sandbox's resolv.conf), so the runtime passes it in KUBELING_RESOLV_CONF and we write it first thing; every
# container of the pod shares this file.
if [ -n "$KUBELING_RESOLV_CONF" ]; then
  printf '%s\n' "$KUBELING_RESOLV_CONF" > /etc/resolv.conf
fi
trap 'exit 0' TERM INT
while :; do
  /bin/busybox sleep 86400 &
  wait $!
done
