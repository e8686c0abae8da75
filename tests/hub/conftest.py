"""Fixtures for the local Hub's tests. The client is the real huggingface_hub, over HTTP;
tests/conftest.py has already set HF_HUB_DISABLE_XET, HF_HOME and friends before its import."""

from __future__ import annotations

import pytest

# Until tests/conftest.py lists "helpers.hub" in pytest_plugins; harmless after.
from helpers.hub import LocalHub, hub_factory, local_hub  # noqa: F401


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


@pytest.fixture
def api(local_hub: LocalHub):  # type: ignore[no-untyped-def]  # noqa: F811
    from huggingface_hub import HfApi

    return HfApi(endpoint=local_hub.url, token=False)


@pytest.fixture
def repo(api) -> str:  # type: ignore[no-untyped-def]
    api.create_repo("me/repo")
    return "me/repo"
