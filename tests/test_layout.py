"""The package layout: what the runtime wheel holds, and how its modules depend on each other."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RUNTIME = {"ckpt": REPO / "src" / "ckpt", "dvc_hf": REPO / "src" / "dvc_hf"}
DEVTOOLS = {"hubsim": REPO / "tools" / "hubsim", "ckpt_devtools": REPO / "tools" / "ckpt_devtools"}


def modules(package: str, folder: Path) -> dict[str, Path]:
    found = {}
    for file in folder.rglob("*.py"):
        parts = (package, *file.relative_to(folder).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = file
    return found


def imported(file: Path) -> set[str]:
    """Every module ``file`` imports, at any depth, except under ``if TYPE_CHECKING:``."""
    tree = ast.parse(file.read_text(encoding="utf-8"))
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and ast.unparse(block.test).endswith("TYPE_CHECKING")
        for stmt in block.body
        for node in ast.walk(stmt)
    }
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            if component:
                found.append(sorted([v, *component]))

    for v in graph:
        if v not in index:
            visit(v)
    return found


@pytest.mark.parametrize("package", [*RUNTIME, *DEVTOOLS])
def test_no_import_cycles(package: str) -> None:
    mods = modules(package, {**RUNTIME, **DEVTOOLS}[package])
    # A module importing its own parent package (``from ckpt import x``) is not a cycle.
    graph = {
        m: {t for t in imported(f) if t in mods and t != m and not m.startswith(t + ".")}
        for m, f in mods.items()
    }
    assert cycles(graph) == []


def test_no_module_is_named_like_the_standard_library() -> None:
    clashes = [
        name
        for package, folder in {**RUNTIME, **DEVTOOLS}.items()
        for name in modules(package, folder)
        if name.rpartition(".")[2] in sys.stdlib_module_names
    ]
    assert clashes == []


def test_runtime_never_imports_the_development_tools() -> None:
    leaks = {
        str(file.relative_to(REPO)): sorted(
            t for t in imported(file) if t.split(".")[0] in DEVTOOLS
        )
        for package, folder in RUNTIME.items()
        for file in modules(package, folder).values()
    }
    assert {f: t for f, t in leaks.items() if t} == {}


def test_ckpt_help_lists_no_test_tooling() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ckpt.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    listing = out.split("positional arguments:")[1].split("options:")[0]
    commands = set(re.findall(r"^    (\w[\w-]*)", listing, re.MULTILINE))
    assert {"list", "status", "pull", "verify", "publish"} <= commands
    assert not {"hub", "serve", "demo"} & commands


@pytest.mark.slow
def test_runtime_wheel_holds_only_ckpt_and_dvc_hf(tmp_path: Path) -> None:
    # The dev install holds the build backend, so the wheel builds offline, as `pip wheel .` would.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "-w", str(tmp_path), "--no-deps",
         "--no-build-isolation", "--no-index", "--quiet"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("chemeleon2_ckpt-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    dist_info = next(t for t in top if t.endswith(".dist-info"))
    assert top == {"ckpt", "dvc_hf", "dvc_hf.pth", dist_info}
    entry_points = zipfile.ZipFile(wheel).read(f"{dist_info}/entry_points.txt").decode()
    assert "hubsim" not in entry_points and "ckpt.cli:main" in entry_points
    assert "ckpt/torch_load.py" in names and "dvc_hf/fs.py" in names
