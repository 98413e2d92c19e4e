"""The committed generated code matches proto/kubeling.proto (run `make proto` after editing it)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_proto_code_is_current(tmp_path: Path) -> None:
    (tmp_path / "proto").mkdir()
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", str(ROOT), f"--python_out={tmp_path}",
                    f"--pyi_out={tmp_path}", f"--grpc_python_out={tmp_path}", str(ROOT / "proto/kubeling.proto")],
                   check=True)
    for name in ("kubeling_pb2.py", "kubeling_pb2.pyi", "kubeling_pb2_grpc.py"):
        fresh = (tmp_path / "proto" / name).read_text()
        assert (ROOT / "proto" / name).read_text() == fresh, f"proto/{name} is stale: run `make proto`"
