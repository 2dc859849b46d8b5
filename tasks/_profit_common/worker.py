"""The scoring worker: `python -m _profit_common.worker`, one JSON request per line on stdin, one reply per line.

Request `{"scorer": name, "doc": {...}, "response": "..."}`; reply `{"ok": {metric: value}, "refused": reason}` (the
reason a response was scored unparsed, as the empty response, by `bounds.py`; null when it was parsed) or
`{"error": "..."}`. It runs only the scorers named in `scorers.SCORERS`, under an address-space limit; the parent
(`sandbox.py`) enforces the time limit by killing it.
"""

from __future__ import annotations

import json
import os
import resource
import sys


def _limit_memory() -> None:
    # A hostile expression (a tower of powers, a huge factorial) must fail with MemoryError here rather than take the
    # machine's RAM before the time limit fires.
    megabytes = int(os.environ.get("PROFIT_SCORE_MEMORY_MB", "4096"))
    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main() -> int:
    # Keep the protocol channel private: libraries that print (nltk, lm-eval) write to stderr instead of our stdout.
    protocol_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    _limit_memory()
    from _profit_common.scorers import score, warm_up

    warm_up()
    protocol_out.write(json.dumps({"ready": True}) + "\n")
    protocol_out.flush()
    for line in sys.stdin.buffer:
        try:
            request = json.loads(line)
            verdict, refused = score(request["scorer"], request["doc"], request["response"])
            reply = {"ok": verdict, "refused": refused}
        except Exception as exc:  # noqa: BLE001 - any failure on untrusted text is a verdict, not a crash
            reply = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
        protocol_out.write(json.dumps(reply) + "\n")
        protocol_out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
