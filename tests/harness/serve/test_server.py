"""`vllm serve` lifecycle: healthy start, busy port, never healthy, crash mid-run, SIGTERM; never an orphan."""

import os
import signal
import socket
import subprocess
import time

import psutil
import pytest

from harness.serve.server import HOST, ServerDied, ServerError, VLLMServer
from tests.harness.conftest import ENGINE, ROOT, TASK, eval_cli

pytestmark = pytest.mark.vllm
ARGS = {**ENGINE, "enforce_eager": True}
ENV = {"VLLM_ENABLE_V1_MULTIPROCESSING": "0"}


def serving(model) -> list[psutil.Process]:
    """Every process on this machine that serves `model` (its path is in the command line)."""
    out = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if "serve" in cmd and str(model) in cmd:
            out.append(p)
    return out


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
        pids = [server.proc.pid] + [c.pid for c in psutil.Process(server.proc.pid).children(recursive=True)]
        with pytest.raises(ServerDied, match="died during the run"), server.guard():
            os.kill(server.proc.pid, signal.SIGKILL)  # the crash
            time.sleep(30)  # a long request the watchdog must cut short
    assert_no_orphans(ckpts["good"], pids)


def test_sigterm_to_profit_eval_stops_its_server(ckpts, tmp_path):
    proc = subprocess.Popen(eval_cli(str(ckpts["variant"]), "--tasks", TASK, "--backend", "vllm-server",
                                     "--store", str(tmp_path), "--max-model-len", "256", "--kv-cache", "64M"),
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not serving(ckpts["variant"]) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert serving(ckpts["variant"]), "the server never started"
        time.sleep(3)
        family = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
    assert_no_orphans(ckpts["variant"], family)
    assert not list((tmp_path / "records").glob("*.json")) if (tmp_path / "records").exists() else True
