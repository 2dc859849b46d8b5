"""`executor: local`: the job graph on this machine, N jobs at a time, each in a worker process with its share of the
cores (so a 2-core machine trains two small runs at once instead of one on two threads, which is slower here).

Workers are long-lived processes (torch and transformers are imported once per worker, not once per job), die with
the pipeline (a SIGKILLed pipeline leaves no worker writing into folders its rerun will use), and start with spawn
(no copy of the parent's threads or engine state). A failed job stops the jobs that need it; every other job still
runs; the outcome names both.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from tqdm import tqdm

from .jobs import Job, run_job

log = logging.getLogger("profit.pipeline")


@dataclass
class Outcome:
    done: dict[str, dict] = field(default_factory=dict)  # job -> its result (run_job's), or {"line": "already done"}
    failed: dict[str, str] = field(default_factory=dict)  # job -> why
    blocked: dict[str, str] = field(default_factory=dict)  # job -> the failed job it needed

    def problems(self) -> list[str]:
        return [f"{name} failed: {why}" for name, why in self.failed.items()] + [
            f"{name} not run: it needs {cause}, which {'failed' if cause in self.failed else 'did not run'}"
            for name, cause in self.blocked.items()]


def _worker_init(threads: int) -> None:
    from profit_core.lifetime import die_with_parent
    from profit_core.offline import go_offline

    die_with_parent()
    go_offline()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    import torch

    torch.set_num_threads(threads)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # one progress view: the pipeline's
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)))


class LocalExecutor:
    def __init__(self, workers: int | None = None):
        self.workers = workers or default_workers()
        self.threads = max(1, len(os.sched_getaffinity(0)) // self.workers)

    def describe(self) -> str:
        return f"local, {self.workers} worker(s) x {self.threads} thread(s)"

    def _pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_init, initargs=(self.threads,))

    def run(self, jobs: list[Job], finished: set[str], progress: bool = True) -> Outcome:
        """Run every job not in `finished` (jobs found done before the run), in an order that respects `needs`."""
        out = Outcome(done={name: {"line": "already done", "seconds": 0.0} for name in finished})
        pending = [j for j in jobs if j.name not in finished]
        bar = tqdm(total=len(jobs), initial=len(finished), desc="pipeline", unit="job", disable=not progress,
                   dynamic_ncols=True)
        running: dict[Future, Job] = {}
        pool = self._pool()
        try:
            while pending or running:
                for job in list(pending):
                    cause = next((n for n in job.needs if n in out.failed or n in out.blocked), None)
                    if cause:
                        out.blocked[job.name] = cause
                        pending.remove(job)
                        bar.update(1)
                ready = [j for j in pending if all(n in out.done for n in j.needs)]
                for job in ready[: self.workers - len(running)]:
                    running[pool.submit(run_job, job)] = job
                    pending.remove(job)
                bar.set_postfix_str(", ".join(j.name for j in running.values())[-70:], refresh=True)
                if not running:
                    break  # nothing ready and nothing running: only jobs blocked by failures are left
                finished_now, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished_now:
                    job = running.pop(future)
                    try:
                        out.done[job.name] = future.result()
                        bar.write(f"{job.name}: {out.done[job.name]['line']} ({out.done[job.name]['seconds']:.0f} s)")
                    except BrokenProcessPool:
                        out.failed[job.name] = "its worker process died (out of memory, or killed)"
                        pool.shutdown(wait=False, cancel_futures=True)
                        pool = self._pool()
                    except Exception as err:  # noqa: BLE001 - a job's failure is reported, the others go on
                        out.failed[job.name] = f"{type(err).__name__}: {err}"
                    if job.name in out.failed:
                        bar.write(f"{job.name}: FAILED ({out.failed[job.name]})")
                    bar.update(1)
        except BaseException:
            # Ctrl-C or SIGTERM: stop the workers now rather than wait for their jobs (a rerun resumes them).
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            bar.close()
        for job in pending:  # needs that can never be met (a cycle, or a job missing from the graph)
            out.blocked.setdefault(job.name, ", ".join(n for n in job.needs if n not in out.done))
        return out
