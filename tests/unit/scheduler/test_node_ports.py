import pytest

from scheduler.interface import Code
from scheduler.node_info import NodeInfo
from scheduler.plugins.node_ports import NodePorts
from scheduler.pod_info import PodInfo
from tests.unit.scheduler.fakes import node, pod, run_filter


def with_port(name: str, port: int, protocol: str = "TCP", ip: str = "", node_name: str = "") -> dict:
    p = pod(name, node_name=node_name)
    spec = {"containerPort": 80, "hostPort": port, "protocol": protocol}
    if ip:
        spec["hostIP"] = ip
    p["spec"]["containers"][0]["ports"] = [spec]
    return p


@pytest.mark.parametrize(("used", "wanted", "expected"), [
    (None, None, Code.SKIP),
    (None, (8080, "TCP", ""), Code.SUCCESS),
    ((8080, "TCP", ""), (8080, "TCP", ""), Code.UNSCHEDULABLE),
    ((8080, "TCP", ""), (8080, "UDP", ""), Code.SUCCESS),
    ((8080, "TCP", ""), (8081, "TCP", ""), Code.SUCCESS),
    ((8080, "TCP", "10.0.0.1"), (8080, "TCP", "10.0.0.2"), Code.SUCCESS),
    ((8080, "TCP", "10.0.0.1"), (8080, "TCP", "10.0.0.1"), Code.UNSCHEDULABLE),
    ((8080, "TCP", "10.0.0.1"), (8080, "TCP", ""), Code.UNSCHEDULABLE),
])
def test_host_ports_conflict_by_protocol_port_and_ip(used: tuple | None, wanted: tuple | None,
                                                       expected: Code) -> None:
    info = NodeInfo(node("n1"))
    if used:
        port, protocol, ip = used
        info.add_pod(PodInfo.of(with_port("old", port, protocol, ip, node_name="n1")))
    incoming = with_port("new", *wanted) if wanted else pod("new")
    status = run_filter(NodePorts(), incoming, info)
    assert status.code == expected
    if expected == Code.UNSCHEDULABLE:
        assert status.reasons == ("node(s) didn't have free ports for the requested pod ports",)
