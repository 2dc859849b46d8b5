"""Run scorers on untrusted model output in a separate, killable worker process, each call under a time limit.

A call that runs past the limit (a pathological LaTeX parse that `bounds.py` did not refuse) gets its worker killed,
and a spare worker, started in the background when the first one became ready, takes over: a timeout costs the time
limit, not a worker start (several seconds: the imports). The worker is a plain subprocess (not multiprocessing), so it
works the same under `lm_eval`, pytest or a user script without a `__main__` guard.
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
# A response must be scored within 5 s, the kill included. The slowest MATH-500 / AIME gold scores in ~0.2 s here, and
# long IFEval responses in a few seconds; a response the limit cuts off gets the empty response's verdict.
DEFAULT_TIMEOUT_S = 4.0
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
        self._proc: subprocess.Popen | None = None  # the worker that scores
        self._spare: subprocess.Popen | None = None  # started in the background; takes over after a kill
        self.failures = 0
        self.refused = 0

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
            self._proc = None
            _stop(proc)
            what = f"no verdict within {self.timeout_s:g}s" if isinstance(exc, TimeoutError) else type(exc).__name__
            raise ScoringFailed(what) from None
        reply = json.loads(reply)
        if "error" in reply:
            self.failures += 1
            raise ScoringFailed(reply["error"])
        if reply["refused"]:
            self.refused += 1
            log.warning("a response was not parsed (%s); scored as the empty response", reply["refused"])
        return reply["ok"]

    def close(self) -> None:
        for proc in (self._proc, self._spare):
            _stop(proc)
        self._proc = self._spare = None

    def _worker(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            _stop(self._proc)
            proc, self._proc, self._spare = self._spare, None, None
            if proc is None or proc.poll() is not None:
                _stop(proc)
                proc = _start()
            try:
                self._read_line(proc, time.monotonic() + STARTUP_TIMEOUT_S)  # its "ready" line
            except (TimeoutError, EOFError):
                _stop(proc)
                raise RuntimeError(
                    "the scoring worker did not start (see its error above); it needs math-verify and lm-eval"
                ) from None
            # The next spare imports while this worker scores.
            self._proc, self._spare = proc, _start()
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


def _start() -> subprocess.Popen:
    """A worker, importing its scorers in the background; it writes a "ready" line when done."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TASKS_DIR), env.get("PYTHONPATH", "")) if p)
    # One thread each: the worker parses short strings, and the machine is shared with the model.
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.Popen(
        [sys.executable, "-m", "_profit_common.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
    )


def _stop(proc: subprocess.Popen | None) -> None:
    """Kill a worker (if still running) and reap it."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for stream in (proc.stdin, proc.stdout):
        stream.close()


_shared: ScoringSandbox | None = None


def shared_sandbox() -> ScoringSandbox:
    """One worker per process, shared by all profit_* tasks of a run."""
    global _shared
    if _shared is None:
        _shared = ScoringSandbox()
        atexit.register(_shared.close)
    return _shared
