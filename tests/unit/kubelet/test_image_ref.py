"""Image references: the docker/distribution grammar, normalization, and the kubelet's error message."""

from __future__ import annotations

import pytest

from kubelet.runtime.image_ref import ImageReference, parse_image_reference, with_default_tag
from kubelet.runtime.interface import InvalidImageNameError

SHA = "sha256:" + "a" * 64

VALID = [
    ("busybox", ImageReference("docker.io", "library/busybox")),
    ("busybox:1.35", ImageReference("docker.io", "library/busybox", "1.35")),
    ("kubeling/pause:3", ImageReference("docker.io", "kubeling/pause", "3")),
    ("docker.io/library/nginx:1.25-alpine", ImageReference("docker.io", "library/nginx", "1.25-alpine")),
    ("index.docker.io/nginx", ImageReference("docker.io", "library/nginx")),
    ("registry.k8s.io/pause:3.9", ImageReference("registry.k8s.io", "pause", "3.9")),
    ("localhost/app", ImageReference("localhost", "app")),
    ("localhost:5000/team/app:v1", ImageReference("localhost:5000", "team/app", "v1")),
    ("my-registry.example.com:443/a/b/c:tag_1", ImageReference("my-registry.example.com:443", "a/b/c", "tag_1")),
    ("Registry.Example.com/app", ImageReference("Registry.Example.com", "app")),
    ("[::1]:5000/app:v2", ImageReference("[::1]:5000", "app", "v2")),
    (f"busybox@{SHA}", ImageReference("docker.io", "library/busybox", None, SHA)),
    (f"busybox:1.35@{SHA}", ImageReference("docker.io", "library/busybox", "1.35", SHA)),
    ("a_b.c__d-e---f", ImageReference("docker.io", "library/a_b.c__d-e---f")),
    ("app:" + "x" * 128, ImageReference("docker.io", "library/app", "x" * 128)),
    ("app:Latest.Tag-1", ImageReference("docker.io", "library/app", "Latest.Tag-1")),
]

INVALID = [
    ("", "invalid reference format"),
    ("UPPER", "repository name must be lowercase"),
    ("kubeling/Pause:3", "repository name must be lowercase"),
    ("bad image", "invalid reference format"),
    ("a:b:c", "invalid reference format"),
    ("app:", "invalid reference format"),
    ("app:" + "x" * 129, "invalid reference format"),
    ("app:-tag", "invalid reference format"),
    ("-app", "invalid reference format"),
    ("app-", "invalid reference format"),
    ("app__", "invalid reference format"),
    ("a___b", "invalid reference format"),
    ("/app", "invalid reference format"),
    ("app/", "invalid reference format"),
    ("a//b", "invalid reference format"),
    ("app@sha256:abc", "invalid reference format"),
    ("app@sha256:" + "a" * 63, "invalid checksum digest length"),
    ("app@md5:" + "a" * 32, "unsupported digest algorithm"),
    ("a" * 64, "cannot specify 64-byte hexadecimal strings"),
    ("example.com/" + "a" * 250, "must not be more than 255 characters"),
    ("app:tag@", "invalid reference format"),
    ("http://example.com/app", "invalid reference format"),
]


@pytest.mark.parametrize(("ref", "expected"), VALID)
def test_valid_references(ref: str, expected: ImageReference) -> None:
    assert parse_image_reference(ref) == expected


@pytest.mark.parametrize(("ref", "reason"), INVALID)
def test_invalid_references(ref: str, reason: str) -> None:
    with pytest.raises(InvalidImageNameError) as err:
        parse_image_reference(ref)
    message = str(err.value)
    assert message.startswith(f'Failed to apply default image tag "{ref}": couldn\'t parse image reference "{ref}": ')
    assert reason in message


def test_kubernetes_message_for_a_bad_reference() -> None:
    with pytest.raises(InvalidImageNameError) as err:
        with_default_tag("bad image")
    assert str(err.value) == (
        'Failed to apply default image tag "bad image": couldn\'t parse image reference "bad image": '
        "invalid reference format"
    )


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("busybox", "busybox:latest"),
        ("busybox:1.35", "busybox:1.35"),
        ("localhost:5000/app", "localhost:5000/app:latest"),
        (f"busybox@{SHA}", f"busybox@{SHA}"),
    ],
)
def test_with_default_tag(ref: str, expected: str) -> None:
    assert with_default_tag(ref) == expected


def test_str_is_the_normalized_reference() -> None:
    assert str(parse_image_reference("busybox")) == "docker.io/library/busybox"
    assert str(parse_image_reference(f"localhost:5000/app:v1@{SHA}")) == f"localhost:5000/app:v1@{SHA}"
