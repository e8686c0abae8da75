"""A few hundred MB through the real client each way: right bytes, and the rate for the record.

No speed assertion (timing belongs to benchmarks); tests/hub/measure_throughput.py measures 1 GiB
and docs/HUB.md records its figures.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from .measure_throughput import measure

MiB = 1024 * 1024


@pytest.mark.slow
def test_large_lfs_file_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], record_property
) -> None:  # type: ignore[no-untyped-def]
    rates = measure(256 * MiB, tmp_path)
    src = (tmp_path / "big.bin").read_bytes()
    got = next((tmp_path / "cache").rglob("snapshots/*/big.bin")).read_bytes()
    assert hashlib.sha256(got).digest() == hashlib.sha256(src).digest()
    line = ", ".join(f"{k} {v:.2f}" for k, v in rates.items())
    record_property("throughput_MBps", line)
    with capsys.disabled():
        print(f"\nlocal hub, 256 MiB LFS file (MB/s): {line}")
