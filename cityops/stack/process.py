"""Child processes the embedded stack owns: start, wait until ready, stop cleanly.

Every child gets its own process group so that Ctrl-C on `cityops up` (or a
test teardown) can stop it and anything it spawned, leaving nothing behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class StackError(RuntimeError):
    """A part of the embedded stack could not start; the message says what to do."""


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: get SIGTERM when `cityops up` dies, even by SIGKILL (Linux).

    The children run in their own sessions (so Ctrl-C reaches only `up`, which
    stops them in order); without this a killed `up` would leave them running.
    Cleared by the kernel for set-uid programs, so PostgreSQL under `setpriv`
    relies on `up` stopping it.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on `host` (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def http_ok(url: str) -> bool:
    """True when GET `url` answers 2xx within a second (readiness probes)."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(200 <= response.status < 300)
    except OSError:
        return False


def find_binary(names: Sequence[str], missing: str) -> str:
    """The path of the first of `names` on PATH, or a StackError saying `missing` (how to
    install it)."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise StackError(missing)


def check_config_with(tool: str, package: str, args: Sequence[str], what: str, path: Path) -> str:
    """Validate the configuration `path` with checker `tool` (from Debian's `package`), run
    as `tool *args path`; returns its output. Raises StackError when the tool is missing or
    says the `what` configuration is invalid."""
    binary = shutil.which(tool)
    if binary is None:
        raise StackError(f"{tool} is not installed (it comes with {package})")
    result = subprocess.run([binary, *args, str(path)], capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise StackError(f"invalid {what} configuration {path}:\n{output}")
    return output


def wait_until(
    check: Callable[[], bool], *, timeout: float, what: str, proc: ManagedProcess | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            raise StackError(f"{what} exited early (code {proc.poll()}); see {proc.log_path}")
        time.sleep(0.05)
    raise StackError(f"{what} not ready after {timeout:.0f} s; see its log")


@dataclass
class ManagedProcess:
    name: str
    argv: Sequence[str]
    log_path: Path
    env: dict[str, str] | None = None
    cwd: Path | None = None
    preexec: Callable[[], None] | None = None
    stop_signal: int = signal.SIGTERM
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        try:
            self.popen = subprocess.Popen(
                list(self.argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,  # own process group: stop it and its children
                preexec_fn=self.preexec or _die_with_parent,
            )
        finally:
            log.close()
        return self

    def start_ready(self, ready: Callable[[], bool], what: str, timeout: float) -> ManagedProcess:
        """Start, then wait until `ready()` (a StackError if it exits or times out first)."""
        self.start()
        wait_until(ready, timeout=timeout, what=what, proc=self)
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def poll(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def stop(self, timeout: float = 10.0) -> None:
        """Signal the process (SIGTERM by default), then SIGKILL its group after `timeout`."""
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.popen.pid, self.stop_signal)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)
        # Children that outlived the leader still belong to the group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
