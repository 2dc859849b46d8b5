"""The leash around `vllm serve`, with plain Python children instead of an engine: whatever ends it (its parent's
death, even by SIGKILL, a SIGTERM, or the command's own exit), nothing it started is left running."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from tests.harness.conftest import ROOT

LEASH = [sys.executable, "-m", "harness.serve.leash"]

# The command under the leash: a child (`deaf`: one that ignores SIGTERM) that starts a grandchild in a session of
# its own (it leaves the process group, as a stray would), writes both pids to argv[1], then sleeps (`sleep`, `deaf`),
# exits with code 3 (`exit`) or dies of SIGKILL (`crash`), as argv[2] says.
CHILD = textwrap.dedent("""
    import json, os, signal, subprocess, sys, time
    if sys.argv[2] == "deaf":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    grandchild = subprocess.Popen(["sleep", "300"], start_new_session=True)
    with open(sys.argv[1] + ".tmp", "w") as f:
        json.dump([os.getpid(), grandchild.pid], f)
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    if sys.argv[2] == "exit":
        sys.exit(3)
    if sys.argv[2] == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(300)
""")

# A parent that starts the leash from a thread that ends once the command runs (argv[1] exists), and lives on:
# PR_SET_PDEATHSIG fires when that thread exits, which the leash must not take for the parent's death.
PARENT = textwrap.dedent("""
    import os, subprocess, sys, threading, time
    def start():
        subprocess.Popen([sys.executable, "-m", "harness.serve.leash", str(os.getpid()), *sys.argv[2:]],
                         start_new_session=True)
        while not os.path.exists(sys.argv[1]):
            time.sleep(0.1)
    thread = threading.Thread(target=start)
    thread.start()
    thread.join()
    time.sleep(300)
""")


def running(pids) -> list[int]:
    return [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]


def assert_all_gone(pids, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while running(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not running(pids)


def pids_in(path, timeout_s: float = 20) -> list[int]:
    """[child pid, grandchild pid], once the leashed command has written them."""
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert time.monotonic() < deadline, "the leashed command never started"
        time.sleep(0.1)
    return json.loads(path.read_text())


@pytest.fixture
def command(tmp_path):
    """command(mode) -> (`-- <the child> ...`, the file it writes its pids to); whatever a failed test leaves running
    is killed at teardown."""
    started = []

    def make(mode: str):
        started.append(tmp_path / f"pids-{len(started)}")
        return ["--", sys.executable, "-c", CHILD, str(started[-1]), mode], started[-1]

    yield make
    for path in started:
        for pid in running(json.loads(path.read_text()) if path.exists() else []):
            os.kill(pid, signal.SIGKILL)


def test_sigkill_of_the_parent_stops_child_and_stray_grandchild(command):
    cmd, pids_file = command("sleep")
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(pids_file), *cmd], cwd=ROOT)
    try:
        child_and_grandchild = pids_in(pids_file)
        (leash,) = psutil.Process(parent.pid).children()
        family = [leash.pid, *child_and_grandchild]
        time.sleep(1.5)  # a check of the parent or two: the ended thread is no death
        assert running(family) == family
        parent.kill()
        parent.wait()
        assert_all_gone(family, within_s=5)
    finally:
        parent.kill()
        parent.wait()


def test_sigterm_stops_a_child_that_ignores_it_after_the_grace(command):
    cmd, pids_file = command("deaf")
    leash = subprocess.Popen([*LEASH, "--grace", "1", str(os.getpid()), *cmd], cwd=ROOT)
    family = pids_in(pids_file)
    t0 = time.monotonic()
    leash.terminate()
    assert leash.wait(timeout=10) == 128 + signal.SIGTERM
    assert 1 <= time.monotonic() - t0 < 5
    assert_all_gone(family, within_s=2)


@pytest.mark.parametrize(("mode", "code"), [("exit", 3), ("crash", 128 + signal.SIGKILL)])
def test_the_commands_exit_is_the_leashs_and_leaves_nothing(command, mode, code):
    cmd, pids_file = command(mode)
    leash = subprocess.Popen([*LEASH, str(os.getpid()), *cmd], cwd=ROOT)
    family = pids_in(pids_file)
    assert leash.wait(timeout=20) == code
    assert_all_gone(family, within_s=1)  # the orphaned grandchild came back to the leash (subreaper), was stopped


def test_a_parent_gone_before_the_start_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    # pid 1 is not our parent: as if ours had died and we had been reparented before the leash looked
    result = subprocess.run([*LEASH, "1", "--", "touch", str(marker)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1 and "is gone" in result.stderr
    assert not marker.exists()
