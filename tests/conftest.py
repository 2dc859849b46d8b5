import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from profit_core.offline import go_offline  # noqa: E402

go_offline()
os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(autouse=True)
def _environment_restored():
    """Code under test sets variables for its own process (the scoring environment, MASTER_PORT, the thread
    count): whatever a test leaves in os.environ is undone, so no later test, nor the programs it starts, sees it."""
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)
