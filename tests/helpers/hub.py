"""The local Hub for tests: the ``local_hub``/``hub_factory`` fixtures around ``LocalHub`` (loaded
by ``pytest_plugins = ["helpers.hub"]``).

In-process clients must pass ``endpoint=hub.url`` explicitly (``HF_ENDPOINT`` is read when
huggingface_hub is imported); subprocess clients take ``hub_client_env(hub, hf_home)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hubsim.process import LocalHub

__all__ = ["LocalHub", "hub_client_env", "hub_factory", "local_hub"]


def hub_client_env(hub: LocalHub, hf_home: Path | str, token: str | None = None) -> dict[str, str]:
    """Environment for a subprocess running the real huggingface_hub client against ``hub``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env |= {
        "HF_ENDPOINT": hub.url,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HOME": str(hf_home),
    }
    if token is not None:
        env["HF_TOKEN"] = token
    return env


@pytest.fixture
def local_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHub]:
    """A fresh, anonymous (open) local Hub for one test."""
    with LocalHub(tmp_path_factory.mktemp("hub") / "data") as hub:
        yield hub


@pytest.fixture
def hub_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``hub_factory(tokens=..., commits_per_hour=..., faults=[...], ...)`` -> a started LocalHub."""
    hubs: list[LocalHub] = []

    def make(**options: Any) -> LocalHub:
        hub = LocalHub(tmp_path_factory.mktemp("hub") / "data", **options)
        hubs.append(hub)
        return hub.start()

    yield make
    for hub in hubs:
        hub.stop()
