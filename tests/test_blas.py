"""A search runs numpy's products on one BLAS thread (retriever/blas.py), with the same numbers, and gives the
process its own setting back."""

from __future__ import annotations

import threading

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from consensus_chat.retriever.blas import one_blas_thread


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_a_search_scores_on_one_blas_thread_and_restores_the_setting(retriever, monkeypatch):
    matcher = retriever._current().matcher
    original = matcher.scores
    seen: list[list[int]] = []

    def spy(words, sections):
        seen.append(_blas_threads())
        return original(words, sections)

    monkeypatch.setattr(matcher, "scores", spy)
    with threadpool_limits(limits=2, user_api="blas"):
        result = retriever.search("How can evaluators check that a model's reasoning is faithful?", k=3)
        after = _blas_threads()
    assert result.hits and seen, "the soft word match ran"
    assert all(n == 1 for threads in seen for n in threads)
    assert after and all(n == 2 for n in after)


def test_products_on_one_thread_are_a_one_thread_blas_and_within_rounding_of_the_pool():
    rng = np.random.default_rng(7)
    matrix = rng.standard_normal((3000, 384)).astype("float32")  # large enough for OpenBLAS to use its pool
    words = np.ascontiguousarray(rng.standard_normal((9, 384)).astype("float32").T)
    vector = rng.standard_normal(384).astype("float32")
    with threadpool_limits(limits=2, user_api="blas"):
        pooled = (np.dot(matrix, words), matrix @ vector)
        with one_blas_thread():
            single = (np.dot(matrix, words), matrix @ vector)
    with threadpool_limits(limits=1, user_api="blas"):
        reference = (np.dot(matrix, words), matrix @ vector)
    assert all(np.array_equal(a, b) for a, b in zip(reference, single))  # the same numbers, whatever the pool
    # Bit-identical to the pool on some OpenBLAS kernels; on others (Haswell) the pool sums a product of several
    # columns in another order: float32 rounding apart.
    assert all(np.allclose(a, b, rtol=1e-5, atol=1e-4) for a, b in zip(pooled, single))


def test_overlapping_requests_restore_the_setting_only_when_the_last_leaves():
    inside, release = threading.Event(), threading.Event()

    def other_request():
        with one_blas_thread():
            inside.set()
            release.wait(10)

    with threadpool_limits(limits=2, user_api="blas"):
        worker = threading.Thread(target=other_request)
        worker.start()
        assert inside.wait(10)
        with one_blas_thread():
            assert all(n == 1 for n in _blas_threads())
        assert all(n == 1 for n in _blas_threads()), "the other request is still inside"
        release.set()
        worker.join(10)
        assert all(n == 2 for n in _blas_threads())
