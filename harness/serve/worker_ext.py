"""A vLLM worker extension (`worker_extension_cls`) that swaps checkpoints into a running engine, correctly.

Plain `reload_weights` is not enough on the CPU build: layers whose GEMM was prepacked without dropping the weight
(the embedding and a tied `lm_head`) keep serving the *previous* checkpoint's packed copy, so a reloaded engine
answers differently from a fresh one. After reloading we rebuild those packs. Methods take strings only, because
`vllm serve` forwards /collective_rpc arguments as strings.
"""

from __future__ import annotations

WORKER_EXTENSION = "harness.serve.worker_ext.CheckpointSwap"


class CheckpointSwap:
    def profit_swap_weights(self, weights_path: str) -> None:
        self.reload_weights(weights_path=weights_path, is_checkpoint_format=True)
        from vllm.platforms import current_platform

        if current_platform.is_cpu():
            from vllm.model_executor.layers.utils import dispatch_cpu_unquantized_gemm

            for module in self.model_runner.get_model().modules():
                weight = getattr(module, "weight", None)
                if hasattr(module, "cpu_linear") and weight is not None and weight.ndim == 2 and weight.numel():
                    dispatch_cpu_unquantized_gemm(module, remove_weight=False)

    def profit_reseed(self, seed: str) -> None:
        """The same seed before every checkpoint makes a reused engine sample exactly as a fresh one would."""
        from vllm.utils.torch_utils import set_random_seed

        set_random_seed(int(seed))
