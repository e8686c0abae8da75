"""The README's main job (`make demo` = python -m ckpt.demo) at a small size."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def snapshot():
    status = subprocess.run(
        ["git", "status", "--porcelain", "--ignored"], cwd=REPO, capture_output=True, text=True
    ).stdout
    files = sorted((p.as_posix(), p.stat().st_mtime_ns) for p in (REPO / "ckpts").rglob("*"))
    return status, files


@pytest.mark.slow
def test_demo_publishes_and_gets_every_checkpoint_by_name():
    before = snapshot()
    out = subprocess.run(
        [sys.executable, "-m", "ckpt.demo", "--size", "64k"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    rows = [ln for ln in out.stdout.splitlines() if re.match(r"^\w+\s+\d+\.\d KiB\s+\d+ ms", ln)]
    assert len(rows) == 8 and all(ln.endswith("yes") for ln in rows)
    facts = re.search(r"Hub: (\d+) requests, (\d+) commits", out.stdout)
    assert facts and 1 <= int(facts[2]) <= 3
    assert "your checkout was not touched" in out.stdout
    assert snapshot() == before
