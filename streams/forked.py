"""Bytes computed in a forked child from a copy-on-write view of this process.

The entity stage's windows snapshot (`streams.stages.snapshot.encode`: a pickle
of every device of a partition, zlib-compressed) took 0.1-0.54 s of the worker's
only thread on megacity, growing as the state fills, and every partition's
records waited behind it (docs/benchmarks.md, third sitting). `os.fork()`
gives the child a consistent view of the windows as they are at the fork, for
the cost of copying the page tables: the child encodes, writes the bytes to an
anonymous in-memory file (`os.memfd_create`: nothing on disk, nothing left
behind, no pipe the parent would have to drain while it runs) and exits; the
parent carries on and collects the bytes at a later checkpoint (`Job.poll`).

Why forking is safe here: the worker's runtime (`streams.direct`) is one asyncio
thread; the child runs only the given function (pure Python over objects that
exist at the fork: pickle, zlib), writes one file descriptor and leaves with
`os._exit`, so it runs no atexit hook, flushes no buffer of the parent, and
touches no lock another thread could have held. Its signal handling goes back
to the defaults first: a signal meant for the child must not wake the parent's
event loop through the wakeup fd they share.

A platform without `fork`/`memfd_create` gets `ForkedRunner.available` False,
and the caller computes the bytes in line (as the Faust runtime always does).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

_HEADER = 8  # the length of the bytes, written first: a truncated file is a failure


class ForkFailed(Exception):
    """The child died or wrote something incomplete: compute again (or in line)."""


class Job:
    """One child computing bytes; `poll()` until it returns them."""

    def __init__(self, pid: int, fd: int, started: float) -> None:
        self.pid = pid
        self.fd = fd
        self.started = started
        self._status: int | None = None
        #: the child's CPU seconds (user + system), once it has exited
        self.cpu_s = 0.0

    def poll(self) -> bytes | None:
        """The bytes once the child has exited (None while it runs); never blocks.
        Raises `ForkFailed` if the child failed."""
        if self._status is None:
            pid, status, usage = os.wait4(self.pid, os.WNOHANG)
            if pid == 0:
                return None
            self._status = status
            self.cpu_s = usage.ru_utime + usage.ru_stime
        return self._collect()

    def wait(self) -> bytes:
        """Block until the child has exited (tests; a caller that must have the bytes)."""
        if self._status is None:
            _, self._status, usage = os.wait4(self.pid, 0)
            self.cpu_s = usage.ru_utime + usage.ru_stime
        return self._collect()

    def cancel(self) -> None:
        """Stop the child and release its file (a task dropped before its bytes came)."""
        if self._status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                _, self._status = os.waitpid(self.pid, 0)
            self._status = self._status if self._status is not None else -1
        self._close()

    def _collect(self) -> bytes:
        try:
            if self._status != 0:
                raise ForkFailed(f"child {self.pid} ended with wait status {self._status}")
            size = os.fstat(self.fd).st_size
            data = os.pread(self.fd, size, 0)
            if size < _HEADER or int.from_bytes(data[:_HEADER], "big") != size - _HEADER:
                raise ForkFailed(f"child {self.pid} wrote {size} bytes, incomplete")
            return data[_HEADER:]
        finally:
            self._close()

    def _close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class ForkedRunner:
    """Starts `Job`s: `compute` runs in a child forked from this process's state now."""

    available = hasattr(os, "fork") and hasattr(os, "memfd_create")

    def start(self, compute: Callable[[], bytes]) -> Job:
        fd = os.memfd_create("cityops-forked", os.MFD_CLOEXEC)
        started = time.perf_counter()
        try:
            pid = os.fork()
        except OSError:
            os.close(fd)
            raise
        if pid == 0:  # the child: never returns
            _child(compute, fd)
        return Job(pid, fd, started)


def _child(compute: Callable[[], bytes], fd: int) -> None:
    code = 1
    try:
        # the collector would touch (and so copy) every object of the parent
        gc.disable()
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        data = compute()
        view = memoryview(len(data).to_bytes(_HEADER, "big") + data)
        while view:
            view = view[os.write(fd, view) :]
        code = 0
    except BaseException:  # reported through the exit status
        code = 1
    finally:
        os._exit(code)
