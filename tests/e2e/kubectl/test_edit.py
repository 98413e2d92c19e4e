"""Changing a live Deployment through kubectl: label, annotate, patch --type strategic, edit (a non-interactive
EDITOR), diff -f."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.kubectl.helpers import HELLO_V1, Kubectl, table

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]


def test_label_annotate_and_strategic_patch(k: Kubectl) -> None:
    k("create", "deployment", "web", f"--image={HELLO_V1}", "--replicas=1")
    assert k("label", "deploy/web", "tier=frontend").strip() == "deployment.apps/web labeled"
    assert [r["NAME"] for r in table(k("get", "deploy", "-l", "tier=frontend"))] == ["web"]
    assert "app=web,tier=frontend" in k("get", "deploy", "web", "--show-labels")
    assert k("label", "deploy/web", "tier-").strip() == "deployment.apps/web unlabeled"

    assert k("annotate", "deploy/web", "note=hello world").strip() == "deployment.apps/web annotated"
    assert k.jsonpath("deploy/web", "{.metadata.annotations.note}") == "hello world"

    patch = '{"spec":{"template":{"spec":{"containers":[{"name":"hello","env":[{"name":"COLOR","value":"blue"}]}]}}}}'
    assert k("patch", "deploy/web", "--type", "strategic", "-p", patch).strip() == "deployment.apps/web patched"
    container = k.get("deploy", "web")["spec"]["template"]["spec"]["containers"]
    assert len(container) == 1, "containers merge by name"
    assert container[0]["image"] == HELLO_V1 and container[0]["env"] == [{"name": "COLOR", "value": "blue"}]
    k.rollout_status("deploy/web")
    pod = k.pods("app=web")[0]["metadata"]["name"]
    assert k("exec", pod, "--", "sh", "-c", "echo $COLOR") == "blue\n"
    unchanged = k("patch", "deploy/web", "--type", "strategic", "-p", patch)
    assert unchanged.strip() == "deployment.apps/web patched (no change)"


def test_edit_with_a_scripted_editor(k: Kubectl, tmp_path: Path) -> None:
    k("create", "deployment", "web", f"--image={HELLO_V1}", "--replicas=1")
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/replicas: 1$/replicas: 2/' \"$1\"\n")
    editor.chmod(0o755)
    out = k("edit", "deploy/web", env={"EDITOR": str(editor), "KUBE_EDITOR": ""})
    assert out.strip() == "deployment.apps/web edited"
    assert k.jsonpath("deploy/web", "{.spec.replicas}") == "2"
    k.rollout_status("deploy/web")

    unchanged = k.run("edit", "deploy/web", env={"EDITOR": "true", "KUBE_EDITOR": ""})
    assert unchanged.returncode == 0 and "Edit cancelled, no changes made." in unchanged.stderr


def test_diff_exits_1_and_shows_the_change(k: Kubectl, tmp_path: Path) -> None:
    manifest = tmp_path / "web.yaml"
    manifest.write_text(k("create", "deployment", "web", f"--image={HELLO_V1}", "--replicas=1", "--dry-run=client",
                          "-o", "yaml"))
    k("apply", "-f", str(manifest))
    same = k.run("diff", "-f", str(manifest))
    assert (same.returncode, same.stdout) == (0, ""), same.stderr

    manifest.write_text(manifest.read_text().replace("replicas: 1", "replicas: 3"))
    changed = k.run("diff", "-f", str(manifest))
    assert changed.returncode == 1, changed.stderr
    lines = changed.stdout.splitlines()
    assert lines[0].startswith("diff -u -N ") and "apps.v1.Deployment." in lines[0]
    assert "-  replicas: 1" in lines and "+  replicas: 3" in lines, changed.stdout
    assert k.jsonpath("deploy/web", "{.spec.replicas}") == "1", "diff changes nothing"


def test_diff_of_a_live_manifest_shows_only_the_changed_fields(k: Kubectl, tmp_path: Path) -> None:
    k("create", "deployment", "web", f"--image={HELLO_V1}", "--replicas=1")
    live = k("get", "deploy", "web", "-o", "yaml")
    manifest = tmp_path / "web.yaml"
    # without its resourceVersion: the controller's status writes must not make the patch a conflict
    lines = [line for line in live.splitlines(keepends=True) if not line.startswith("  resourceVersion:")]
    manifest.write_text("".join(lines).replace("replicas: 1\n", "replicas: 2\n", 1))
    changed = k.run("diff", "-f", str(manifest))
    assert changed.returncode == 1, changed.stderr
    assert "+  replicas: 2" in changed.stdout
    # a server-side dry run keeps the live resourceVersion: it is no part of the difference
    assert "resourceVersion" not in changed.stdout, changed.stdout
