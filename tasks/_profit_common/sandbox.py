"""Run scorers on untrusted model output in a separate, killable worker process, each call under a time limit.

A call that runs past the limit (a pathological LaTeX parse, a tower of powers in sympy) gets its worker killed; the
next call starts a fresh worker. The worker is a plain subprocess (not multiprocessing), so it works the same under
`lm_eval`, pytest or a user script without a `__main__` guard.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import select
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

TASKS_DIR = Path(__file__).resolve().parents[1]
DEFAULT_TIMEOUT_S = 10.0
# Starting a worker imports sympy, math-verify and lm-eval's IFEval checkers: slow on a busy machine, and not the
# scorer's fault, so it has its own, generous limit.
STARTUP_TIMEOUT_S = 300.0


class ScoringFailed(Exception):
    """The worker gave no verdict: it ran past the time limit, died, or the scorer raised."""


class ScoringSandbox:
    def __init__(self, timeout_s: float | None = None):
        self.timeout_s = float(timeout_s or os.environ.get("PROFIT_SCORE_TIMEOUT_S", DEFAULT_TIMEOUT_S))
        if self.timeout_s <= 0:
            raise ValueError(f"PROFIT_SCORE_TIMEOUT_S must be > 0, got {self.timeout_s}")
        self._proc: subprocess.Popen | None = None
        self.failures = 0

    def score(self, scorer: str, doc: dict, response: str) -> dict:
        """The scorer's verdict, or ScoringFailed (the worker is then replaced)."""
        request = (json.dumps({"scorer": scorer, "doc": doc, "response": response}, default=str) + "\n").encode()
        proc = self._worker()
        try:
            proc.stdin.write(request)
            proc.stdin.flush()
            reply = self._read_line(proc, time.monotonic() + self.timeout_s)
        except (BrokenPipeError, TimeoutError, EOFError) as exc:
            self.failures += 1
            self.close()
            what = f"no verdict within {self.timeout_s:g}s" if isinstance(exc, TimeoutError) else type(exc).__name__
            raise ScoringFailed(what) from None
        reply = json.loads(reply)
        if "error" in reply:
            self.failures += 1
            raise ScoringFailed(reply["error"])
        return reply["ok"]

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
        if proc is not None:
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                stream.close()

    def _worker(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TASKS_DIR), env.get("PYTHONPATH", "")) if p)
            # One thread each: the worker parses short strings, and the machine is shared with the model.
            env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "_profit_common.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
            )
            try:
                self._read_line(self._proc, time.monotonic() + STARTUP_TIMEOUT_S)
            except (TimeoutError, EOFError):
                self.close()
                raise RuntimeError(
                    "the scoring worker did not start (see its error above); it needs math-verify and lm-eval"
                ) from None
        return self._proc

    @staticmethod
    def _read_line(proc: subprocess.Popen, deadline: float) -> bytes:
        fd = proc.stdout.fileno()
        chunks = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            if chunk.endswith(b"\n"):
                return b"".join(chunks)


_shared: ScoringSandbox | None = None


def shared_sandbox() -> ScoringSandbox:
    """One worker per process, shared by all profit_* tasks of a run."""
    global _shared
    if _shared is None:
        _shared = ScoringSandbox()
        atexit.register(_shared.close)
    return _shared
