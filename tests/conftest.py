import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from profit_core.offline import go_offline  # noqa: E402

go_offline()
os.environ.setdefault("OMP_NUM_THREADS", "2")
