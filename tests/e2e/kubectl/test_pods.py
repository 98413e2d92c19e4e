"""Pods through kubectl: run, wait, logs (-f, --tail, --previous), exec (plain, -i with stdin, -it through a
pseudo-terminal) and the STATUS column a user reads for crash-looping, unpullable and finished pods."""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e.kubectl.helpers import BUSYBOX, Kubectl, read_until, row, run_in_terminal
from tests.e2e.lab import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

TICKER = "i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done"


def run_ticker(k: Kubectl, name: str = "ticker") -> None:
    assert k("run", name, f"--image={BUSYBOX}", "--", "sh", "-c", TICKER).strip() == f"pod/{name} created"
    out = k("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s", timeout=70)
    assert out.strip() == f"pod/{name} condition met"


def test_run_wait_and_logs(k: Kubectl) -> None:
    run_ticker(k)
    row_ = row(k("get", "pod", "ticker"), "ticker")
    assert (row_["READY"], row_["STATUS"]) == ("1/1", "Running")
    logs = wait_for("3 lines of logs", lambda: (out := k("logs", "ticker")).count("\n") >= 3 and out, timeout=20)
    assert logs.startswith("tick 1\ntick 2\ntick 3\n")

    tail = k("logs", "ticker", "--tail", "1").splitlines()
    assert len(tail) == 1 and tail[0].startswith("tick ")
    assert int(tail[0].split()[1]) >= 3


def test_logs_follow_streams_new_lines(k: Kubectl) -> None:
    run_ticker(k)
    proc = subprocess.Popen(k.argv("logs", "-f", "ticker", "--tail", "1"), env=k.lab.env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    out = read_until(proc, lambda text: text.count("\n") >= 3, timeout=20)
    lines = out.splitlines()
    assert len(lines) >= 3, out
    numbers = [int(line.split()[1]) for line in lines[:3]]
    assert numbers == sorted(numbers) and numbers[2] > numbers[0], "-f keeps printing what the container writes"


def test_exec_runs_a_command_and_passes_stdin(k: Kubectl) -> None:
    run_ticker(k)
    assert k("exec", "ticker", "--", "sh", "-c", "echo hi") == "hi\n"
    assert k("exec", "-i", "ticker", "--", "cat", stdin="hello from stdin\nline 2\n") == "hello from stdin\nline 2\n"
    failed = k.run("exec", "ticker", "--", "sh", "-c", "exit 3")
    assert failed.returncode == 3, failed.stderr
    assert "command terminated with exit code 3" in failed.stderr


def test_exec_it_drives_a_shell_through_a_terminal(k: Kubectl) -> None:
    run_ticker(k)
    out, code = run_in_terminal(k.argv("exec", "-it", "ticker", "--", "sh"), k.lab.env, prompt="# ",
                                keys=b"echo $((6*7)); exit\r", done=lambda text: "\n42" in text, timeout=30)
    assert "\n42\r\n" in out.replace("\r\r", "\r"), out
    assert code == 0, out


def test_status_column_for_crash_loop_missing_image_and_completed(k: Kubectl) -> None:
    k("run", "crash", f"--image={BUSYBOX}", "--", "sh", "-c", "echo crashed once; exit 1")
    k("run", "nope", "--image=kubeling/does-not-exist:v9")
    k("run", "done", f"--image={BUSYBOX}", "--restart=Never", "--", "sh", "-c", "echo finished")

    def statuses() -> dict[str, str] | None:
        out = k("get", "pods")
        found = {name: row(out, name)["STATUS"] for name in ("crash", "nope", "done")}
        wanted = {"crash": "CrashLoopBackOff", "nope": "ImagePullBackOff", "done": "Completed"}
        return found if found == wanted else None

    wait_for("CrashLoopBackOff, ImagePullBackOff and Completed", statuses, timeout=60)
    crash = row(k("get", "pod", "crash"), "crash")
    assert crash["READY"] == "0/1" and int(crash["RESTARTS"].split()[0]) >= 1
    assert k("logs", "done") == "finished\n"

    # the restarted container's previous attempt keeps its output
    assert k("logs", "crash", "--previous") == "crashed once\n"
    events = k("get", "events", "--field-selector", "involvedObject.name=crash")
    assert "BackOff" in events and "Back-off restarting failed container crash" in events
    k("delete", "pod", "crash", "nope", "--grace-period=0", "--force")


def test_previous_logs_of_a_running_container_after_a_restart(k: Kubectl) -> None:
    """A container that exits once and then runs: --previous is the first attempt, plain logs the running one."""
    script = "if [ -e /data/ran ]; then echo second run; sleep 3600; else touch /data/ran; echo first run; exit 1; fi"
    manifest = f"""
apiVersion: v1
kind: Pod
metadata:
  name: twice
spec:
  volumes: [{{name: data, emptyDir: {{}}}}]
  containers:
  - name: main
    image: {BUSYBOX}
    command: ["sh", "-c", "{script}"]
    volumeMounts: [{{name: data, mountPath: /data}}]
"""
    k("apply", "-f", "-", stdin=manifest)
    k("wait", "--for=condition=Ready", "pod/twice", "--timeout=60s", timeout=70)
    assert k.jsonpath("pod/twice", "{.status.containerStatuses[0].restartCount}") == "1"
    assert k("logs", "twice") == "second run\n"
    assert k("logs", "twice", "--previous") == "first run\n"
    assert k("logs", "twice", "-p", "-c", "main") == "first run\n"
