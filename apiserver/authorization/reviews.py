"""The review kinds: questions to the authorizer (and authenticator) asked by creating an object.

They are virtual, create-only resources, as in kube-apiserver: POST returns the object with its
`status` filled in, nothing is stored. `REVIEW_TYPES` describes them for discovery.

- SelfSubjectAccessReview (`kubectl auth can-i create deployments`): may *I* do this?
- SubjectAccessReview: may this user/group do this? LocalSubjectAccessReview: the same, in one
  namespace (the path's).
- SelfSubjectRulesReview (`kubectl auth can-i --list`): what may I do in `spec.namespace`?
- SelfSubjectReview, authentication.k8s.io (`kubectl auth whoami`): who am I?
"""

from __future__ import annotations

from typing import Any

from apimachinery import errors
from apimachinery.kinds import ResourceType
from apiserver.authorization import review_validation as validation
from apiserver.authorization.authorizer import Attributes, Authorizer, Decision, Rules
from apiserver.authorization.user import UserInfo

Object = dict[str, Any]
AUTHORIZATION = "authorization.k8s.io"
AUTHENTICATION = "authentication.k8s.io"


def _review(group: str, kind: str, namespaced: bool = False) -> ResourceType:
    package = "authorization" if group == AUTHORIZATION else "authentication"
    return ResourceType(group, "v1", kind, kind.lower() + "s", namespaced=namespaced, has_status=False,
                        schema_ref=f"io.k8s.api.{package}.v1.{kind}", verbs=("create",))


SELF_SUBJECT_ACCESS_REVIEW = _review(AUTHORIZATION, "SelfSubjectAccessReview")
SUBJECT_ACCESS_REVIEW = _review(AUTHORIZATION, "SubjectAccessReview")
LOCAL_SUBJECT_ACCESS_REVIEW = _review(AUTHORIZATION, "LocalSubjectAccessReview", namespaced=True)
SELF_SUBJECT_RULES_REVIEW = _review(AUTHORIZATION, "SelfSubjectRulesReview")
SELF_SUBJECT_REVIEW = _review(AUTHENTICATION, "SelfSubjectReview")
REVIEW_TYPES = (SELF_SUBJECT_ACCESS_REVIEW, SUBJECT_ACCESS_REVIEW, LOCAL_SUBJECT_ACCESS_REVIEW,
                SELF_SUBJECT_RULES_REVIEW, SELF_SUBJECT_REVIEW)


def attributes_from(spec: Object, user: UserInfo) -> Attributes:
    """authorizationutil.ResourceAttributesFrom / NonResourceAttributesFrom ("" version → "*")."""
    resource = spec.get("resourceAttributes")
    if resource is not None:
        return Attributes(user, resource.get("verb", ""), True, resource.get("namespace", ""),
                          resource.get("group", ""), resource.get("version") or "*", resource.get("resource", ""),
                          resource.get("subresource", ""), resource.get("name", ""))
    non_resource = spec.get("nonResourceAttributes") or {}
    return Attributes(user, non_resource.get("verb", ""), False, path=non_resource.get("path", ""))


def subject_of(spec: Object) -> UserInfo:
    """The user a SubjectAccessReview asks about."""
    extra = {key: tuple(values or ()) for key, values in (spec.get("extra") or {}).items()}
    return UserInfo(spec.get("user", ""), spec.get("uid", ""), tuple(spec.get("groups") or ()), extra)


def access_status(decision: Decision) -> Object:
    """SubjectAccessReviewStatus: allowed always, the rest only when set."""
    status: Object = {"allowed": decision.allowed}
    if decision.denied:
        status["denied"] = True
    if decision.reason:
        status["reason"] = decision.reason
    if decision.evaluation_error:
        status["evaluationError"] = decision.evaluation_error
    return status


def _invalid(rt: ResourceType, found: list[errors.FieldError]) -> None:
    if found:
        raise errors.invalid(rt.kind, "", found, rt.group)


def _answer(obj: Object, status: Object) -> Object:
    metadata = {"creationTimestamp": None, **{k: v for k, v in (obj.get("metadata") or {}).items()
                                               if k == "namespace" and v}}
    return {"kind": obj["kind"], "apiVersion": obj["apiVersion"], "metadata": metadata,
            "spec": obj.get("spec") or {}, "status": status}


def self_subject_access_review(obj: Object, user: UserInfo, authorizer: Authorizer) -> Object:
    _invalid(SELF_SUBJECT_ACCESS_REVIEW, validation.validate_self_access_review(obj))
    spec = obj.get("spec") or {}
    return _answer(obj, access_status(authorizer.authorize(attributes_from(spec, user))))


def subject_access_review(obj: Object, authorizer: Authorizer) -> Object:
    _invalid(SUBJECT_ACCESS_REVIEW, validation.validate_subject_access_review(obj))
    spec = obj.get("spec") or {}
    return _answer(obj, access_status(authorizer.authorize(attributes_from(spec, subject_of(spec)))))


def local_subject_access_review(obj: Object, namespace: str, authorizer: Authorizer) -> Object:
    """The path's namespace fills an unset metadata.namespace; a different one is a 400."""
    metadata = obj.get("metadata") or {}
    if metadata.get("namespace") and metadata["namespace"] != namespace:
        raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the "
                                 "request")
    obj["metadata"] = {**metadata, "namespace": namespace}
    _invalid(LOCAL_SUBJECT_ACCESS_REVIEW, validation.validate_local_access_review(obj))
    spec = obj.get("spec") or {}
    return _answer(obj, access_status(authorizer.authorize(attributes_from(spec, subject_of(spec)))))


def rules_status(rules: Rules) -> Object:
    """SubjectRulesReviewStatus (resourceRules, nonResourceRules and incomplete always present)."""
    resource_rules = []
    for rule in rules.resource_rules:
        entry: Object = {"verbs": list(rule.verbs)}
        for key, values in (("apiGroups", rule.api_groups), ("resources", rule.resources),
                            ("resourceNames", rule.resource_names)):
            if values:
                entry[key] = list(values)
        resource_rules.append(entry)
    non_resource_rules = [{"verbs": list(rule.verbs), **({"nonResourceURLs": list(rule.non_resource_urls)}
                                                        if rule.non_resource_urls else {})}
                          for rule in rules.non_resource_rules]
    status: Object = {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules,
                      "incomplete": rules.incomplete}
    if rules.evaluation_error:
        status["evaluationError"] = rules.evaluation_error
    return status


def self_subject_rules_review(obj: Object, user: UserInfo, authorizer: Authorizer) -> Object:
    """The rules of `spec.namespace` (required); the answer carries no spec, as upstream's does."""
    namespace = (obj.get("spec") or {}).get("namespace") or ""
    if not namespace:
        raise errors.bad_request("no namespace on request")
    status = rules_status(authorizer.rules_for(user, namespace))
    return {"kind": obj["kind"], "apiVersion": obj["apiVersion"], "metadata": {"creationTimestamp": None},
            "spec": {}, "status": status}


def self_subject_review(obj: Object, user: UserInfo, now: str) -> Object:
    """Who the request's user is, as the authenticator saw it."""
    return {"kind": obj["kind"], "apiVersion": obj["apiVersion"], "metadata": {"creationTimestamp": now},
            "status": {"userInfo": user.to_json()}}
