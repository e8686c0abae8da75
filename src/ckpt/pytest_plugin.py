"""pytest plugin (entry point ``pytest11``): markers, skip-when-missing, and checkpoint fixtures.

    @pytest.mark.requires_checkpoints("mp_20_vae")
    def test_vae(checkpoint_paths):
        vae = checkpoint_paths["mp_20_vae"]

A test whose checkpoints are missing and cannot be fetched (SKIP_CHECKPOINT_DOWNLOAD=true, no
remote, no token) is skipped with a reason naming them and the command that fetches them. A name
that is not in the registry, or a checkpoint whose bytes are wrong, is an error, never a skip.
Loading this plugin imports neither dvc nor huggingface_hub.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# Only the plugin's own marker: a plugin loaded into every consumer's test suite must not define
# generic names (smoke, slow, ...) there. This project's markers live in its pyproject.toml.
MARKERS = {
    "requires_checkpoints(*names)": "needs these checkpoints (all in the registry if no names); "
    "skipped with the reason when they are missing and cannot be fetched",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, help_text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {help_text}")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("requires_checkpoints")
    if marker is None:
        return
    item.stash[_PATHS] = _resolve(marker.args)


def _resolve(names: tuple[str, ...]) -> dict[str, Path]:
    from ckpt.errors import CheckpointSkipped, CheckpointUnavailable
    from ckpt.loader import ensure, warm_path
    from ckpt.registry import find_repo_root, load_registry, lookup

    root = find_repo_root()
    registry = load_registry(root)
    artifacts = [lookup(registry, n) for n in names] if names else list(registry.values())
    paths = {a.name: warm_path(root, a) for a in artifacts}
    cold = [a for a in artifacts if paths[a.name] is None]
    if cold:
        try:
            fetched = ensure(root, cold)
        except (CheckpointSkipped, CheckpointUnavailable) as exc:
            missing = " ".join(a.name for a in cold)
            why = str(exc).splitlines()[0]
            pytest.skip(
                f"checkpoints missing: {missing}. Fetch them with `ckpt pull {missing}` "
                f"(or `dvc pull ckpts`). [{why}]"
            )
        paths.update({a.name: fetched[a.path] for a in cold})
    return paths  # type: ignore[return-value]


_PATHS = pytest.StashKey[dict[str, Path]]()


@pytest.fixture
def checkpoint_paths(request: pytest.FixtureRequest) -> dict[str, Path]:
    """Name -> verified local path for the checkpoints named by the test's requires_checkpoints."""
    if request.node.get_closest_marker("requires_checkpoints") is None:
        raise pytest.UsageError(
            f"{request.node.nodeid} uses checkpoint_paths without "
            "@pytest.mark.requires_checkpoints(...): name the checkpoints it needs."
        )
    return request.node.stash[_PATHS]
