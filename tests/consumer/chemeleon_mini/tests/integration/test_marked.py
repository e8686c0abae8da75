"""A test that names its checkpoints with the plugin's marker instead of importing a constant."""

import pytest


@pytest.mark.integration
@pytest.mark.requires_checkpoints("mp_20_ldm_base")
def test_base_ldm(checkpoint_paths):
    assert checkpoint_paths["mp_20_ldm_base"].name == "ldm_null_4tfw67aq.ckpt"
