#!/bin/sh
# Write the index page for this host, then serve it. httpd runs as our child so that SIGTERM (docker stop, pod
# deletion) ends the container at once instead of after the grace period (PID 1 ignores unhandled signals).
mkdir -p /www
echo "[${HELLO_VERSION:-v1}] Hello from $(hostname)" > /www/index.html
httpd -f -p "${PORT:-8080}" -h /www &
pid=$!
trap 'kill $pid 2>/dev/null; exit 0' TERM INT
wait $pid
