"""A real single-node Slurm cluster for the tests: munged, slurmctld and slurmd from Debian's slurm-wlm and munge
packages, started as this user in a temporary folder on free loopback ports, stopped afterwards.

    apt-get install slurm-wlm munge    # then: pytest -m slow tests/harness/pipeline/test_slurm.py
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo")


class ClusterUnavailable(RuntimeError):
    """Slurm cannot be started here; the message says why (the test skips with it)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _conf(root: Path, host: str, cpus: int) -> str:
    return "\n".join([
        "ClusterName=profit-test", f"SlurmctldHost={host}", "SlurmUser=root", "SlurmdUser=root",
        "AuthType=auth/munge", f"AuthInfo=socket={root}/munge/munge.socket",
        f"StateSaveLocation={root}/state", f"SlurmdSpoolDir={root}/spool",
        f"SlurmctldPidFile={root}/slurmctld.pid", f"SlurmdPidFile={root}/slurmd.pid",
        f"SlurmctldPort={_free_port()}", f"SlurmdPort={_free_port()}",
        f"SlurmctldLogFile={root}/log/slurmctld.log", f"SlurmdLogFile={root}/log/slurmd.log",
        "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "MpiDefault=none",
        "SchedulerType=sched/backfill", "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core",
        "ReturnToService=2", "JobCompType=jobcomp/none", "AccountingStorageType=accounting_storage/none",
        f"NodeName={host} CPUs={cpus} RealMemory=8000 State=UNKNOWN",
        f"PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP", ""])


class LocalSlurm:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.procs: list[subprocess.Popen] = []
        self.env = {**os.environ, "SLURM_CONF": str(self.root / "slurm.conf")}

    def start(self, timeout_s: float = 60) -> LocalSlurm:
        missing = [b for b in BINARIES if not shutil.which(b)]
        if missing:
            raise ClusterUnavailable(f"not installed: {', '.join(missing)} (apt-get install slurm-wlm munge)")
        if os.geteuid() != 0:
            raise ClusterUnavailable("slurmd must run as root to start jobs")
        key = Path("/etc/munge/munge.key")
        if not key.is_file():
            raise ClusterUnavailable("no munge key at /etc/munge/munge.key (the munge package makes one)")
        for sub in ("state", "spool", "log", "munge"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        munge = self.root / "munge"
        shutil.copy(key, munge / "munge.key")
        os.chmod(munge, 0o700)
        os.chmod(munge / "munge.key", 0o400)
        (self.root / "slurm.conf").write_text(_conf(self.root, socket.gethostname(), os.cpu_count() or 1))
        conf = str(self.root / "slurm.conf")
        # --force: pytest's temporary folders sit below /tmp, which munged would refuse as insecure.
        self._spawn(["munged", "--foreground", "--force", f"--socket={munge}/munge.socket",
                     f"--key-file={munge}/munge.key", f"--pid-file={munge}/munged.pid",
                     f"--log-file={munge}/munged.log", f"--seed-file={munge}/seed"])
        time.sleep(1)
        self._spawn(["slurmctld", "-D", "-f", conf])
        time.sleep(2)
        self._spawn(["slurmd", "-D", "-f", conf])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = subprocess.run(["sinfo", "-h", "-o", "%T"], env=self.env, capture_output=True, text=True)
            if state.returncode == 0 and state.stdout.strip() in ("idle", "mixed", "allocated"):
                return self
            time.sleep(1)
        self.stop()
        raise ClusterUnavailable(f"the node never became idle; logs in {self.root / 'log'}")

    def _spawn(self, command: list[str]) -> None:
        self.procs.append(subprocess.Popen(command, env=self.env, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL, start_new_session=True))

    def stop(self) -> None:
        subprocess.run(["scancel", "--user", str(os.getuid())], env=self.env, capture_output=True)
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        self.procs.clear()
