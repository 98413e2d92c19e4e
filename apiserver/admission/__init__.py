"""Admission: checks and mutations that run on every write after defaulting, before validation.

Each plugin is a small class with `admit(request)`; it may change `request.object` (mutating) or
raise an ApiError (rejecting). The chain runs in order; the first rejection wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from apimachinery.kinds import ResourceType

CREATE, UPDATE, DELETE = "CREATE", "UPDATE", "DELETE"


@dataclass
class AdmissionRequest:
    operation: str
    rt: ResourceType
    namespace: str
    name: str
    object: dict[str, Any] | None
    old: dict[str, Any] | None = None
    subresource: str = ""


class AdmissionPlugin(Protocol):
    name: str

    async def admit(self, request: AdmissionRequest) -> None: ...


class AdmissionChain:
    def __init__(self, plugins: list[AdmissionPlugin]) -> None:
        self.plugins = plugins

    async def admit(self, request: AdmissionRequest) -> None:
        for plugin in self.plugins:
            await plugin.admit(request)
