"""The ceiling of any Python gRPC server on this machine: a no-op echo server.

The apiserver is a Python gRPC server (grpcio's asyncio server), so however little it does per
request, it cannot answer more calls per second than a server that does nothing: this measures
that, with the same client library, message size and concurrency as the create benchmark, in
its own OS process like the apiserver. Each apiserver create also makes one etcd call (as a
gRPC client), so it pays this hop plus a client hop.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time

import grpc

SERVICE, METHOD = "bench.Echo", "Echo"


def serve(port: int) -> None:
    """Run the echo server until terminated (a child process)."""
    async def main() -> None:
        server = grpc.aio.server()

        async def echo(request: bytes, context: object) -> bytes:
            return request

        handler = grpc.method_handlers_generic_handler(SERVICE, {METHOD: grpc.unary_unary_rpc_method_handler(echo)})
        server.add_generic_rpc_handlers((handler,))
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        await server.wait_for_termination()
    asyncio.run(main())


async def calls_per_second(port: int, count: int, concurrency: int, size: int = 300) -> float:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(f"/{SERVICE}/{METHOD}")
        await call(b"warm-up", wait_for_ready=True)
        remaining = [count]
        body = b"x" * size

        async def worker() -> None:
            while remaining[0] > 0:
                remaining[0] -= 1
                await call(body)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - started)


async def echo_ceiling(port: int, count: int, concurrency: int) -> float:
    """Calls/s a no-op Python gRPC server answers at `concurrency` (server started and stopped here)."""
    process = multiprocessing.get_context("spawn").Process(target=serve, args=(port,), daemon=True)
    process.start()
    try:
        return await calls_per_second(port, count, concurrency)
    finally:
        process.terminate()
        process.join()
