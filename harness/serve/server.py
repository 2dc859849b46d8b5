"""`vllm serve` as a context manager: a free loopback port, /health within a timeout, and a guaranteed clean stop.

The server runs on a leash (leash.py) that leads its own session (process group). Stopping sends SIGTERM to the
group, then SIGKILL to the group and to any descendant that left it, so no engine process outlives us whatever ended
the run. When we are killed too hard to stop it (SIGKILL), the leash sees its parent die and stops the server itself.
A watchdog thread interrupts the main thread if the server (and so the leash, which exits with its code) dies while
we use it, so a crash mid-run surfaces at once as `ServerDied` instead of as a client retry loop.
"""

from __future__ import annotations

import _thread
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

HOST = "127.0.0.1"


class ServerError(RuntimeError):
    """The server could not be started or used; the message says why and ends with its last log lines."""


class ServerDied(ServerError):
    """The server exited while a run was using it."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return True
    return False


def leashed(command: list[str]) -> list[str]:
    """`command` under `python -m harness.serve.leash <our pid>`: it stops the command if we die without doing so."""
    return [sys.executable, "-m", "harness.serve.leash", str(os.getpid()), "--", *command]


def serve_command(model: str | Path, port: int, served_name: str, engine_args: dict) -> list[str]:
    """`python -m vllm.entrypoints.cli.main serve ...`: the same interpreter as ours, no reliance on PATH."""
    cmd = [sys.executable, "-m", "vllm.entrypoints.cli.main", "serve", str(model), "--host", HOST, "--port", str(port),
           "--served-model-name", served_name, "--disable-uvicorn-access-log"]
    for key, value in engine_args.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            cmd.append(flag)
        elif value is not False and value is not None:
            cmd += [flag, json.dumps(value) if isinstance(value, dict | list) else str(value)]
    return cmd


class VLLMServer:
    """Usage: `with VLLMServer(model, engine_args) as server: ... server.base_url ...`."""

    def __init__(self, model: str | Path, engine_args: dict, *, port: int | None = None, served_name: str = "profit",
                 health_timeout_s: float = 300.0, env: dict | None = None, log_dir: str | Path | None = None):
        self.model = Path(model)
        self.engine_args = engine_args
        self.requested_port = port
        self.served_name = served_name
        self.health_timeout_s = health_timeout_s
        self.env = env or {}
        self._log_dir = Path(log_dir) if log_dir else None
        self._own_log_dir = log_dir is None
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.start_s: float | None = None
        self._watching = threading.Event()
        self.died = False
        self.healthy = False
        self.stopped_pids: list[int] = []

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self._log_dir / "vllm-serve.log"

    def log_tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def __enter__(self) -> VLLMServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        if self.requested_port is not None and port_in_use(self.requested_port):
            raise ServerError(f"vllm-server: port {self.requested_port} on {HOST} is already in use; "
                              "pass another port or none (a free one is picked)")
        self.port = self.requested_port or free_port()
        if self._log_dir is None:
            self._log_dir = Path(tempfile.mkdtemp(prefix="profit-vllm-serve-"))
        self._log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env}
        cmd = leashed(serve_command(self.model, self.port, self.served_name, self.engine_args))
        t0 = time.perf_counter()
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=env, start_new_session=True)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        self.start_s = time.perf_counter() - t0
        self.healthy = True
        self._watching.set()
        threading.Thread(target=self._watch, name="vllm-server-watchdog", daemon=True).start()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.health_timeout_s
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                hint = " (port already in use)" if "address already in use" in self.log_tail(60).lower() else ""
                raise ServerError(f"vllm-server exited with code {code} before it became healthy{hint}; "
                                  f"log {self.log_path}:\n{self.log_tail()}")
            if self._get("/health", timeout=2) == 200:
                return
            time.sleep(0.5)
        raise ServerError(f"vllm-server was not healthy within {self.health_timeout_s:.0f} s "
                          f"(engine.health_timeout_s); log {self.log_path}:\n{self.log_tail()}")

    def _get(self, path: str, timeout: float) -> int | None:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=timeout) as r:
                return r.status
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return None

    def post(self, path: str, body: dict | None = None, timeout: float = 600) -> dict | None:
        req = urllib.request.Request(self.base_url + path, data=json.dumps(body or {}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                text = r.read()
        except urllib.error.HTTPError as e:
            raise ServerError(f"vllm-server {path} failed: HTTP {e.code} {e.read()[:2000]!r}") from None
        except (urllib.error.URLError, ConnectionError, OSError) as e:
            self.check_alive()
            raise ServerError(f"vllm-server {path} failed: {e}") from None
        return json.loads(text) if text else None

    def _watch(self) -> None:
        while self._watching.is_set():
            if self.proc.poll() is not None:
                if self._watching.is_set():
                    self.died = True
                    _thread.interrupt_main()  # surfaces as KeyboardInterrupt; callers turn it into ServerDied
                return
            time.sleep(0.5)

    def check_alive(self) -> None:
        if self.died or (self.proc is not None and self.proc.poll() is not None):
            self.died = True
            raise ServerDied(f"vllm-server died during the run (exit code {self.proc.poll()}); "
                             f"log {self.log_path}:\n{self.log_tail()}")

    @contextlib.contextmanager
    def guard(self):
        """Turn the watchdog's interrupt into ServerDied; a real Ctrl-C stays a KeyboardInterrupt."""
        try:
            yield
        except KeyboardInterrupt:
            if self.died:
                raise ServerDied(f"vllm-server died during the run (exit code {self.proc.poll()}); "
                                 f"log {self.log_path}:\n{self.log_tail()}") from None
            raise
        self.check_alive()

    def reload_weights(self, model: str | Path) -> None:
        """Swap the running engine's weights for another checkpoint of the same architecture (needs dev mode and
        the CheckpointSwap worker extension, see worker_ext.py)."""
        self.post("/collective_rpc", {"method": "profit_swap_weights", "kwargs": {"weights_path": str(model)}})
        self.post("/reset_prefix_cache")  # cached KV blocks were computed with the old weights
        self.model = Path(model)

    def stop(self, grace_s: float = 15.0) -> None:
        """SIGTERM the group, wait, SIGKILL whatever is left (group and strays). Safe to call twice."""
        self._watching.clear()
        proc, self.proc = self.proc, None
        if proc is not None:
            try:
                leader = psutil.Process(proc.pid)
                family = [leader, *leader.children(recursive=True)]
            except psutil.NoSuchProcess:
                family = []
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                pass
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            for p in family:  # psutil.Process refuses to signal a pid that was reused meanwhile
                with contextlib.suppress(psutil.NoSuchProcess, psutil.TimeoutExpired):
                    p.kill()
                    p.wait(timeout=5)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            self.stopped_pids = [p.pid for p in family]
        # Logs of a failed start or a crash stay for the error message to point at.
        if self._own_log_dir and self._log_dir is not None and self.healthy and not self.died:
            shutil.rmtree(self._log_dir, ignore_errors=True)
