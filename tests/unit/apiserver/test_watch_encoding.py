"""Watch fan-out: one change becomes one shared event, encoded once for every gRPC stream."""

from __future__ import annotations

import orjson

from apimachinery.labels import parse_selector
from apiserver.cache_watcher import ADDED, DELETED, MODIFIED, CachedObject, CacheEvent, CacheWatcher, Filter
from apiserver.grpc_service import encode_event
from proto import kubeling_pb2 as pb


def cached(name: str, revision: int, labels: dict[str, str]) -> CachedObject:
    obj = {"metadata": {"name": name, "namespace": "default", "labels": labels,
                        "resourceVersion": str(revision)}}
    return CachedObject(f"/registry/configmaps/default/{name}", obj, orjson.dumps(obj), revision)


def watcher(selector: str = "") -> CacheWatcher:
    labels = parse_selector(selector) if selector else None
    return CacheWatcher(Filter(labels=labels), allow_bookmarks=False, max_pending=100, on_close=lambda w: None)


def test_every_watcher_of_a_change_gets_the_same_event_instance() -> None:
    event = CacheEvent(ADDED, cached("a", 5, {}), None, 5)
    first, second = watcher(), watcher()
    first.push(event)
    second.push(event)
    assert first._pending[0] is second._pending[0]


def test_an_object_leaving_a_selector_is_a_shared_deleted_event_at_the_change_revision() -> None:
    event = CacheEvent(MODIFIED, cached("a", 9, {"app": "y"}), cached("a", 5, {"app": "x"}), 9)
    first, second, everyone = watcher("app=x"), watcher("app=x"), watcher()
    for w in (first, second, everyone):
        w.push(event)
    left = first._pending[0]
    assert left is second._pending[0]
    assert left.type == DELETED
    assert orjson.loads(left.raw)["metadata"] == {"name": "a", "namespace": "default", "labels": {"app": "x"},
                                                  "resourceVersion": "9"}
    assert everyone._pending[0].type == MODIFIED


def test_concatenated_one_event_messages_parse_as_one_batch_in_order() -> None:
    events = [CacheEvent(ADDED, cached(f"o{i}", i, {}), None, i).out(ADDED) for i in range(1, 4)]
    wire = b"".join(encode_event(e) for e in events)
    parsed = pb.WatchResponse.FromString(wire)
    assert [(e.type, e.object) for e in parsed.events] == [(e.type, e.raw) for e in events]


def test_an_event_is_encoded_once_and_kept_for_the_next_stream() -> None:
    event = CacheEvent(ADDED, cached("a", 1, {}), None, 1).out(ADDED)
    encoded = encode_event(event)
    assert event.wire is encoded
