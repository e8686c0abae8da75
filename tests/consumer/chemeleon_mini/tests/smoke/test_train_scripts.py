"""The training script's checkpoint overrides; none of these needs a checkpoint's bytes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from src.utils.checkpoint import checkpoint_path

ROOT = Path(__file__).resolve().parents[2]


def train(*overrides: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "src" / "train_vae.py"), *overrides],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.smoke
def test_ckpt_path_override_with_a_file_is_used_as_given(tmp_path):
    mine = tmp_path / "last.ckpt"
    mine.write_bytes(b"weights")
    result = train(f"ckpt_path={mine}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"ckpt_path={mine}"


@pytest.mark.smoke
def test_ckpt_path_override_with_a_partial_name_says_what_exists():
    result = train("ckpt_path=mp_20")
    assert result.returncode != 0
    assert "UnknownCheckpoint" in result.stderr
    assert "Did you mean 'mp_20_" in result.stderr
    assert "mp_20_vae" in result.stderr


@pytest.mark.smoke
def test_module_level_names_need_no_download():
    path = checkpoint_path("mp_20_vae")
    assert path.is_absolute()
    assert path.resolve() == ROOT / "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt"
