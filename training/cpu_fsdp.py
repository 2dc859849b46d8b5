"""`python -m training.cpu_fsdp -m MODULE ARGS...`: run MODULE (normally `training.cli`) with FSDP on CPU.

accelerate 1.15 enables FSDP on accelerators only: launched on CPU with an FSDP config (ACCELERATE_USE_FSDP=true), it
builds the FSDP plugin and then runs plain data parallelism (`profit train` warns). This wrapper gives accelerate's
state the plugin it built from the launch config, so the run shards over gloo as it would over NCCL (the decoder
layers, [final norm, embeddings, lm_head], the root), then runs MODULE as `python -m MODULE ARGS...` would. It is the
mechanism tests/training/test_fsdp.py uses for `profit train` under configs/accelerate/fsdp2-cpu.yaml; a rehearsal
(`profit pipeline CONFIG --rehearse`, harness/pipeline/rehearse.py) puts it after an FSDP launcher:

    accelerate launch --config_file configs/accelerate/fsdp2.yaml --num_processes 2 -m training.cpu_fsdp \\
        -m training.cli --config run.yaml

On a machine with GPUs it changes nothing (accelerate takes its FSDP branch itself).
"""

from __future__ import annotations

import runpy
import sys


def enable_fsdp_on_cpu() -> None:
    """Patch AcceleratorState so that a multi-CPU state with an FSDP plugin is an FSDP state."""
    from accelerate.state import AcceleratorState
    from accelerate.utils import DistributedType

    if getattr(AcceleratorState.__init__, "_profit_cpu_fsdp", False):
        return
    original = AcceleratorState.__init__

    def init(self, *args, fsdp_plugin=None, **kwargs):
        original(self, *args, fsdp_plugin=fsdp_plugin, **kwargs)
        plugin = fsdp_plugin or getattr(self, "fsdp_plugin", None)  # each new AcceleratorState() resets the type
        if plugin is not None and self.distributed_type == DistributedType.MULTI_CPU:
            self.distributed_type = DistributedType.FSDP
            self.fsdp_plugin = plugin

    init._profit_cpu_fsdp = True
    AcceleratorState.__init__ = init


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[0] != "-m":
        sys.exit("usage: python -m training.cpu_fsdp -m MODULE [ARGS...]")
    module, args = argv[1], argv[2:]
    enable_fsdp_on_cpu()
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
