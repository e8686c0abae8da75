"""The Hub's limits, on by default: commits per hour, files per commit, paths per paths-info."""

from __future__ import annotations

import pytest
from helpers.hub import LocalHub
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import BadRequestError, HfHubHTTPError


def _commit(api: HfApi, repo: str, i: int) -> None:
    ops = [CommitOperationAdd(path_in_repo="counter.txt", path_or_fileobj=b"%d" % i)]
    api.create_commit(repo, operations=ops, commit_message=f"commit {i}")


def test_129th_commit_in_an_hour_gets_429(api: HfApi, repo: str, local_hub: LocalHub) -> None:
    for i in range(128):
        _commit(api, repo, i)
    with pytest.raises(HfHubHTTPError) as e:
        _commit(api, repo, 128)
    response = e.value.response
    assert response.status_code == 429
    assert "rate limit for repository commits (128 per hour)" in str(e.value)
    assert int(response.headers["Retry-After"]) > 0
    assert local_hub.commits(repo) == 128
    assert len(api.list_repo_commits(repo)) == 129  # + the initial commit, over 3 Link pages
    # The limit is per repository.
    api.create_repo("me/other")
    _commit(api, "me/other", 0)


def test_commit_limit_is_configurable(hub_factory) -> None:  # type: ignore[no-untyped-def]
    hub = hub_factory(commits_per_hour=2)
    api = HfApi(endpoint=hub.url, token=False)
    api.create_repo("me/r")
    _commit(api, "me/r", 0)
    _commit(api, "me/r", 1)
    with pytest.raises(HfHubHTTPError):
        _commit(api, "me/r", 2)
    hub.set_limits(commits_per_hour=0)  # switched off at run time
    _commit(api, "me/r", 3)


def test_files_per_commit_and_paths_per_info(hub_factory) -> None:  # type: ignore[no-untyped-def]
    hub = hub_factory(files_per_commit=10, paths_per_info=5)
    api = HfApi(endpoint=hub.url, token=False)
    api.create_repo("me/r")
    ops = [CommitOperationAdd(path_in_repo=f"{i}.txt", path_or_fileobj=b"x") for i in range(11)]
    with pytest.raises(BadRequestError, match="Too many files in one commit"):
        api.create_commit("me/r", operations=ops, commit_message="too big")
    api.create_commit("me/r", operations=ops[:10], commit_message="fits")

    assert len(api.get_paths_info("me/r", [f"{i}.txt" for i in range(5)])) == 5
    with pytest.raises(HfHubHTTPError) as e:
        api.get_paths_info("me/r", [f"{i}.txt" for i in range(6)])
    assert e.value.response.status_code == 413
