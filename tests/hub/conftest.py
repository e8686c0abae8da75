"""Fixtures for the local Hub's tests. The client is the real huggingface_hub, over HTTP;
tests/conftest.py has already set HF_HUB_DISABLE_XET, HF_HOME and friends before its import."""

from __future__ import annotations

import pytest
from helpers.hub import LocalHub


@pytest.fixture
def api(local_hub: LocalHub):  # type: ignore[no-untyped-def]
    from huggingface_hub import HfApi

    return HfApi(endpoint=local_hub.url, token=False)


@pytest.fixture
def repo(api) -> str:  # type: ignore[no-untyped-def]
    api.create_repo("me/repo")
    return "me/repo"
