"""CPU seconds and resident memory of the measured processes, read from /proc."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


# --- /proc -------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo += _children(p)
    return pids


def _cpu_rss(pid: int) -> tuple[float, int]:
    """(CPU seconds incl. reaped children, RSS bytes) of one process; (0, 0) when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        statm = Path(f"/proc/{pid}/statm").read_text().split()
    except OSError:
        return 0.0, 0
    fields = stat.rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ticks / _CLK_TCK, int(statm[1]) * _PAGE


def _runq_wait(pid: int) -> float:
    """Seconds the process's threads waited for a CPU while runnable (schedstat's run
    delay, summed over its tasks): how much a figure was the machine's, not the code's."""
    total = 0
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, IndexError, ValueError):
                total += int((task / "schedstat").read_text().split()[1])
    return total / 1e9


def _pss(pid: int) -> int:
    """Proportional set size: each page shared with other processes counted by its share.
    Summed over a tree it counts shared pages once, where RSS counts them in every
    process: a worker's forked snapshot child shares nearly all its pages with the
    worker, so the RSS sum showed ~2x the memory while one ran (1,052-1,099 MiB
    against a 551 MiB worker alone, docs/benchmarks.md)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def _peak_rss(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


@dataclass
class ProcessUsage:
    """CPU and memory of a process and its descendants (PostgreSQL's backends)."""

    name: str
    pid: int
    tree: bool = True  # False for the bench process: its descendants are the stack
    cpu_start: float = -1.0
    cpu_s: float = 0.0
    peak_rss: int = 0
    #: peak of the tree's summed PSS (`_pss`): its memory with shared pages counted once
    peak_pss: int = 0
    runq_start: float = 0.0
    runq_wait_s: float = 0.0

    def sample(self) -> None:
        cpu, rss, runq, pss = 0.0, 0, 0.0, 0
        for p in _tree(self.pid) if self.tree else [self.pid]:
            c, r = _cpu_rss(p)
            cpu, rss, runq, pss = cpu + c, rss + r, runq + _runq_wait(p), pss + _pss(p)
        if not cpu and not rss:
            return  # exited: keep the last figures
        if self.cpu_start < 0:
            self.cpu_start, self.runq_start = cpu, runq
        self.cpu_s = max(self.cpu_s, cpu - self.cpu_start)
        self.runq_wait_s = max(self.runq_wait_s, runq - self.runq_start)
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)
        if not self.tree:
            # VmHWM: the true peak, also between samples (single process only)
            self.peak_rss = max(self.peak_rss, _peak_rss(self.pid))

    def as_dict(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "cpu_s": round(self.cpu_s, 2),
            # waiting for a core while runnable (other processes' load, this one's too)
            "runq_wait_s": round(self.runq_wait_s, 2),
            "peak_rss_mib": round(self.peak_rss / 2**20, 1),
            "peak_pss_mib": round(self.peak_pss / 2**20, 1),
        }
