"""Services through kubectl: expose a Deployment, the endpoints of its ready pods, a client pod reaching it by
DNS name through the service proxy, describe svc and get all."""

from __future__ import annotations

import os
import re

import pytest

from tests.e2e.kubectl.helpers import BUSYBOX, HELLO_PORT, HELLO_V1, Kubectl, row, table
from tests.e2e.lab import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]


UNREADY = f"""
apiVersion: v1
kind: Pod
metadata:
  name: unready
  labels: {{app: web}}
spec:
  containers:
  - name: main
    image: {BUSYBOX}
    command: ["sleep", "3600"]
    readinessProbe:
      exec: {{command: ["false"]}}
      periodSeconds: 1
"""


def test_expose_a_deployment_and_reach_it_from_a_pod(k: Kubectl) -> None:
    k("create", "deployment", "web", f"--image={HELLO_V1}", "--replicas=2", f"--port={HELLO_PORT}")
    k("run", "client", f"--image={BUSYBOX}", "--", "sleep", "3600")
    k("apply", "-f", "-", stdin=UNREADY)
    k.rollout_status("deploy/web")
    out = k("expose", "deploy/web", "--port", "80", "--target-port", str(HELLO_PORT))
    assert out.strip() == "service/web exposed"
    wait_for("the unready pod Running", lambda: k.jsonpath("pod/unready", "{.status.phase}") == "Running", timeout=30)
    assert row(k("get", "pod", "unready"), "unready")["READY"] == "0/1"

    ips = sorted(p["status"]["podIP"] for p in k.pods("app=web") if p["metadata"]["name"] != "unready")
    want = ",".join(f"{ip}:{HELLO_PORT}" for ip in ips)

    def endpoints() -> str:
        out = k("get", "svc,ep")
        # only ready pods: the unready one is a notReadyAddress, which the ENDPOINTS column does not show
        return out if want in {r.get("ENDPOINTS") for r in table(out.split("\n\n")[-1])} else ""

    out = wait_for(f"endpoints {want}", endpoints, timeout=30)
    subsets = k.get("ep", "web")["subsets"]
    not_ready = [a["ip"] for subset in subsets for a in subset.get("notReadyAddresses", [])]
    assert not_ready == [k.jsonpath("pod/unready", "{.status.podIP}")]
    svc = row(out.split("\n\n")[0], "service/web")
    assert svc["TYPE"] == "ClusterIP" and svc["PORT(S)"] == "80/TCP" and svc["CLUSTER-IP"].startswith("10.96.")

    described = k("describe", "svc", "web")
    assert re.search(rf"^TargetPort:\s+{HELLO_PORT}/TCP$", described, re.M), described
    shown = re.search(r"^Endpoints:\s+(\S+)$", described, re.M)
    assert shown and sorted(shown.group(1).split(",")) == want.split(","), described  # from EndpointSlices: any order
    assert "Events:" in described

    everything = k("get", "all")
    for name in ("pod/client", "service/web", "deployment.apps/web"):
        assert name in everything, everything
    assert "replicaset.apps/web-" in everything

    if not k.lab.recorded()["settings"].get("with_proxy"):
        message = "the lab cluster has no service proxy (another kubeling proxy runs on this host, or not root)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    k("wait", "--for=condition=Ready", "pod/client", "--timeout=60s", timeout=70)

    def fetch() -> str:
        result = k.run("exec", "client", "--", "timeout", "5", "wget", "-qO-", "http://web", timeout=20)
        return result.stdout if result.returncode == 0 else ""

    answer = wait_for("the Service to answer through DNS and the proxy", fetch, timeout=40, interval=1)
    assert answer.startswith("[v1] Hello from web-"), answer
