"""The committed Python for the vendored Kubernetes protos (proto/k8s/) matches them (run `make proto`)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "proto" / "k8s"


def test_generated_k8s_proto_code_is_current(tmp_path: Path) -> None:
    protos = sorted(str(p.relative_to(K8S)) for p in (K8S / "k8s.io").rglob("generated.proto"))
    assert len(protos) >= 19
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", ".", f"--python_out={tmp_path}", *protos],
                   check=True, cwd=K8S, capture_output=True)
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*_pb2.py"))
    committed = sorted(p.relative_to(K8S) for p in (K8S / "k8s").rglob("*_pb2.py"))
    assert committed == fresh, "proto/k8s/k8s/ does not hold exactly the generated modules: run `make proto`"
    for rel in fresh:
        assert (K8S / rel).read_text() == (tmp_path / rel).read_text(), f"proto/k8s/{rel} is stale: run `make proto`"


def test_every_vendored_proto_is_loaded_by_proto_k8s() -> None:
    import proto.k8s

    on_disk = {".".join(p.relative_to(K8S / "k8s.io").with_suffix("").parts) for p in (K8S / "k8s.io").rglob("*.proto")}
    listed = {m.removeprefix("k8s.io.").removesuffix("_pb2") for m in proto.k8s.MODULES}
    assert listed == on_disk
