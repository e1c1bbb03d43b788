"""An idle server sleeps: Gradio's queue polls at the idle pace once nothing runs, and at its own pace while
something does (app/idle.py). Behaviour only; the bench measures the CPU an idle `serve` uses."""

from __future__ import annotations

import threading
import time

import pytest


def _wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def server():
    """A real Gradio app with one slow event, on a free loopback port."""
    import gradio as gr

    from conftest import free_port

    release = threading.Event()

    def slow(text):
        release.wait(timeout=30)
        return text.upper()

    with gr.Blocks() as demo:
        box = gr.Textbox()
        out = gr.Textbox()
        box.submit(slow, box, out, api_name="slow")
    demo.queue()
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield demo, release
    finally:
        release.set()
        demo.close(verbose=False)


def test_the_queue_polls_slowly_when_idle_and_at_gradios_pace_while_working(server):
    from gradio_client import Client

    from consensus_chat.app.idle import IdleQueue

    demo, release = server
    queue = demo._queue
    gradio_pace = (queue.sleep_when_free, queue.progress_update_sleep_when_free)
    watcher = IdleQueue(queue, idle_after=0.3, idle_sleep=0.05).start()
    try:
        assert gradio_pace[0] < 0.05
        assert _wait_for(lambda: watcher.idle), "the idle queue kept Gradio's 1 ms polling"
        assert (queue.sleep_when_free, queue.progress_update_sleep_when_free) == (0.05, 0.05)
        job = Client(demo.local_url, verbose=False).submit("hello", api_name="/slow")
        assert _wait_for(lambda: not watcher.idle), "a running job left the queue at the idle pace"
        assert (queue.sleep_when_free, queue.progress_update_sleep_when_free) == gradio_pace
        release.set()
        assert job.result(timeout=30) == "HELLO"
        assert _wait_for(lambda: watcher.idle), "the queue did not go back to sleep"
    finally:
        watcher.stop()
    assert (queue.sleep_when_free, queue.progress_update_sleep_when_free) == gradio_pace
