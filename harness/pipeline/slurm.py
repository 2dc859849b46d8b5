"""`executor: slurm`: the job graph submitted to a Slurm cluster through submitit.

Each job is a Slurm job that runs `jobs.run_job` with this Python environment; a job waits for the jobs it needs
(`--dependency=afterok:...`), and Slurm cancels it when one of them fails (`--kill-on-invalid-dep=yes`). The
evaluation shards, which need the same jobs, go in one job array. Trainings ask for the GPUs their launcher uses.
Jobs found finished before submission (built bases, complete trainings, stored records, an up-to-date analysis or
report) are not submitted, so submitting again does only what is missing. The pipeline waits for the jobs and
reports each one's outcome; Slurm's logs are in `<runs_dir>/slurm/`.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from .jobs import Job, run_job
from .local import Outcome

POLL_S = 5.0


@dataclass
class SlurmSettings:
    partition: str = field(default="", metadata={"help": "Slurm partition (empty: the cluster's default)."})
    account: str = field(default="", metadata={"help": "account to charge (empty: your default)."})
    time_min: int = field(default=240, metadata={"help": "time limit of each job, in minutes."})
    cpus_per_task: int = field(default=8, metadata={"help": "CPUs of each job."})
    gpus_per_training: int | None = field(
        default=None, metadata={"help": "GPUs of each training job (default: its launcher's process count, else 0)."}
    )
    gpus_per_eval: int = field(default=0, metadata={"help": "GPUs of each evaluation shard."})
    eval_shards: int = field(default=1, metadata={"help": "evaluation shards, run as one job array."})
    sbatch: dict = field(default_factory=dict, metadata={"help": "extra #SBATCH lines, e.g. {qos: high}."})
    setup: list = field(default_factory=list, metadata={"help": "shell lines run before each job (module load...)."})


class SlurmExecutor:
    def __init__(self, settings: SlurmSettings, folder: Path, poll_s: float = POLL_S):
        self.settings = settings
        self.folder = Path(folder)
        self.poll_s = poll_s

    def describe(self) -> str:
        s = self.settings
        return f"slurm (partition {s.partition or 'default'}, {s.eval_shards} evaluation shard(s))"

    def _executor(self):
        import submitit

        executor = submitit.SlurmExecutor(folder=self.folder / "%j")
        return executor

    def _parameters(self, job: Job, dependencies: list[str]) -> dict:
        s = self.settings
        extra = {**s.sbatch, "kill-on-invalid-dep": "yes"}
        params = {"job_name": f"profit:{job.name}"[:120], "time": s.time_min, "cpus_per_task": s.cpus_per_task,
                  "gpus_per_node": job.gpus or None, "setup": list(s.setup), "additional_parameters": extra}
        if s.partition:
            params["partition"] = s.partition
        if s.account:
            params["account"] = s.account
        if dependencies:
            params["dependency"] = "afterok:" + ":".join(dependencies)
        return {k: v for k, v in params.items() if v is not None}

    def run(self, jobs: list[Job], finished: set[str], progress: bool = True) -> Outcome:
        self.folder.mkdir(parents=True, exist_ok=True)
        executor = self._executor()
        submitted: dict[str, object] = {}  # job name -> submitit job
        todo = [j for j in jobs if j.name not in finished]
        at = 0
        while at < len(todo):
            job = todo[at]
            # The evaluation shards that need the same jobs go together, as one job array.
            group = [job]
            while (at + len(group) < len(todo) and job.kind == "eval" and todo[at + len(group)].kind == "eval"
                   and todo[at + len(group)].needs == job.needs):
                group.append(todo[at + len(group)])
            dependencies = sorted({submitted[n].job_id for n in job.needs if n in submitted})
            executor.update_parameters(**self._parameters(job, dependencies))
            if len(group) == 1:
                submitted[job.name] = executor.submit(run_job, job)
            else:
                with executor.batch():
                    handles = [executor.submit(run_job, j) for j in group]
                submitted.update({j.name: h for j, h in zip(group, handles)})
            at += len(group)
        return self._wait(jobs, finished, submitted, progress)

    @staticmethod
    def _queued() -> set[str]:
        """Ids of the jobs Slurm still holds (pending or running; array tasks as `<id>_<task>`)."""
        done = subprocess.run(["squeue", "-h", "-r", "-o", "%i"], capture_output=True, text=True, check=False)
        return set(done.stdout.split()) if done.returncode == 0 else set()

    def _wait(self, jobs: list[Job], finished: set[str], submitted: dict, progress: bool) -> Outcome:
        out = Outcome(done={name: {"line": "already done", "seconds": 0.0} for name in finished})
        by_name = {j.name: j for j in jobs}
        bar = tqdm(total=len(jobs), initial=len(finished), desc="pipeline (slurm)", unit="job", disable=not progress)
        waiting = dict(submitted)
        gone_once: set[str] = set()
        while waiting:
            # A job has ended when its result file is there (submitit writes one for a success and for a failure),
            # or when Slurm no longer holds it twice in a row (cancelled, timed out, killed: no result file). Not
            # sacct: clusters without accounting storage have none.
            queued = self._queued()
            for name, handle in list(waiting.items()):
                has_result = handle.paths.result_pickle.exists()
                if not has_result and (str(handle.job_id) in queued or name not in gone_once):
                    if str(handle.job_id) not in queued:
                        gone_once.add(name)
                    continue
                del waiting[name]
                try:
                    if not has_result:
                        raise RuntimeError("Slurm ended it without a result (cancelled, timed out or killed)")
                    out.done[name] = handle.result()
                    bar.write(f"{name} (job {handle.job_id}): {out.done[name]['line']}")
                except Exception as err:  # noqa: BLE001 - a job's failure is reported, the others go on
                    failed_need = next((n for n in by_name[name].needs if n in out.failed or n in out.blocked), None)
                    if failed_need:
                        out.blocked[name] = failed_need
                    else:
                        out.failed[name] = f"Slurm job {handle.job_id}: {str(err).strip().splitlines()[-1][:300]}"
                        bar.write(f"{name}: FAILED ({out.failed[name]}); log {self.folder / str(handle.job_id)}")
                bar.update(1)
            if waiting:
                time.sleep(self.poll_s)
        bar.close()
        for name in list(out.failed):  # cancelled because a job it needed failed, seen before that job was
            cause = next((n for n in by_name[name].needs if n in out.failed or n in out.blocked), None)
            if cause:
                out.blocked[name] = cause
                del out.failed[name]
        return out
