"""Let an idle `serve` sleep: Gradio's queue polls every millisecond while it has nothing to do.

Gradio 6's queue (gradio/queueing.py, the pinned 6.31.0 and every 6.x release so far) has no event to
wait on: its dispatcher loop sleeps `Queue.sleep_when_free` (0.001 s; 0.05 s on Windows) whenever the
queue is empty or every worker is busy, and its progress loop sleeps `progress_update_sleep_when_free`
(0.01 s). `Blocks.queue()` has no setting for either, and no newer Gradio changes them, so an idle
server woke about 1,100 times a second (6.5% of a core). Both are plain attributes the loops read on
every turn; Gradio itself sets them per platform.

`sleep_when_idle(demo)` keeps Gradio's values while there is work, and after `IDLE_AFTER_S` with an
empty queue and no running job uses `IDLE_SLEEP_S` for both, which Gradio already uses on Windows. A
watcher thread switches between them `CHECKS_PER_S` times a second. The cost: the first request after
an idle spell waits up to `IDLE_SLEEP_S` for the dispatcher's current sleep to end; requests that
follow it run at Gradio's own pace.
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)

IDLE_AFTER_S = 1.0
IDLE_SLEEP_S = 0.05
CHECKS_PER_S = 4


class IdleQueue:
    """Watches one Gradio queue and lengthens its polling sleeps while it is idle."""

    def __init__(self, queue, idle_after: float = IDLE_AFTER_S, idle_sleep: float = IDLE_SLEEP_S):
        self.queue = queue
        self.idle_after = idle_after
        self.idle_sleep = idle_sleep
        self.busy = (queue.sleep_when_free, queue.progress_update_sleep_when_free)
        self._stop = threading.Event()
        self._last_busy = time.monotonic()
        self._thread = threading.Thread(target=self._watch, name="gradio-idle", daemon=True)

    @property
    def idle(self) -> bool:
        """Whether the queue polls at the idle pace now."""
        return self.queue.sleep_when_free == self.idle_sleep

    def start(self) -> IdleQueue:
        """Start watching (a daemon thread)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching and restore Gradio's own values."""
        self._stop.set()
        self._thread.join(timeout=5)
        self._set(self.busy)

    def _watch(self) -> None:
        while not self._stop.wait(1.0 / CHECKS_PER_S):
            now = time.monotonic()
            if len(self.queue) or any(job is not None for job in self.queue.active_jobs):
                self._last_busy = now
            idle = now - self._last_busy >= self.idle_after
            self._set((self.idle_sleep, self.idle_sleep) if idle else self.busy)

    def _set(self, values: tuple[float, float]) -> None:
        self.queue.sleep_when_free, self.queue.progress_update_sleep_when_free = values


def sleep_when_idle(demo) -> IdleQueue | None:
    """Watch `demo`'s queue (after `demo.queue()`); None, with a warning, if this Gradio's queue lacks the knobs."""
    queue = getattr(demo, "_queue", None)
    if queue is None or not all(hasattr(queue, a) for a in ("sleep_when_free", "progress_update_sleep_when_free",
                                                            "active_jobs", "__len__")):
        log.warning("Warning: this Gradio's queue has no polling interval to lengthen; an idle server keeps polling.")
        return None
    return IdleQueue(queue).start()
