"""Baseline tests for the VAE module, built from scratch: no checkpoint needed."""

import pytest


@pytest.mark.smoke
@pytest.mark.baseline
def test_vae_builds_without_checkpoints(structures):
    assert len(structures) == 2
