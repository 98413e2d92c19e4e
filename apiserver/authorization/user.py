"""Who a request comes from (k8s.io/apiserver/pkg/authentication/user).

kubeling has no authentication yet, so every request is what kube-apiserver calls anonymous:
user `system:anonymous` in group `system:unauthenticated` (kube-apiserver with
`--anonymous-auth=true` and no credentials on the request).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ANONYMOUS_USER = "system:anonymous"
UNAUTHENTICATED_GROUP = "system:unauthenticated"


@dataclass(frozen=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """authentication.k8s.io/v1 UserInfo (every field omitempty)."""
        out: dict[str, Any] = {}
        if self.name:
            out["username"] = self.name
        if self.uid:
            out["uid"] = self.uid
        if self.groups:
            out["groups"] = list(self.groups)
        if self.extra:
            out["extra"] = {key: list(values) for key, values in self.extra.items()}
        return out


ANONYMOUS = UserInfo(ANONYMOUS_USER, groups=(UNAUTHENTICATED_GROUP,))
