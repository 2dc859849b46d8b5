"""Run a command that cannot outlive its parent: `python -m harness.serve.leash [--grace S] <parent-pid> -- cmd...`.

The parent's `finally` stops its server on a normal exit, an error or SIGTERM, but a SIGKILLed parent runs no code,
so only the child side can notice. The leash runs the command as its child and watches two things:

- its parent: the kernel sends it PDEATH_SIGNAL when the parent goes (prctl PR_SET_PDEATHSIG), and it also checks
  every POLL_S that `getppid()` is still the pid it was given. The check is what decides: PR_SET_PDEATHSIG fires when
  the parent *thread* that forked us exits, which is no death if the parent's other threads live on, and the pid is
  passed in (not read at start) so that a parent that died before we looked is still noticed;
- the command: when it exits on its own, the leash exits with its code (128 + N for a death by signal N, as a shell
  reports it), so whoever watches the leash sees the command's death.

Whenever it ends (parent gone, SIGTERM or SIGINT, command exited) it stops every descendant left: SIGTERM, then SIGKILL
after `--grace` seconds. It is a child subreaper (PR_SET_CHILD_SUBREAPER), so a descendant whose parent died, even one
that left the process group, is reparented to the leash instead of to init and is still found and stopped. Linux only
(prctl, sigtimedwait), as vLLM's CPU and CUDA builds are.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time

import psutil

from profit_core.lifetime import PR_SET_CHILD_SUBREAPER, PR_SET_PDEATHSIG, prctl

PDEATH_SIGNAL = signal.SIGUSR1  # a signal of its own: only a wake-up to check the parent, never a stop by itself
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
WATCHED = {signal.SIGCHLD, PDEATH_SIGNAL, *STOP_SIGNALS}
POLL_S = 1.0


def _reap(child: int) -> int | None:
    """Reap every exited child (orphans come to us as subreaper); `child`'s exit code if it was among them."""
    code = None
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return code
        if pid == 0:
            return code
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            code = 128 - code if code < 0 else code


def stop_descendants(grace_s: float) -> None:
    """SIGTERM every descendant, SIGKILL those left after grace_s; again until none is left (one may have forked)."""
    me = psutil.Process()
    deadline = time.monotonic() + grace_s
    while family := me.children(recursive=True):
        sig = signal.SIGTERM if time.monotonic() < deadline else signal.SIGKILL
        for p in family:  # psutil refuses to signal a pid that was reused meanwhile
            with contextlib.suppress(psutil.NoSuchProcess):
                p.send_signal(sig)
        # Reaps our children; a grandchild comes to us (subreaper) when its parent dies, and is reaped next round.
        psutil.wait_procs(family, timeout=max(deadline - time.monotonic(), 0.5))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.serve.leash", description=__doc__.split("\n")[0])
    parser.add_argument("--grace", type=float, default=10.0, help="seconds between SIGTERM and SIGKILL")
    parser.add_argument("parent", type=int, help="the pid whose death stops the command")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command after --")

    # Blocked signals stay pending until sigtimedwait below takes them: none is lost, none interrupts a kill loop.
    signal.pthread_sigmask(signal.SIG_BLOCK, WATCHED)
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    prctl(PR_SET_PDEATHSIG, PDEATH_SIGNAL)
    if os.getppid() != args.parent:
        print(f"leash: parent {args.parent} is gone before the start; not running {command[0]}", file=sys.stderr)
        return 1
    # The command gets an empty signal mask and the default SIGPIPE/SIGXFSZ, as subprocess gives them.
    child = os.posix_spawnp(command[0], command, os.environ, setsigmask=(),
                            setsigdef=(signal.SIGPIPE, signal.SIGXFSZ))
    while True:
        code = _reap(child)
        if code is not None:
            stop_descendants(args.grace)  # what it left behind (an engine core) would hold its memory
            return code
        if os.getppid() != args.parent:
            print(f"leash: parent {args.parent} is gone; stopping {command[0]} (pid {child})", file=sys.stderr)
            stop_descendants(args.grace)
            return 1
        info = signal.sigtimedwait(WATCHED, POLL_S)
        if info is not None and info.si_signo in STOP_SIGNALS:
            stop_descendants(args.grace)
            return 128 + info.si_signo


if __name__ == "__main__":
    sys.exit(main())
