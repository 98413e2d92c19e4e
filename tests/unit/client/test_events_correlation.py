"""The pure half of client.events: keys, the token bucket and client-go's EventCorrelator decisions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from apimachinery import errors
from client.events import (
    COMBINED_PREFIX,
    EventCorrelator,
    EventRecorder,
    TokenBucket,
    aggregate_decision,
    aggregate_key,
    event_key,
    make_event,
    rfc3339,
    spam_key,
)

T0 = 1_780_000_000.0
POD: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "web", "namespace": "shop", "uid": "u-1", "resourceVersion": "7"}}
NODE: dict[str, Any] = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "uid": "u-n"}}


def ev(obj=POD, reason="Pulled", message="pulled image", type_="Normal", now=T0, field_path=""):
    return make_event(obj, type_, reason, message, component="kubelet", host="n1", now=now, field_path=field_path)


def test_make_event_fills_reference_source_timestamps_and_name():
    event = ev(field_path="spec.containers{app}")
    assert event["metadata"]["namespace"] == "shop"
    assert event["metadata"]["name"] == f"web.{int(T0 * 1e9):016x}"
    assert len(event["metadata"]["name"].split(".")[1]) == 16
    assert event["involvedObject"] == {"apiVersion": "v1", "kind": "Pod", "name": "web", "namespace": "shop",
                                       "uid": "u-1", "resourceVersion": "7", "fieldPath": "spec.containers{app}"}
    assert event["source"] == {"component": "kubelet", "host": "n1"}
    assert event["firstTimestamp"] == event["lastTimestamp"] == rfc3339(T0)
    assert rfc3339(T0).endswith("Z") and len(rfc3339(T0)) == 20
    assert event["count"] == 1
    assert (event["reportingComponent"], event["reportingInstance"]) == ("kubelet", "n1")


def test_cluster_scoped_objects_get_events_in_default():
    event = ev(NODE)
    assert event["metadata"]["namespace"] == "default"
    assert "namespace" not in event["involvedObject"]


def test_keys_separate_what_they_should():
    a, b = ev(message="one"), ev(message="two")
    assert spam_key(a) == spam_key(b)
    assert aggregate_key(a)[0] == aggregate_key(b)[0] and aggregate_key(a)[1] != aggregate_key(b)[1]
    assert event_key(a) != event_key(b)
    assert event_key(a) == event_key(ev(message="one", now=T0 + 5))
    assert aggregate_key(ev(reason="Failed"))[0] != aggregate_key(a)[0]
    assert event_key(ev(field_path="spec.containers{x}")) != event_key(a)


def test_first_event_is_a_create():
    result = EventCorrelator().correlate(ev(), T0)
    assert result is not None and result.patch is None and result.event["count"] == 1


def test_repeat_after_write_is_a_patch_of_count_and_last_timestamp():
    correlator = EventCorrelator()
    first = correlator.correlate(ev(), T0)
    assert first is not None
    stored = {**first.event, "metadata": {**first.event["metadata"], "resourceVersion": "9"}}
    correlator.update_state(first.key, stored, T0)
    second = correlator.correlate(ev(now=T0 + 30), T0 + 30)
    assert second is not None and second.patch == {"count": 2, "lastTimestamp": rfc3339(T0 + 30),
                                                   "message": "pulled image"}
    assert second.event["metadata"]["name"] == first.event["metadata"]["name"]
    assert second.event["firstTimestamp"] == rfc3339(T0)
    correlator.update_state(second.key, {**stored, "count": 2}, T0 + 30)
    third = correlator.correlate(ev(now=T0 + 60), T0 + 60)
    assert third is not None and third.patch is not None and third.patch["count"] == 3


def test_repeat_after_the_window_is_a_new_event():
    correlator = EventCorrelator()
    first = correlator.correlate(ev(), T0)
    assert first is not None
    correlator.update_state(first.key, first.event, T0)
    later = correlator.correlate(ev(now=T0 + 601), T0 + 601)
    assert later is not None and later.patch is None and later.event["count"] == 1


def test_a_failed_write_is_forgotten_so_the_repeat_creates():
    correlator = EventCorrelator()
    first = correlator.correlate(ev(), T0)
    assert first is not None
    correlator.forget(first.key)
    again = correlator.correlate(ev(now=T0 + 1), T0 + 1)
    assert again is not None and again.patch is None


@pytest.mark.parametrize(("similar", "combined"), [(1, False), (9, False), (10, True), (11, True)])
def test_aggregate_decision_from_the_tenth_distinct_message(similar, combined):
    assert aggregate_decision(similar) is combined


def test_similar_events_collapse_into_one_combined_event():
    correlator = EventCorrelator()
    results = []
    for i in range(12):
        result = correlator.correlate(ev(message=f"failed {i}", now=T0 + i), T0 + i)
        assert result is not None
        results.append(result)
        if result.patch is None:
            correlator.update_state(result.key, result.event, T0 + i)
    assert all(not r.event["message"].startswith(COMBINED_PREFIX) for r in results[:9])
    assert results[9].event["message"] == COMBINED_PREFIX + "failed 9" and results[9].patch is None
    assert results[10].patch == {"count": 2, "lastTimestamp": rfc3339(T0 + 10),
                                 "message": COMBINED_PREFIX + "failed 10"}
    assert results[11].event["metadata"]["name"] == results[9].event["metadata"]["name"]


def test_similar_event_window_slides_and_expires():
    correlator = EventCorrelator()
    for i in range(9):
        correlator.correlate(ev(message=f"m{i}", now=T0), T0)
    late = correlator.correlate(ev(message="m9", now=T0 + 700), T0 + 700)
    assert late is not None and not late.event["message"].startswith(COMBINED_PREFIX)


def test_token_bucket_burst_then_refill_one_per_five_minutes():
    bucket = TokenBucket()
    assert all(bucket.take(T0) for _ in range(25))
    assert not bucket.take(T0)
    assert not bucket.take(T0 + 299)
    assert bucket.take(T0 + 301)
    assert not bucket.take(T0 + 302)
    assert all(bucket.take(T0 + 10_000) for _ in range(25))  # refills only up to the burst


def test_spam_filter_drops_after_25_events_about_one_object_but_not_others():
    correlator = EventCorrelator()
    kept = [correlator.correlate(ev(message=f"distinct {i % 3}", reason=f"R{i}"), T0) for i in range(30)]
    assert sum(r is not None for r in kept) == 25
    other = {**POD, "metadata": {**POD["metadata"], "name": "db", "uid": "u-2"}}
    assert correlator.correlate(ev(other), T0) is not None


class _DownClient:
    def __init__(self) -> None:
        self.calls = 0

    async def create(self, obj):
        self.calls += 1
        raise errors.unavailable("down")

    async def patch(self, resource, name, patch, namespace=""):
        raise AssertionError("no patch expected")


class _RejectingClient(_DownClient):
    async def create(self, obj):
        self.calls += 1
        raise errors.bad_request("nope")


async def test_recorder_drops_after_max_tries_without_blocking_the_caller():
    client = _DownClient()
    recorder = EventRecorder(client, "kubelet", "n1", max_tries=3, retry_interval=0.01)
    recorder.start()
    recorder.event(POD, "Normal", "Pulled", "pulled")
    await recorder.flush(5)
    await recorder.stop()
    assert client.calls == 3 and recorder.dropped == 1 and recorder.written == 0


async def test_recorder_does_not_retry_an_answered_rejection():
    client = _RejectingClient()
    recorder = EventRecorder(client, "kubelet", max_tries=3, retry_interval=0.01)
    recorder.start()
    recorder.event(POD, "Warning", "Failed", "x")
    await recorder.flush(5)
    await recorder.stop()
    assert client.calls == 1 and recorder.dropped == 1


async def test_recorder_ignores_unknown_types_and_a_full_queue():
    recorder = EventRecorder(_DownClient(), "kubelet", queue_size=2)
    recorder.event(POD, "Bogus", "X", "y")
    for _ in range(5):
        recorder.event(POD, "Normal", "X", "y")  # not started: the queue fills, never blocks
    assert recorder.dropped == 3
    await asyncio.sleep(0)
