"""The README's main job (`make demo` = python -m ckpt_devtools.demo) at a small size."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def snapshot(root: Path) -> list[tuple[str, int, int]]:
    return sorted(
        (p.relative_to(root).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
    )


@pytest.mark.slow
def test_demo_publishes_and_gets_every_checkpoint_by_name(tmp_path: Path) -> None:
    # The demo runs from a checkout of its own (CKPT_REPO), so other xdist workers writing into this
    # one (bytecode caches, benchmark work dirs) cannot disturb the "not touched" check.
    checkout = tmp_path / "checkout"
    (checkout / ".dvc").mkdir(parents=True)
    for name in ("dvc.yaml", "ckpts.dvc", ".dvc/config"):
        shutil.copy(REPO / name, checkout / name)
    before = snapshot(checkout)
    out = subprocess.run(
        [sys.executable, "-m", "ckpt_devtools.demo", "--size", "64k"],
        cwd=checkout, env=os.environ | {"CKPT_REPO": str(checkout)},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    rows = [ln for ln in out.stdout.splitlines() if re.match(r"^\w+\s+\d+\.\d KiB\s+\d+ ms", ln)]
    assert len(rows) == 8 and all(ln.endswith("yes") for ln in rows)
    facts = re.search(r"Hub: (\d+) requests, (\d+) commits", out.stdout)
    assert facts and 1 <= int(facts[2]) <= 3
    assert "your checkout was not touched" in out.stdout
    assert snapshot(checkout) == before
