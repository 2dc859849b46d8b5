"""The `vllm serve` lifecycle (server.py) and the lm-eval client that talks to it (client.py)."""

from harness.serve.server import ServerDied, ServerError, VLLMServer

__all__ = ["ServerDied", "ServerError", "VLLMServer"]
