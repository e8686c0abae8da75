"""Package metadata: every distribution the runtime code imports is declared, pytest is not a
runtime dependency, and dvc_hf stays separable from ckpt."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
# Imported only where they are optional: torch by load_checkpoint, pytest by the plugin.
OPTIONAL = {"torch": "torch", "pytest": "test"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(requirements: list[str]) -> set[str]:
    return {canonical(re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0]) for r in requirements}


def imported_top_levels(package: str) -> set[str]:
    names = set()
    for path in (SRC / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"ckpt", "dvc_hf"}


def test_every_imported_distribution_is_declared():
    runtime = declared(PYPROJECT["project"]["dependencies"])
    extras = PYPROJECT["project"]["optional-dependencies"]
    dists = packages_distributions()
    for module in imported_top_levels("ckpt") | imported_top_levels("dvc_hf"):
        [dist] = {canonical(d) for d in dists[module]}
        if module in OPTIONAL:
            assert dist in declared(extras[OPTIONAL[module]]), module
            assert dist not in runtime, module
        else:
            assert dist in runtime, f"{module} (from {dist}) is imported but not declared"


def test_dependencies_are_ranges_not_pins():
    pinned = [r for r in PYPROJECT["project"]["dependencies"] if "==" in r]
    assert pinned == []


def test_dvc_hf_imports_nothing_from_ckpt():
    for path in (SRC / "dvc_hf").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                assert not any(a.name.split(".")[0] == "ckpt" for a in node.names), path
            elif isinstance(node, ast.ImportFrom) and node.module:
                assert node.module.split(".")[0] != "ckpt", path


def test_ckpt_and_dvc_hf_import_without_pytest():
    code = (
        "import sys; sys.modules['pytest'] = None;"  # `import pytest` now raises ImportError
        "import ckpt, ckpt.cli, dvc_hf.registry, dvc_hf.fs; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
