"""numpy's BLAS on one thread while a request scores: its products here are small, and its thread pool is not.

A search's matrix products (the soft word match's words x topic words, the chunk vectors x the question)
take microseconds on one core. Above a size threshold (about 260,000 multiply-adds: five topic words
against the shipped page's words) OpenBLAS splits them over its thread pool, and its woken threads then
spin-wait for more work, holding the second core the next query's ONNX encoding needs: on 2 cores that
made the soft match's mean 3-5 ms instead of 0.2 ms, and the next embedding slower. A search's scores are those
of a one-thread BLAS, so they do not depend on the pool's size. Against the pool they are bit-identical where
OpenBLAS splits rows and columns, not the sums (the machine this was measured on); its Haswell kernels (an EPYC
without AVX-512) split a product of several columns differently, within float32 rounding (1.3e-5 in the test).

`one_blas_thread()` holds the limit for the duration of a request; concurrent requests share it, and the
process's own setting is restored when the last one leaves, so a library user's numpy is left as it was.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

_lock = threading.Lock()
_active = 0  # requests inside one_blas_thread()
_saved: list[tuple[object, int]] = []  # (BLAS library, its thread count before the first request entered)
_libraries: list | None = None


class _Library:
    """One loaded BLAS library's process-wide thread count (found by threadpoolctl)."""

    def __init__(self, controller):
        self._controller = controller
        self._get, self._set = controller.get_num_threads, controller.set_num_threads
        if controller.internal_api == "openblas" and getattr(controller, "threading_layer", "") == "pthreads":
            # OpenBLAS's pthreads pool is one per process, so threadpoolctl lets only the first Python thread
            # that limits it do so again; a server's requests come from many threads, and the count of
            # requests inside (`_active`) already keeps them from fighting. Its own symbols, then.
            for name in _affixed("openblas_set_num_threads"):
                setter = getattr(controller.dynlib, name, None)
                getter = getattr(controller.dynlib, name.replace("_set_", "_get_"), None)
                if setter is not None and getter is not None:
                    self._get, self._set = getter, setter
                    break

    def threads(self) -> int:
        """Threads the library may use now."""
        return int(self._get())

    def limit(self, threads: int) -> None:
        """Let the library use this many threads, process-wide."""
        self._set(threads)


def _affixed(name: str) -> list[str]:
    # OpenBLAS builds name their symbols with these affixes (scipy-openblas, which numpy ships: scipy_...64_).
    return [f"{prefix}{name}{suffix}" for prefix in ("scipy_", "") for suffix in ("64_", "_64", "")]


def prepare() -> None:
    """Find the BLAS libraries numpy loaded (a few milliseconds, once per process: call at open, not per search)."""
    global _libraries
    if _libraries is not None:
        return
    import numpy  # noqa: F401 - its BLAS must be loaded before the libraries are listed
    from threadpoolctl import ThreadpoolController

    found = [_Library(c) for c in ThreadpoolController().select(user_api="blas").lib_controllers]
    with _lock:
        if _libraries is None:
            _libraries = found


@contextmanager
def one_blas_thread():
    """Run the block with every loaded BLAS library on one thread (the process's setting comes back after)."""
    global _active
    prepare()
    with _lock:
        if _active == 0:
            _saved[:] = [(lib, lib.threads()) for lib in _libraries]
            for lib, threads in _saved:
                if threads != 1:
                    lib.limit(1)
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                for lib, threads in _saved:
                    if threads != 1:
                        lib.limit(threads)
                _saved.clear()
