"""The pluggable authorizers (apiserver.authorization): decisions and rules as kube-apiserver's modes."""

from __future__ import annotations

import pytest

from apiserver.authorization import (
    ANONYMOUS,
    AlwaysAllow,
    AlwaysDeny,
    Attributes,
    Decision,
    NonResourceRule,
    ResourceRule,
    Rules,
    Union,
    UserInfo,
    Verdict,
    new_authorizer,
)
from apiserver.authorization.authorizer import forbidden
from apiserver.authorization.impersonation import wants_impersonation
from apiserver.http_api.authorization_filter import authorization_middleware, is_always_allowed

LIST_PODS = Attributes(ANONYMOUS, "list", namespace="default", resource="pods")


class Fixed:
    """A test authorizer with one answer and one rule."""

    def __init__(self, decision: Decision, rule: str = "") -> None:
        self.decision, self.rule = decision, rule

    def authorize(self, attributes: Attributes) -> Decision:
        return self.decision

    def rules_for(self, user: UserInfo, namespace: str) -> Rules:
        return Rules((ResourceRule(("get",), ("",), (self.rule,)),), incomplete=self.rule == "partial")


def test_anonymous_is_system_anonymous_in_the_unauthenticated_group() -> None:
    assert ANONYMOUS.to_json() == {"username": "system:anonymous", "groups": ["system:unauthenticated"]}


def test_always_allow_allows_every_request_with_no_reason() -> None:
    decision = AlwaysAllow().authorize(LIST_PODS)
    assert decision.allowed and not decision.denied and decision.reason == ""


def test_always_allow_rules_are_every_verb_on_everything() -> None:
    rules = AlwaysAllow().rules_for(ANONYMOUS, "default")
    assert rules.resource_rules == (ResourceRule(("*",), ("*",), ("*",)),)
    assert rules.non_resource_rules == (NonResourceRule(("*",), ("*",)),)
    assert rules.incomplete is False


def test_always_deny_has_no_opinion_so_nothing_is_allowed() -> None:
    decision = AlwaysDeny().authorize(LIST_PODS)
    assert decision.verdict is Verdict.NO_OPINION
    assert not decision.allowed and not decision.denied
    assert decision.reason == "Everything is forbidden."
    assert AlwaysDeny().rules_for(ANONYMOUS, "default") == Rules()


def test_a_union_answers_with_the_first_authorizer_that_has_an_opinion() -> None:
    union = Union([Fixed(Decision(Verdict.NO_OPINION, "not mine")), Fixed(Decision(Verdict.DENY, "no")),
                   Fixed(Decision(Verdict.ALLOW))])
    assert union.authorize(LIST_PODS) == Decision(Verdict.DENY, "no")


def test_a_union_without_an_opinion_joins_the_reasons() -> None:
    union = Union([Fixed(Decision(Verdict.NO_OPINION, "a")), Fixed(Decision(Verdict.NO_OPINION, "b"))])
    assert union.authorize(LIST_PODS) == Decision(Verdict.NO_OPINION, "a\nb")


def test_a_union_concatenates_rules_and_is_incomplete_if_any_part_is() -> None:
    union = Union([Fixed(Decision(Verdict.ALLOW), "pods"), Fixed(Decision(Verdict.ALLOW), "partial")])
    rules = union.rules_for(ANONYMOUS, "default")
    assert [rule.resources for rule in rules.resource_rules] == [("pods",), ("partial",)]
    assert rules.incomplete is True


@pytest.mark.parametrize(("mode", "allowed"), [("AlwaysAllow", True), ("AlwaysDeny", False),
                                               ("AlwaysDeny,AlwaysAllow", True), ("AlwaysAllow,AlwaysDeny", True)])
def test_new_authorizer_builds_the_modes_named_by_the_flag(mode: str, allowed: bool) -> None:
    assert new_authorizer(mode).authorize(LIST_PODS).allowed is allowed


@pytest.mark.parametrize("mode", ["", "RBAC", "AlwaysAllow,Webhook", "AlwaysAllow,AlwaysAllow"])
def test_new_authorizer_rejects_unknown_empty_or_repeated_modes(mode: str) -> None:
    with pytest.raises(ValueError):
        new_authorizer(mode)


def test_a_forbidden_resource_request_names_the_object_and_where_it_is() -> None:
    error = forbidden(Attributes(ANONYMOUS, "delete", namespace="x", resource="namespaces", name="x"), "nope")
    assert (error.code, error.reason) == (403, "Forbidden")
    assert error.message == ('namespaces "x" is forbidden: User "system:anonymous" cannot delete resource '
                             '"namespaces" in API group "" in the namespace "x": nope')
    assert error.details == {"name": "x", "kind": "namespaces"}


def test_a_forbidden_message_escapes_html_in_what_the_request_named_as_kubernetes_does() -> None:
    error = forbidden(Attributes(ANONYMOUS, "get", False, path="/<script>&"), "")
    assert error.message == 'forbidden: User "system:anonymous" cannot get path "/&lt;script&gt;&amp;"'


def test_always_allow_needs_no_authorization_filter_but_any_chain_does() -> None:
    assert authorization_middleware(AlwaysAllow()) is None
    assert authorization_middleware(AlwaysDeny()) is not None
    assert authorization_middleware(new_authorizer("AlwaysAllow,AlwaysDeny")) is not None


@pytest.mark.parametrize(("names", "wanted"), [(["Accept", "User-Agent"], False), (["Impersonate-User"], True),
                                               (["impersonate-group"], True), (["IMPERSONATE-EXTRA-scopes"], True)])
def test_any_impersonate_header_asks_for_impersonation(names: list[str], wanted: bool) -> None:
    assert wants_impersonation(names) is wanted


@pytest.mark.parametrize(("path", "open_"), [("/healthz", True), ("/readyz", True), ("/livez/ping", True),
                                             ("/healthzx", False), ("/version", False), ("/metrics", False)])
def test_only_the_health_checks_skip_authorization(path: str, open_: bool) -> None:
    assert is_always_allowed(path) is open_
