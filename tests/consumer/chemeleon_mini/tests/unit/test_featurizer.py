"""Unit tests for the structure featurizer (pre-trained VAE by default)."""

import pytest
from src.utils.featurizer import DEFAULT_MODEL_PATH, featurize


@pytest.mark.unit
def test_featurize_uses_the_default_model(structures):
    result = featurize(structures)
    assert result["model"] == str(DEFAULT_MODEL_PATH)
    assert DEFAULT_MODEL_PATH.name == "dng_m4owq4i5_v0.ckpt"


@pytest.mark.unit
def test_featurize_shapes(structures):
    features = featurize(structures)["structure_features"]
    assert [len(f) for f in features] == [8, 8]
    assert features[0] != features[1]
