"""Impersonation headers (apiserver.authorization.impersonation) and the 403 a refused request gets."""

from __future__ import annotations

import pytest

from apimachinery import errors
from apiserver.authorization import ANONYMOUS, AlwaysAllow, AlwaysDeny, Attributes, UserInfo
from apiserver.authorization.authorizer import forbidden
from apiserver.authorization.impersonation import impersonate


def test_no_impersonation_headers_leave_the_requester() -> None:
    assert impersonate([("Accept", "application/json")], ANONYMOUS, AlwaysAllow()) is ANONYMOUS


def test_an_impersonated_user_is_authenticated_with_its_groups_uid_and_extras() -> None:
    headers = [("Impersonate-User", "alice"), ("Impersonate-Group", "dev"), ("impersonate-group", "ops"),
               ("Impersonate-Uid", "42"), ("Impersonate-Extra-Scopes", "a"), ("Impersonate-Extra-Scopes", "b"),
               ("Impersonate-Extra-Acme.com%2Fteam", "red")]
    user = impersonate(headers, ANONYMOUS, AlwaysAllow())
    assert user == UserInfo("alice", "42", ("dev", "ops", "system:authenticated"),
                            {"scopes": ("a", "b"), "acme.com/team": ("red",)})


def test_an_impersonated_service_account_gets_its_fixed_groups() -> None:
    user = impersonate([("Impersonate-User", "system:serviceaccount:kube-system:builder")], ANONYMOUS, AlwaysAllow())
    assert user == UserInfo("system:serviceaccount:kube-system:builder", groups=(
        "system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"))


def test_impersonating_anonymous_or_an_unauthenticated_group_adds_no_authenticated_group() -> None:
    assert impersonate([("Impersonate-User", "system:anonymous")], ANONYMOUS, AlwaysAllow()).groups == ()
    user = impersonate([("Impersonate-User", "bob"), ("Impersonate-Group", "system:unauthenticated")], ANONYMOUS,
                       AlwaysAllow())
    assert user.groups == ("system:unauthenticated",)


def test_groups_without_a_user_are_a_bad_request() -> None:
    with pytest.raises(errors.ApiError) as caught:
        impersonate([("Impersonate-Group", "dev")], ANONYMOUS, AlwaysAllow())
    assert caught.value.code == 400
    assert caught.value.message == "requested [{Group  dev    }] without impersonating a user"


def test_impersonation_the_authorizer_refuses_is_forbidden_naming_what_was_asked() -> None:
    with pytest.raises(errors.ApiError) as caught:
        impersonate([("Impersonate-User", "alice")], ANONYMOUS, AlwaysDeny())
    assert caught.value.code == 403
    assert caught.value.message == ('users "alice" is forbidden: User "system:anonymous" cannot impersonate resource '
                                    '"users" in API group "" at the cluster scope: Everything is forbidden.')


@pytest.mark.parametrize(("attributes", "message"), [
    (Attributes(ANONYMOUS, "list", namespace="default", resource="pods"),
     'pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace '
     '"default"'),
    (Attributes(ANONYMOUS, "update", api_group="apps", resource="deployments", subresource="scale", name="web",
                namespace="team"),
     'deployments.apps "web" is forbidden: User "system:anonymous" cannot update resource "deployments/scale" in '
     'API group "apps" in the namespace "team"'),
    (Attributes(ANONYMOUS, "get", resource_request=False, path="/healthz"),
     'forbidden: User "system:anonymous" cannot get path "/healthz"'),
])
def test_a_forbidden_request_is_described_as_kubernetes_does(attributes: Attributes, message: str) -> None:
    error = forbidden(attributes, "")
    assert (error.code, error.reason, error.message) == (403, "Forbidden", message)
