"""`kubeling-apiserver` / `python -m apiserver`: the API server process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from apiserver.authorization import MODES, new_authorizer
from apiserver.server import APIServer, ServerConfig


def authorization_mode(value: str) -> str:
    try:
        new_authorizer(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kubeling-apiserver", description=__doc__)
    parser.add_argument("--etcd-servers", default="127.0.0.1:2379", help="etcd endpoint host:port")
    parser.add_argument("--bind-address", default="127.0.0.1")
    parser.add_argument("--grpc-port", type=int, default=6444, help="internal gRPC API port (0: any free)")
    parser.add_argument("--port", type=int, default=6443, help="HTTP port: healthz, metrics, kubectl API")
    parser.add_argument("--compaction-interval", type=float, default=300.0,
                        help="seconds between etcd compactions (Kubernetes default 5m)")
    parser.add_argument("--watch-cache-capacity", type=int, default=100_000)
    parser.add_argument("--bookmark-interval", type=float, default=5.0)
    parser.add_argument("--watch-batch-interval", type=float, default=0.01,
                        help="seconds a watch stream waits after a send, so busy streams send batches")
    parser.add_argument("--reuse-port", action="store_true",
                        help="share the gRPC and HTTP ports with other apiservers on this host (SO_REUSEPORT): "
                             "HA apiservers behind one address, the kernel spreading connections")
    parser.add_argument("--max-requests-inflight", type=int, default=400,
                        help="read-only requests worked on at once; more are answered 429 (0: no limit)")
    parser.add_argument("--max-mutating-requests-inflight", type=int, default=200,
                        help="mutating requests worked on at once; more are answered 429 (0: no limit)")
    parser.add_argument("--default-not-ready-toleration-seconds", type=int, default=300,
                        help="tolerationSeconds of the not-ready:NoExecute toleration every pod gets")
    parser.add_argument("--default-unreachable-toleration-seconds", type=int, default=300,
                        help="tolerationSeconds of the unreachable:NoExecute toleration every pod gets")
    parser.add_argument("--service-cluster-ip-range", default="10.96.0.0/16",
                        help="CIDR of Service cluster IPs (the first one is the kubernetes Service's)")
    parser.add_argument("--service-node-port-range", default="30000-32767",
                        help="ports from which NodePort and LoadBalancer Services get node ports")
    parser.add_argument("--advertise-address", default="",
                        help="the address in the kubernetes Service's endpoints (default: --bind-address; the lab "
                             "passes the kubeling network's gateway 10.244.0.1 so pods can reach it)")
    parser.add_argument("--authorization-mode", type=authorization_mode, default="AlwaysAllow",
                        help=f"ordered comma-separated authorizers: {', '.join(MODES)}; every HTTP API request "
                             "(but /healthz, /livez, /readyz) and access review (kubectl auth can-i) is put to them, "
                             "a refusal is 403 Forbidden; every request is system:anonymous (no authentication); "
                             "the gRPC API is not authorized")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    config = ServerConfig(etcd_endpoint=args.etcd_servers, bind_address=args.bind_address,
                          grpc_port=args.grpc_port, http_port=args.port,
                          compaction_interval=args.compaction_interval,
                          watch_cache_capacity=args.watch_cache_capacity,
                          bookmark_interval=args.bookmark_interval,
                          watch_batch_interval=args.watch_batch_interval, reuse_port=args.reuse_port,
                          max_requests_inflight=args.max_requests_inflight,
                          max_mutating_requests_inflight=args.max_mutating_requests_inflight,
                          default_not_ready_toleration_seconds=args.default_not_ready_toleration_seconds,
                          default_unreachable_toleration_seconds=args.default_unreachable_toleration_seconds,
                          service_cluster_ip_range=args.service_cluster_ip_range,
                          service_node_port_range=args.service_node_port_range,
                          advertise_address=args.advertise_address,
                          authorization_mode=args.authorization_mode)
    server = APIServer(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    print(f"kubeling-apiserver ready grpc={server.grpc_port} http={server.http_port}", flush=True)
    await stop.wait()
    await server.stop()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
