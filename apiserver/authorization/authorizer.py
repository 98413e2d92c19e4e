"""Authorizers: may this user do this verb on this resource (or non-resource path)?

Kubernetes' `authorizer.Authorizer` answers one question per request with a decision — Allow,
Deny, or NoOpinion (the next authorizer in the chain decides; if none allows, the request is
forbidden) — and a reason. A `RuleResolver` lists what a user may do in a namespace, which is
what `SelfSubjectRulesReview` (`kubectl auth can-i --list`) reports.

kubeling implements the two static modes of kube-apiserver's `--authorization-mode`:
`AlwaysAllow` (every request is allowed; what kubeling does by default, as it has no
authentication yet) and `AlwaysDeny` (nothing is, with the reason "Everything is forbidden.").
`new_authorizer("A,B")` chains modes as kube-apiserver does; a future RBAC authorizer is one more
class with the same two methods.

Every HTTP API request is put to the authorizer before its handler runs (kube-apiserver's
WithAuthorization filter, `apiserver.http_api.authorization_filter`), as is every access review;
`forbidden` is the 403 a request it does not allow gets. Under AlwaysDeny even discovery and
`kubectl auth can-i` are refused; only /healthz, /livez and /readyz stay open (kubeling's
supervisor polls them). The gRPC API, the components' internal wire, is not authorized.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

from apimachinery import errors
from apiserver.authorization.user import UserInfo


class Verdict(enum.Enum):
    """authorizer.Decision: DecisionDeny, DecisionAllow, DecisionNoOpinion."""

    DENY = "Deny"
    ALLOW = "Allow"
    NO_OPINION = "NoOpinion"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str = ""
    evaluation_error: str = ""

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW

    @property
    def denied(self) -> bool:
        return self.verdict is Verdict.DENY


@dataclass(frozen=True)
class Attributes:
    """authorizer.AttributesRecord: who asks to do what. `resource_request` False means `path` is
    a non-resource URL (/healthz, /version, /apis ...) and only `verb` and `path` matter."""

    user: UserInfo
    verb: str
    resource_request: bool = True
    namespace: str = ""
    api_group: str = ""
    api_version: str = "*"
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""


@dataclass(frozen=True)
class ResourceRule:
    verbs: tuple[str, ...]
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class NonResourceRule:
    verbs: tuple[str, ...]
    non_resource_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rules:
    """What a RuleResolver found; `incomplete` when some rules could not be evaluated."""

    resource_rules: tuple[ResourceRule, ...] = ()
    non_resource_rules: tuple[NonResourceRule, ...] = ()
    incomplete: bool = False
    evaluation_error: str = ""


class Authorizer(Protocol):
    """An authorizer and rule resolver, as kube-apiserver's authorization modes are."""

    def authorize(self, attributes: Attributes) -> Decision: ...

    def rules_for(self, user: UserInfo, namespace: str) -> Rules: ...


class AlwaysAllow:
    """`--authorization-mode=AlwaysAllow`: every request is allowed; the rules are `*` on `*`."""

    def authorize(self, attributes: Attributes) -> Decision:
        return Decision(Verdict.ALLOW)

    def rules_for(self, user: UserInfo, namespace: str) -> Rules:
        return Rules((ResourceRule(("*",), ("*",), ("*",)),), (NonResourceRule(("*",), ("*",)),))


class AlwaysDeny:
    """`--authorization-mode=AlwaysDeny`: no opinion on anything, so nothing is allowed."""

    REASON = "Everything is forbidden."

    def authorize(self, attributes: Attributes) -> Decision:
        return Decision(Verdict.NO_OPINION, self.REASON)

    def rules_for(self, user: UserInfo, namespace: str) -> Rules:
        return Rules()


@dataclass
class Union:
    """Authorizers in order: the first Allow or Deny wins; NoOpinion reasons are joined."""

    authorizers: list[Authorizer] = field(default_factory=list)

    def authorize(self, attributes: Attributes) -> Decision:
        reasons, failures = [], []
        for authorizer in self.authorizers:
            decision = authorizer.authorize(attributes)
            if decision.verdict is not Verdict.NO_OPINION:
                return decision
            reasons += [decision.reason] if decision.reason else []
            failures += [decision.evaluation_error] if decision.evaluation_error else []
        return Decision(Verdict.NO_OPINION, "\n".join(reasons), "\n".join(failures))

    def rules_for(self, user: UserInfo, namespace: str) -> Rules:
        found = [authorizer.rules_for(user, namespace) for authorizer in self.authorizers]
        return Rules(tuple(r for rules in found for r in rules.resource_rules),
                     tuple(r for rules in found for r in rules.non_resource_rules),
                     any(rules.incomplete for rules in found),
                     "\n".join(rules.evaluation_error for rules in found if rules.evaluation_error))


SANITIZE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})  # responsewriters' sanitizer
MODES: dict[str, type[AlwaysAllow] | type[AlwaysDeny]] = {"AlwaysAllow": AlwaysAllow, "AlwaysDeny": AlwaysDeny}


def new_authorizer(modes: str) -> Authorizer:
    """The authorizer for an `--authorization-mode` value: one mode or a comma-separated chain."""
    names = [name.strip() for name in modes.split(",") if name.strip()]
    unknown = [name for name in names if name not in MODES]
    if not names or unknown:
        raise ValueError(f"authorization mode {','.join(unknown) or repr(modes)} is not supported; "
                         f"supported modes: {', '.join(MODES)}")
    if len(set(names)) != len(names):
        raise ValueError(f"authorization mode {modes} has a mode listed twice")
    if len(names) == 1:
        return MODES[names[0]]()
    return Union([MODES[name]() for name in names])


def forbidden_message(attributes: Attributes) -> str:
    """`User "alice" cannot list resource "pods" in API group "" in the namespace "default"`."""
    user = attributes.user.name
    if not attributes.resource_request:
        return f'User "{user}" cannot {attributes.verb} path "{attributes.path}"'
    resource = attributes.resource + (f"/{attributes.subresource}" if attributes.subresource else "")
    where = f'in the namespace "{attributes.namespace}"' if attributes.namespace else "at the cluster scope"
    return f'User "{user}" cannot {attributes.verb} resource "{resource}" in API group "{attributes.api_group}" {where}'


def forbidden(attributes: Attributes, reason: str) -> errors.ApiError:
    """The 403 a request the authorizer did not allow gets (responsewriters.ForbiddenStatusError)."""
    text = forbidden_message(attributes).translate(SANITIZE) + (f": {reason}" if reason else "")
    resource = attributes.resource
    if attributes.resource_request and resource:
        qualified = f"{resource}.{attributes.api_group}" if attributes.api_group else resource
        subject = f'{qualified} "{attributes.name}"' if attributes.name else qualified
        message = f"{subject} is forbidden: {text}"
    else:
        message = f"forbidden: {text}"
    details = {key: value for key, value in (("name", attributes.name), ("group", attributes.api_group),
                                             ("kind", resource)) if value}
    return errors.Forbidden(403, errors.REASON_FORBIDDEN, message, details)
