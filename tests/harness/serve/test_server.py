"""`vllm serve` lifecycle: healthy start, busy port, never healthy, crash mid-run, SIGTERM, SIGKILL; no orphan."""

import contextlib
import signal
import socket
import subprocess
import time
import urllib.request

import psutil
import pytest

from harness.serve.server import HOST, ServerDied, ServerError, VLLMServer
from tests.harness.conftest import ENGINE, ROOT, TASK, eval_cli

pytestmark = pytest.mark.vllm
ARGS = {**ENGINE, "enforce_eager": True}
ENV = {"VLLM_ENABLE_V1_MULTIPROCESSING": "0"}


def serving(model) -> list[psutil.Process]:
    """Every process on this machine that serves `model`: `serve` and the model's path are arguments of its command
    line (`profit eval ... --backend vllm-server` has the path but no `serve` argument)."""
    out = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if "serve" in cmd and str(model) in cmd:
            out.append(p)
    return out


def wait_until_healthy(model, timeout_s: float = 120) -> None:
    """Until a server of `model` answers /health on a port it listens on (a running process is not yet a server)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for p in serving(model):
            with contextlib.suppress(psutil.Error):
                for c in p.net_connections("inet"):
                    if c.status == psutil.CONN_LISTEN and c.laddr.ip == HOST:
                        with contextlib.suppress(OSError):
                            with urllib.request.urlopen(f"http://{HOST}:{c.laddr.port}/health", timeout=2) as r:
                                if r.status == 200:
                                    return
        time.sleep(0.5)
    raise AssertionError(f"no server of {model} became healthy within {timeout_s:.0f} s")


def assert_no_orphans(model, pids=()):
    deadline = time.monotonic() + 20
    while (serving(model) or any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids)) \
            and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not serving(model)
    assert not [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]


def test_busy_port_is_refused_before_anything_starts(ckpts):
    with socket.socket() as s:
        s.bind((HOST, 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(ServerError, match=f"port {port} .* already in use"):
            VLLMServer(ckpts["good"], ARGS, port=port, env=ENV).start()
    assert_no_orphans(ckpts["good"])


def test_never_healthy_times_out_and_leaves_nothing(ckpts):
    server = VLLMServer(ckpts["good"], ARGS, env=ENV, health_timeout_s=3)
    with pytest.raises(ServerError, match="not healthy within 3 s"):
        server.start()
    assert_no_orphans(ckpts["good"], server.stopped_pids)
    assert server.stopped_pids  # it did start processes, and stopped them


def test_healthy_server_serves_then_crash_mid_run_is_reported_and_cleaned_up(ckpts):
    with VLLMServer(ckpts["good"], ARGS, env=ENV) as server:
        assert server._get("/v1/models", timeout=10) == 200
        leash = psutil.Process(server.proc.pid)
        (api_server,) = leash.children()  # `vllm serve`; the leash exits with its code
        pids = [leash.pid] + [c.pid for c in leash.children(recursive=True)]
        with pytest.raises(ServerDied, match=r"died during the run \(exit code 137\)"), server.guard():
            api_server.kill()  # the crash
            time.sleep(30)  # a long request the watchdog must cut short
    assert_no_orphans(ckpts["good"], pids)


def test_sigterm_to_profit_eval_stops_its_server(ckpts, tmp_path):
    proc = subprocess.Popen(eval_cli(str(ckpts["variant"]), "--tasks", TASK, "--backend", "vllm-server",
                                     "--store", str(tmp_path), "--max-model-len", "256", "--kv-cache", "64M"),
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_healthy(ckpts["variant"])
        family = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
    assert_no_orphans(ckpts["variant"], family)
    assert not list((tmp_path / "records").glob("*.json")) if (tmp_path / "records").exists() else True


def test_sigkill_to_profit_eval_leaves_no_server(ckpts, tmp_path):
    proc = subprocess.Popen(eval_cli(str(ckpts["variant"]), "--tasks", TASK, "--backend", "vllm-server",
                                     "--store", str(tmp_path), "--max-model-len", "256", "--kv-cache", "64M"),
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    family = []
    try:
        wait_until_healthy(ckpts["variant"])
        family = psutil.Process(proc.pid).children(recursive=True)
        assert {p.pid for p in serving(ckpts["variant"])} <= {p.pid for p in family}, "a server not of this run"
        proc.kill()  # no `finally` runs in profit eval: only its server's side can clean up
        assert proc.wait(timeout=10) == -signal.SIGKILL
        assert_no_orphans(ckpts["variant"], [p.pid for p in family])
    finally:
        proc.kill()
        for p in [*serving(ckpts["variant"]), *family]:  # never leave an engine behind, even when the test fails
            with contextlib.suppress(psutil.Error):
                p.kill()
