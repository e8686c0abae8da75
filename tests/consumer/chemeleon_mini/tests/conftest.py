"""Shared fixtures. Nothing here touches checkpoints: a lookup in a conftest would stop collection."""

import pytest


@pytest.fixture
def structures() -> list[str]:
    return ["Si2", "FeO"]
