"""`ProcessUsage` on real processes: a forked child's shared pages counted once by PSS."""

from __future__ import annotations

import subprocess
import sys
import time

from cityops.bench.procfs import ProcessUsage

# 64 MiB touched, then a fork whose child only sleeps: both map the same pages.
_PARENT = """
import os, sys, time
data = bytearray(64 * 2**20)
for i in range(0, len(data), 4096):
    data[i] = 1
if os.fork() == 0:
    time.sleep(30)
    os._exit(0)
print("ready", flush=True)
time.sleep(30)
"""


def test_a_forked_childs_shared_pages_count_once_in_pss_not_in_rss() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", _PARENT], stdout=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            time.sleep(0.2)  # the child is listed among the parent's children
            usage = ProcessUsage("parent", proc.pid)
            usage.sample()
            rss, pss = usage.peak_rss / 2**20, usage.peak_pss / 2**20
            assert rss >= 2 * 64  # both processes hold the 64 MiB
            assert 64 <= pss < rss - 48  # shared: counted once
        finally:
            proc.kill()
