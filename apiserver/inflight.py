"""The max-in-flight limit: kube-apiserver's `--max-requests-inflight` and `--max-mutating-requests-inflight`.

An apiserver that takes every request it is sent falls over under a storm (a thousand informers
relisting at once after a restart); Kubernetes bounds how many requests it works on at a time and
answers the rest at once with 429 TooManyRequests, `Retry-After: 1`, so well-behaved clients (client-go,
kubeling's `client.Client`) back off and retry. Read-only requests (get, list) and mutating ones
(create, update, patch, delete, ...) have separate budgets, so a flood of lists cannot starve the
writes. Long-running requests (watch, logs, exec, attach, port-forward) are not counted, as in
Kubernetes: they hold a connection, not a worker. A limit of 0 means no limit.

(Kubernetes 1.32 uses API Priority and Fairness by default; this is the simpler filter it replaces
when `--enable-priority-and-fairness=false`.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from apimachinery import errors

MUTATING_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection", "bind"})
LONG_RUNNING_VERBS = frozenset({"watch", "proxy", "connect"})
RETRY_AFTER_SECONDS = 1
MESSAGE = "Too many requests, please try again later."


class InflightLimiter:
    """Counts requests in progress per class; `admit(verb)` refuses one past the class's limit."""

    def __init__(self, max_readonly: int = 400, max_mutating: int = 200) -> None:
        self.limits = {False: max_readonly, True: max_mutating}
        self.in_flight = {False: 0, True: 0}
        self.rejected = 0

    @contextmanager
    def admit(self, verb: str) -> Iterator[None]:
        if verb in LONG_RUNNING_VERBS:
            yield
            return
        mutating = verb in MUTATING_VERBS
        limit = self.limits[mutating]
        if limit and self.in_flight[mutating] >= limit:
            self.rejected += 1
            raise errors.too_many_requests(MESSAGE, RETRY_AFTER_SECONDS)
        self.in_flight[mutating] += 1
        try:
            yield
        finally:
            self.in_flight[mutating] -= 1


def http_verb(method: str, watch: bool, long_running: bool) -> str:
    """The verb class of an HTTP request (Kubernetes' RequestInfo verb, coarsely: enough to pick a budget)."""
    if long_running or (method == "GET" and watch):
        return "watch" if watch else "connect"
    return {"GET": "get", "HEAD": "get", "OPTIONS": "get", "POST": "create", "PUT": "update",
            "PATCH": "patch", "DELETE": "delete"}.get(method, "get")
