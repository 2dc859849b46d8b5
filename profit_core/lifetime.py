"""Processes that must not outlive the one that started them (Linux): a worker whose parent was SIGKILLed would go on
writing into folders a rerun is about to use."""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}): {os.strerror(err)}")


def die_with_parent(poll_s: float = 1.0) -> None:
    """End this process when its parent dies: the kernel's parent-death signal, and a watcher thread for the case
    the signal misses (it fires when the parent *thread* that forked us exits, and not at all if the parent died
    before we asked)."""
    parent = os.getppid()
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()
