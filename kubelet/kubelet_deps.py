"""Everything a pod sync needs, in one place (Kubernetes' ``kubelet.Dependencies``).

The kubelet builds one ``KubeletDeps`` at start-up; a test builds one with a fake runtime and whatever stand-ins it
likes. Nothing here does work of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubelet.dns_config import PodDNSConfigurer
from kubelet.images import ImageManager
from kubelet.object_cache import ObjectCache
from kubelet.prober_manager import ProberManager
from kubelet.runtime.interface import Runtime
from kubelet.status_manager import StatusManager
from kubelet.volume_manager import VolumeManager


class Recorder(Protocol):
    def __call__(self, obj: Mapping[str, Any], type: str, reason: str, message: str,
                 field_path: str = "") -> None: ...


@dataclass
class KubeletDeps:
    node_name: str
    host_ip: str
    runtime: Runtime
    objects: ObjectCache
    volumes: VolumeManager
    images: ImageManager
    prober: ProberManager
    status: StatusManager
    record: Recorder
    dns: PodDNSConfigurer = field(default_factory=PodDNSConfigurer)  # resolv.conf per dnsPolicy
