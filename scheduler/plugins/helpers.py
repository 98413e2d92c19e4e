"""Matching rules several plugins share: tolerations against taints, node selector terms.

`tolerates` is v1.Toleration.ToleratesTaint; `NodeSelector` is component-helpers'
nodeaffinity.NodeSelector: terms are ORed, the requirements inside a term ANDed, a term with no
requirements matches nothing; `matchFields` may only name `metadata.name`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from apimachinery.labels import DOES_NOT_EXIST, EXISTS, GREATER_THAN, IN, LESS_THAN, NOT_IN, Requirement

Object = dict[str, Any]
NODE_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST,
                  "Gt": GREATER_THAN, "Lt": LESS_THAN}


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    return operator == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def first_untolerated(taints: Iterable[Mapping[str, Any]], tolerations: Sequence[Mapping[str, Any]],
                      effects: tuple[str, ...]) -> Mapping[str, Any] | None:
    """The first taint with one of `effects` that no toleration tolerates."""
    for taint in taints:
        if taint.get("effect") in effects and not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None


def _requirements(expressions: Iterable[Mapping[str, Any]]) -> tuple[Requirement, ...] | None:
    found = []
    for expression in expressions:
        operator = NODE_OPERATORS.get(expression.get("operator", ""))
        if operator is None:
            return None
        found.append(Requirement(expression.get("key", ""), operator, tuple(expression.get("values") or ())))
    return tuple(found)


class NodeSelectorTerm:
    def __init__(self, raw: Mapping[str, Any]) -> None:
        labels = _requirements(raw.get("matchExpressions") or ())
        fields = _requirements(raw.get("matchFields") or ())
        self.labels = labels or ()
        self.fields = fields or ()
        self.valid = labels is not None and fields is not None and bool(self.labels or self.fields)

    def matches(self, labels: Mapping[str, str], name: str) -> bool:
        if not self.valid:
            return False
        if any(not r.matches(labels) for r in self.labels):
            return False
        node_fields = {"metadata.name": name}
        return all(r.key == "metadata.name" and r.matches(node_fields) for r in self.fields)


class NodeSelector:
    """A v1.NodeSelector: matches a node when any of its terms does."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.terms = [NodeSelectorTerm(t) for t in raw.get("nodeSelectorTerms") or ()]

    def matches(self, labels: Mapping[str, str], name: str) -> bool:
        return any(term.matches(labels, name) for term in self.terms)


class RequiredNodeAffinity:
    """`spec.nodeSelector` plus required node affinity: what a node must satisfy to be considered."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.node_selector: Mapping[str, str] = spec.get("nodeSelector") or {}
        required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                    .get("requiredDuringSchedulingIgnoredDuringExecution"))
        self.required = NodeSelector(required) if required is not None else None

    @property
    def empty(self) -> bool:
        return not self.node_selector and self.required is None

    def matches(self, labels: Mapping[str, str], name: str) -> bool:
        for key, value in self.node_selector.items():
            if labels.get(key) != value:
                return False
        return self.required is None or self.required.matches(labels, name)
