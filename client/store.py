"""An indexed, in-memory object store: the informer's cache that controllers read.

Objects are keyed `namespace/name` (or `name` for cluster-scoped kinds), as in client-go.
Indexers map an object to index values (e.g. pods by `spec.nodeName`), so a controller can ask
"all pods on node X" without scanning. The store hands out the stored dicts themselves: callers
must never modify an object they got from it (copy first) — the rule sample-controller states.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator
from typing import Any

Object = dict[str, Any]
IndexFunc = Callable[[Object], list[str]]
NAMESPACE_INDEX = "namespace"


def object_key(obj: Object) -> str:
    """`namespace/name`, or `name` when the object has no namespace."""
    metadata = obj.get("metadata") or {}
    namespace, name = metadata.get("namespace"), metadata.get("name", "")
    return f"{namespace}/{name}" if namespace else name


def split_key(key: str) -> tuple[str, str]:
    """(namespace, name) of a key made by object_key."""
    namespace, _, name = key.rpartition("/")
    return namespace, name


def namespace_index(obj: Object) -> list[str]:
    return [str((obj.get("metadata") or {}).get("namespace", ""))]


class Store:
    """Objects by key, with named secondary indexes kept current on every change."""

    def __init__(self, indexers: dict[str, IndexFunc] | None = None) -> None:
        self._items: dict[str, Object] = {}
        self._indexers: dict[str, IndexFunc] = {NAMESPACE_INDEX: namespace_index, **(indexers or {})}
        self._indices: dict[str, dict[str, set[str]]] = {name: {} for name in self._indexers}

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[Object]:
        return iter(list(self._items.values()))

    def get(self, key: str) -> Object | None:
        return self._items.get(key)

    def get_by_name(self, namespace: str, name: str) -> Object | None:
        return self._items.get(f"{namespace}/{name}" if namespace else name)

    def keys(self) -> builtins.list[str]:
        return list(self._items)

    def list(self, namespace: str | None = None) -> builtins.list[Object]:
        if namespace is None:
            return list(self._items.values())
        return self.by_index(NAMESPACE_INDEX, namespace)

    def by_index(self, index: str, value: str) -> builtins.list[Object]:
        keys = self._indices[index].get(value, set())
        return [self._items[k] for k in sorted(keys)]

    def add_indexer(self, name: str, func: IndexFunc) -> None:
        self._indexers[name] = func
        self._indices[name] = {}
        for key, obj in self._items.items():
            self._index(name, key, obj)

    def upsert(self, obj: Object) -> Object | None:
        """Store `obj`; returns the object it replaced, if any."""
        key = object_key(obj)
        old = self._items.get(key)
        if old is not None:
            self._unindex(key, old)
        self._items[key] = obj
        for name in self._indexers:
            self._index(name, key, obj)
        return old

    def remove(self, key: str) -> Object | None:
        old = self._items.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        return old

    def _index(self, name: str, key: str, obj: Object) -> None:
        for value in self._indexers[name](obj):
            self._indices[name].setdefault(value, set()).add(key)

    def _unindex(self, key: str, obj: Object) -> None:
        for name, func in self._indexers.items():
            for value in func(obj):
                keys = self._indices[name].get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del self._indices[name][value]
