"""The house's floors point one way: profit_core <- training, tasks <- testbed <- harness.

Every import in every module (at the top or inside a function) is checked against the layer its package may use.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# package -> the project packages it may import
ALLOWED = {
    "profit_core": set(),
    "training": {"profit_core"},
    "tasks": {"profit_core"},
    "testbed": {"profit_core", "training", "tasks"},
    "harness": {"profit_core", "training", "tasks", "testbed"},
}
# lm-eval loads the task helpers as the top-level package `_profit_common` (tasks/ on sys.path): it is tasks.
ALIASES = {"_profit_common": "tasks"}


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return {ALIASES.get(name, name) for name in found}


def wrong_way_imports(root: Path) -> list[str]:
    """`file: imports X` for every import of a project package that the file's own package may not use."""
    out = []
    for package, allowed in ALLOWED.items():
        for path in sorted((root / package).rglob("*.py")):
            for name in sorted(imported_packages(path) & set(ALLOWED) - allowed - {package}):
                out.append(f"{path.relative_to(root)}: imports {name}")
    return out


def test_every_import_points_down():
    assert wrong_way_imports(ROOT) == []


def test_a_wrong_way_import_is_caught(tmp_path):
    for package in ALLOWED:
        (tmp_path / package).mkdir()
    (tmp_path / "training" / "ok.py").write_text("from profit_core.files import atomic_write\n")
    (tmp_path / "training" / "bad.py").write_text("def f():\n    from harness.store import Store\n")
    (tmp_path / "tasks" / "bad.py").write_text("import training.api\n")
    (tmp_path / "tasks" / "alias.py").write_text("from _profit_common.text import strip_think\n")
    (tmp_path / "profit_core" / "bad.py").write_text("from testbed import build_base\n")
    assert wrong_way_imports(tmp_path) == [
        "profit_core/bad.py: imports testbed", "training/bad.py: imports harness", "tasks/bad.py: imports training"]
