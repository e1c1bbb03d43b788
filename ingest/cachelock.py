"""A lock file beside a per-model cache file, so no process reads it while another one replaces it.

A cached file and its checksum are replaced one after the other; a reader in between would see a file that does
not match its checksum and ignore the whole cache (a slower, but also differently ranked, search). Readers hold
the lock shared and writers exclusive, both only for the read or the replace (milliseconds), never while encoding.
`flock` locks go with the process: a killed writer leaves no stale lock behind.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: no lock, as before the lock existed
    fcntl = None


@contextlib.contextmanager
def locked(path: Path, *, exclusive: bool) -> Iterator[bool]:
    """Hold the lock file `path` (shared, or exclusive for a writer); yields whether it is held.

    It is not held when the platform has no `flock` or the file can neither be opened nor created (a
    read-only cache: nobody can replace anything there either)."""
    fd = None
    if fcntl is not None:
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if fd is None:
            with contextlib.suppress(OSError):
                fd = os.open(path, os.O_RDONLY)
    if fd is None:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            held = True
        except OSError:  # a file system without locks (some network mounts)
            held = False
        yield held
    finally:
        os.close(fd)  # closing the descriptor releases the lock
