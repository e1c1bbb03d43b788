"""One small cache type: a thread-safe map of bounded size that forgets the least recently used entry.

Not `functools.lru_cache`: these caches belong to one object each (an encoder's query vectors, a retriever's
sentence vectors) and are cleared on demand, and a cached function would keep its object alive.
"""

from __future__ import annotations

import threading
from collections import OrderedDict


class LruCache:
    """A bounded, thread-safe least-recently-used map."""

    def __init__(self, max_items: int):
        self.max_items = max_items
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, default=None):
        """The value stored for `key` (now the most recently used), or `default`."""
        with self._lock:
            value = self._items.get(key, default)
            if key in self._items:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        """Store `value`, forgetting the least recently used entries beyond `max_items`."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
