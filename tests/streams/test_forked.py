"""Bytes computed in a forked child (streams/forked.py): of the state at the fork."""

from __future__ import annotations

import os

import pytest

from streams.forked import ForkedRunner, ForkFailed

pytestmark = pytest.mark.skipif(not ForkedRunner.available, reason="needs fork and memfd")


class Gate:
    """A child computing behind it waits until the parent opens it (no sleeps)."""

    def __init__(self) -> None:
        self.r, self.w = os.pipe()

    def wait(self) -> None:
        os.read(self.r, 1)

    def open(self) -> None:
        os.write(self.w, b"x")

    def close(self) -> None:
        os.close(self.r)
        os.close(self.w)


def test_the_child_computes_from_the_state_at_the_fork() -> None:
    gate = Gate()
    state = {"devices": list(range(1000))}

    def compute() -> bytes:
        gate.wait()
        return repr(state).encode() * 3000  # far beyond a pipe's buffer

    try:
        job = ForkedRunner().start(compute)
        state["devices"].append(-1)  # after the fork: not seen by the child
        assert job.poll() is None  # still waiting at the gate
        gate.open()
        data = job.wait()
    finally:
        gate.close()
    assert data == repr({"devices": list(range(1000))}).encode() * 3000
    assert job.fd == -1


def test_poll_gives_the_bytes_once_the_child_exited() -> None:
    job = ForkedRunner().start(lambda: b"")
    os.waitid(os.P_PID, job.pid, os.WEXITED | os.WNOWAIT)  # exited, not yet reaped
    assert job.poll() == b""


def test_a_child_that_fails_is_reported() -> None:
    def compute() -> bytes:
        raise ValueError("cannot encode")

    job = ForkedRunner().start(compute)
    with pytest.raises(ForkFailed, match="wait status"):
        job.wait()


def test_cancel_stops_the_child_and_reaps_it() -> None:
    gate = Gate()
    try:
        job = ForkedRunner().start(lambda: (gate.wait(), b"never")[1])
        job.cancel()
    finally:
        gate.close()
    with pytest.raises(ChildProcessError):
        os.waitpid(job.pid, os.WNOHANG)  # already reaped: no zombie left
    assert job.fd == -1
