"""Baseline tests for the LDM module: it builds on the default VAE from src.paths."""

import pytest
from src.paths import DEFAULT_VAE_CKPT_PATH


@pytest.mark.baseline
def test_default_vae_checkpoint_is_the_alex_mp_20_vae():
    assert DEFAULT_VAE_CKPT_PATH.name == "dng_j1jgz9t0_v1.ckpt"
    assert DEFAULT_VAE_CKPT_PATH.read_bytes()[:4] == b"PK\x03\x04"
