"""The review kinds (apiserver.authorization.reviews): validated like Kubernetes, answered by the authorizer."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery import errors
from apiserver.authorization import (
    ANONYMOUS,
    AlwaysAllow,
    AlwaysDeny,
    Attributes,
    Decision,
    Rules,
    UserInfo,
    Verdict,
    reviews,
)

Object = dict[str, Any]
AUTHZ = "authorization.k8s.io/v1"
CREATE_DEPLOYMENTS = {"resourceAttributes": {"namespace": "default", "verb": "create", "group": "apps",
                                             "resource": "deployments"}}
GET_HEALTHZ = {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}}


def review(kind: str, spec: Object, **metadata: Any) -> Object:
    return {"apiVersion": AUTHZ, "kind": kind, "metadata": {"creationTimestamp": None, **metadata}, "spec": spec}


class Recorder:
    """Allows everything and remembers what it was asked."""

    def __init__(self) -> None:
        self.asked: list[Attributes] = []

    def authorize(self, attributes: Attributes) -> Decision:
        self.asked.append(attributes)
        return Decision(Verdict.ALLOW)

    def rules_for(self, user: UserInfo, namespace: str) -> Rules:
        return Rules()


def invalid(call: Any) -> errors.ApiError:
    with pytest.raises(errors.ApiError) as caught:
        call()
    assert caught.value.code == 422
    return caught.value


def test_a_self_review_asks_about_the_requesting_user_with_every_version_when_none_is_given() -> None:
    authorizer = Recorder()
    answer = reviews.self_subject_access_review(review("SelfSubjectAccessReview", CREATE_DEPLOYMENTS), ANONYMOUS,
                                                authorizer)
    assert answer["status"] == {"allowed": True}
    assert answer["spec"] == CREATE_DEPLOYMENTS
    assert answer["metadata"] == {"creationTimestamp": None}
    assert authorizer.asked == [Attributes(ANONYMOUS, "create", True, "default", "apps", "*", "deployments")]


def test_a_non_resource_review_asks_about_the_path() -> None:
    authorizer = Recorder()
    reviews.self_subject_access_review(review("SelfSubjectAccessReview", GET_HEALTHZ), ANONYMOUS, authorizer)
    assert authorizer.asked == [Attributes(ANONYMOUS, "get", False, path="/healthz")]


def test_always_deny_answers_not_allowed_with_its_reason() -> None:
    answer = reviews.self_subject_access_review(review("SelfSubjectAccessReview", CREATE_DEPLOYMENTS), ANONYMOUS,
                                                AlwaysDeny())
    assert answer["status"] == {"allowed": False, "reason": "Everything is forbidden."}


def test_a_review_with_neither_attribute_set_is_invalid_naming_resource_attributes() -> None:
    error = invalid(lambda: reviews.self_subject_access_review(review("SelfSubjectAccessReview", {}), ANONYMOUS,
                                                               AlwaysAllow()))
    assert error.message == ('SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: '
                             'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes '
                             'must be specified')
    assert [cause["field"] for cause in error.causes] == ["spec.resourceAttributes"]


def test_a_review_with_both_attribute_sets_is_invalid_naming_non_resource_attributes() -> None:
    spec = {**CREATE_DEPLOYMENTS, **GET_HEALTHZ}
    error = invalid(lambda: reviews.self_subject_access_review(review("SelfSubjectAccessReview", spec), ANONYMOUS,
                                                               AlwaysAllow()))
    assert 'spec.nonResourceAttributes: Invalid value: authorization.NonResourceAttributes{Path:"/healthz", ' \
           'Verb:"get"}: cannot be specified in combination with resourceAttributes' in error.message


def test_a_review_with_a_name_in_its_metadata_is_invalid() -> None:
    error = invalid(lambda: reviews.self_subject_access_review(
        review("SelfSubjectAccessReview", CREATE_DEPLOYMENTS, name="mine"), ANONYMOUS, AlwaysAllow()))
    assert [cause["field"] for cause in error.causes] == ["metadata"]
    assert "must be empty" in error.message


def test_a_selector_needs_raw_selector_or_requirements() -> None:
    spec = {"resourceAttributes": {"verb": "list", "resource": "pods", "labelSelector": {}}}
    error = invalid(lambda: reviews.self_subject_access_review(review("SelfSubjectAccessReview", spec), ANONYMOUS,
                                                               AlwaysAllow()))
    assert [cause["field"] for cause in error.causes] == ["spec.resourceAttributes.labelSelector.requirements"]


def test_a_subject_review_asks_about_the_user_in_its_spec() -> None:
    authorizer = Recorder()
    spec = {**CREATE_DEPLOYMENTS, "user": "alice", "groups": ["dev"], "extra": {"scopes": ["a"]}}
    reviews.subject_access_review(review("SubjectAccessReview", spec), authorizer)
    assert authorizer.asked[0].user == UserInfo("alice", groups=("dev",), extra={"scopes": ("a",)})


def test_a_subject_review_without_user_or_groups_is_invalid_naming_spec_user() -> None:
    error = invalid(lambda: reviews.subject_access_review(review("SubjectAccessReview", CREATE_DEPLOYMENTS),
                                                          AlwaysAllow()))
    assert error.message.endswith('spec.user: Invalid value: "": at least one of user or group must be specified')


def test_a_local_review_takes_the_path_namespace_and_must_ask_about_it() -> None:
    spec = {**CREATE_DEPLOYMENTS, "user": "alice"}
    answer = reviews.local_subject_access_review(review("LocalSubjectAccessReview", spec), "default", AlwaysAllow())
    assert answer["metadata"] == {"creationTimestamp": None, "namespace": "default"}
    assert answer["status"]["allowed"] is True
    error = invalid(lambda: reviews.local_subject_access_review(review("LocalSubjectAccessReview", spec), "other",
                                                                AlwaysAllow()))
    assert [cause["field"] for cause in error.causes] == ["spec.resourceAttributes.namespace"]


def test_a_local_review_may_not_ask_about_a_non_resource_path() -> None:
    spec = {**GET_HEALTHZ, "user": "alice"}
    error = invalid(lambda: reviews.local_subject_access_review(review("LocalSubjectAccessReview", spec), "default",
                                                                AlwaysAllow()))
    assert "spec.nonResourceAttributes" in error.message and "disallowed on this kind of request" in error.message


def test_a_local_review_whose_namespace_differs_from_the_path_is_a_bad_request() -> None:
    body = review("LocalSubjectAccessReview", {**CREATE_DEPLOYMENTS, "user": "alice"}, namespace="default")
    with pytest.raises(errors.ApiError) as caught:
        reviews.local_subject_access_review(body, "other", AlwaysAllow())
    assert caught.value.code == 400


def test_a_rules_review_lists_what_always_allow_allows() -> None:
    answer = reviews.self_subject_rules_review(review("SelfSubjectRulesReview", {"namespace": "default"}),
                                               ANONYMOUS, AlwaysAllow())
    assert answer["spec"] == {}
    assert answer["status"] == {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                                "incomplete": False}


def test_a_rules_review_under_always_deny_lists_no_rules() -> None:
    answer = reviews.self_subject_rules_review(review("SelfSubjectRulesReview", {"namespace": "default"}),
                                               ANONYMOUS, AlwaysDeny())
    assert answer["status"] == {"resourceRules": [], "nonResourceRules": [], "incomplete": False}


def test_a_rules_review_needs_a_namespace() -> None:
    with pytest.raises(errors.ApiError) as caught:
        reviews.self_subject_rules_review(review("SelfSubjectRulesReview", {}), ANONYMOUS, AlwaysAllow())
    assert (caught.value.code, caught.value.message) == (400, "no namespace on request")


def test_a_self_subject_review_reports_the_anonymous_user() -> None:
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    answer = reviews.self_subject_review(body, ANONYMOUS, "2026-01-01T00:00:00Z")
    assert answer["status"] == {"userInfo": {"username": "system:anonymous", "groups": ["system:unauthenticated"]}}
    assert answer["metadata"] == {"creationTimestamp": "2026-01-01T00:00:00Z"}


def test_the_review_kinds_are_create_only_and_not_stored() -> None:
    assert {rt.verbs for rt in reviews.REVIEW_TYPES} == {("create",)}
    assert [rt.plural for rt in reviews.REVIEW_TYPES if rt.namespaced] == ["localsubjectaccessreviews"]
