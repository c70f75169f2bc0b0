"""The package's import layers, as pyproject.toml's [tool.importlinter] contracts state them.

`lint-imports` fails when a module imports from a layer above its own (a circle such as
settings -> training -> data -> settings, or plot <-> training), when two siblings of one layer
import each other, or when the core (data, models, training) imports a display library.
To see the layers: the contracts in pyproject.toml; to fix a failure, move the shared code down.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import d2lutil
import d2lutil.training

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "d2lutil"

# Imports inside functions that stay there on purpose, by module: what each one avoids.
LOCAL_IMPORTS_ALLOWED = {
    "d2lutil/bench/explorer_timing.py": "the explorer is optional to the benchmark: it reports 'skipped' without it",
}
EXPLORER = ("d2lutil/explorer.py", "d2lutil/explorer/")  # rewritten by the explorer issue, which keeps this rule


def test_import_contracts_are_kept() -> None:
    exe = Path(sys.executable).parent / "lint-imports"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "importlinter.cli"]
    result = subprocess.run(
        [*cmd, "--no-cache", "--config", str(REPO / "pyproject.toml")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, f"lint-imports found a broken import contract:\n{output[-8000:]}"
    assert "0 broken" in output


def test_no_function_local_imports() -> None:
    """An import inside a function hides a dependency from the reader and from lint-imports' layers."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel in LOCAL_IMPORTS_ALLOWED or rel.startswith(EXPLORER):
            continue
        for node in ast.walk(ast.parse(path.read_text(), rel)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found += [
                    f"{rel}:{inner.lineno} in {node.name}()"
                    for inner in ast.walk(node)
                    if isinstance(inner, (ast.Import, ast.ImportFrom))
                ]
    assert not found, "imports inside functions (move them to the top of the module):\n" + "\n".join(found)


def test_the_train_function_does_not_shadow_the_training_module() -> None:
    assert callable(d2lutil.train) and d2lutil.train.__module__ == "d2lutil.training"
    assert d2lutil.training.__name__ == "d2lutil.training"  # the module, not shadowed by the function
    assert d2lutil.training.train is d2lutil.train  # one train; the live plot is a callback
