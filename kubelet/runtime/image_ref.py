"""Image references, parsed the way the kubelet does before it asks a runtime for an image.

The grammar is docker/distribution's ``reference`` package (what ``reference.ParseNormalizedNamed`` accepts)::

    reference        := name [ ":" tag ] [ "@" digest ]
    name             := [domain '/'] path-component ['/' path-component]*
    domain           := domain-component ['.' domain-component]* [':' port-number]
    domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
    path-component   := alpha-numeric [separator alpha-numeric]*
    alpha-numeric    := /[a-z0-9]+/
    separator        := /[_.]|__|[-]*/
    tag              := /[\\w][\\w.-]{0,127}/
    digest           := algorithm ":" hex      (algorithm components /[A-Za-z][A-Za-z0-9]*/ joined by [+._-])

The first component is a domain only when it contains "." or ":" or is "localhost"; otherwise the name is on
docker.io and a one-component name gets the ``library/`` prefix (``busybox`` -> ``docker.io/library/busybox``).
Pure functions: no runtime, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubelet.runtime.interface import InvalidImageNameError

DEFAULT_DOMAIN = "docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

_ALPHANUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[_.]|__|[-]*)"
_PATH_COMPONENT = rf"{_ALPHANUM}(?:{_SEPARATOR}{_ALPHANUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"

_REFERENCE_RE = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$")
_ANCHORED_IDENTIFIER_RE = re.compile(r"^[a-f0-9]{64}$")
_DIGEST_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}


@dataclass(frozen=True)
class ImageReference:
    """A parsed, normalized reference: ``domain/path[:tag][@digest]``."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def _error(ref: str, reason: str) -> InvalidImageNameError:
    return InvalidImageNameError(
        f'Failed to apply default image tag "{ref}": couldn\'t parse image reference "{ref}": {reason}'
    )


def _split_domain(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    if not sep or ("." not in first and ":" not in first and first != "localhost"):
        domain, path = DEFAULT_DOMAIN, name
    else:
        domain, path = first, rest
    if domain in ("index.docker.io",):
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_PREFIX + path
    return domain, path


def parse_image_reference(ref: str) -> ImageReference:
    """Parse ``ref`` like ``reference.ParseNormalizedNamed``; raises InvalidImageNameError with the kubelet's message.

    >>> parse_image_reference("busybox")
    ImageReference(domain='docker.io', path='library/busybox', tag=None, digest=None)
    """
    if not ref:
        raise _error(ref, "invalid reference format")
    if _ANCHORED_IDENTIFIER_RE.match(ref):
        raise _error(ref, f"invalid repository name ({ref}), cannot specify 64-byte hexadecimal strings")
    first, sep, rest = ref.partition("/")
    has_domain = bool(sep) and ("." in first or ":" in first or first == "localhost")
    remote_name = (rest if has_domain else ref).partition("@")[0].partition(":")[0]
    if remote_name.lower() != remote_name:
        raise _error(ref, "invalid reference format: repository name must be lowercase")
    m = _REFERENCE_RE.match(ref)
    if m is None:
        raise _error(ref, "invalid reference format")
    name, tag, digest = m.group(1), m.group(2), m.group(3)
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise _error(ref, f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters")
    if digest:
        algorithm, _, hex_part = digest.partition(":")
        expected = _DIGEST_HEX_LENGTH.get(algorithm)
        if expected is None:
            raise _error(ref, "unsupported digest algorithm")
        if len(hex_part) != expected:
            raise _error(ref, "invalid checksum digest length")
        if hex_part != hex_part.lower():
            raise _error(ref, "invalid checksum digest format")
    domain, path = _split_domain(name)
    if domain == DEFAULT_DOMAIN and _ANCHORED_IDENTIFIER_RE.match(path.removeprefix(OFFICIAL_PREFIX)):
        raise _error(ref, f"invalid repository name ({ref}), cannot specify 64-byte hexadecimal strings")
    return ImageReference(domain=domain, path=path, tag=tag, digest=digest)


def with_default_tag(ref: str) -> str:
    """``ref`` with ``:latest`` appended when it has neither tag nor digest (the kubelet's applyDefaultImageTag).

    Raises InvalidImageNameError for an unparsable reference.
    """
    parsed = parse_image_reference(ref)
    if parsed.tag is None and parsed.digest is None:
        return f"{ref}:{DEFAULT_TAG}"
    return ref
