"""Baseline tests for the RL module: it fine-tunes the default LDM from src.paths."""

import pytest
from src.paths import AVAIL_CHECKPOINTS, DEFAULT_LDM_CKPT_PATH


@pytest.mark.baseline
@pytest.mark.slow
def test_default_ldm_checkpoint_is_the_rl_one():
    assert DEFAULT_LDM_CKPT_PATH.name == "ldm_rl_dng_tuor5vgd.ckpt"
    assert DEFAULT_LDM_CKPT_PATH.stat().st_size > 0
    assert "alex_mp_20_ldm_rl" in AVAIL_CHECKPOINTS.split(", ")
