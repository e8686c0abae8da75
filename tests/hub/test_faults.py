"""Injected faults behave as specified, and the real client survives the ones it should."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from helpers.hub import LocalHub
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError

MiB = 1024 * 1024


@pytest.fixture
def big_file(api: HfApi, repo: str) -> bytes:
    data = os.urandom(25 * MiB)
    api.upload_file(path_or_fileobj=data, path_in_repo="big.bin", repo_id=repo)
    return data


@pytest.mark.parametrize(
    ("drop", "resumed"),
    [(12 * MiB, True), (1 * MiB, False)],
    ids=["after-a-chunk-resumes", "before-a-chunk-restarts"],
)
def test_interrupted_download_resumes_or_restarts_with_right_bytes(
    big_file: bytes, repo: str, local_hub: LocalHub, tmp_path: Path, drop: int, resumed: bool
) -> None:
    local_hub.inject("resolve", method="GET", drop=drop, times=1)
    path = hf_hub_download(repo, "big.bin", endpoint=local_hub.url, cache_dir=tmp_path / "c")
    assert hashlib.sha256(Path(path).read_bytes()).digest() == hashlib.sha256(big_file).digest()

    first, second = local_hub.requests(kind="resolve", method="GET")
    assert first["dropped"] and first["bytes"] == drop
    if resumed:  # the client kept the whole 10 MiB chunks it had and asked for the rest
        assert second["status"] == 206
        assert 0 < len(big_file) - second["bytes"] <= drop
    else:
        assert second["status"] == 200 and second["bytes"] == len(big_file)


def test_next_n_failures_then_success(api: HfApi, repo: str, local_hub: LocalHub) -> None:
    local_hub.inject("commit", status=503, times=1)
    op = CommitOperationAdd(path_in_repo="a.txt", path_or_fileobj=b"a")
    with pytest.raises(HfHubHTTPError) as e:  # the client does not retry commits
        api.create_commit(repo, operations=[op], commit_message="first try")
    assert e.value.response.status_code == 503
    assert local_hub.commits(repo) == 0
    api.create_commit(
        repo,
        operations=[CommitOperationAdd(path_in_repo="a.txt", path_or_fileobj=b"a")],
        commit_message="second try",
    )
    assert local_hub.commits(repo) == 1
    assert local_hub.faults()[0]["fired"] == 1


@pytest.mark.slow  # two client back-offs of 1 s and 2 s
def test_lfs_upload_retried_after_5xx_and_dropped_body(
    api: HfApi, repo: str, local_hub: LocalHub
) -> None:
    local_hub.inject("lfs-upload", status=500, times=1)
    local_hub.inject("lfs-upload", drop=MiB, times=1)
    data = os.urandom(12 * MiB)
    api.upload_file(path_or_fileobj=data, path_in_repo="x.bin", repo_id=repo)
    puts = local_hub.requests(kind="lfs-upload")
    assert [r["status"] for r in puts] == [500, 0, 200]
    assert puts[1]["dropped"] and puts[1]["bytes_in"] == MiB
    (info,) = api.get_paths_info(repo, ["x.bin"])
    assert info.lfs.sha256 == hashlib.sha256(data).hexdigest()


def test_rate_faults_are_deterministic_with_a_seed(hub_factory) -> None:  # type: ignore[no-untyped-def]
    def pattern(hub: LocalHub) -> list[bool]:
        api = HfApi(endpoint=hub.url, token=False)
        api.create_repo("me/r")
        out = []
        for _ in range(30):
            try:
                api.list_repo_refs("me/r")
                out.append(True)
            except HfHubHTTPError as e:
                assert e.response.status_code == 502
                out.append(False)
        return out

    spec = ["refs:rate=0.4,status=502"]
    a = pattern(hub_factory(faults=spec, seed=7))
    b = pattern(hub_factory(faults=spec, seed=7))
    c = pattern(hub_factory(faults=spec, seed=8))
    assert a == b
    assert a != c
    assert 0 < a.count(False) < 30


def test_delay_and_clear(api: HfApi, repo: str, local_hub: LocalHub) -> None:
    local_hub.inject("repo-info", delay=0.3)
    api.repo_info(repo)
    local_hub.clear_faults()
    api.repo_info(repo)
    slow, fast = local_hub.requests(kind="repo-info")
    assert slow["ms"] >= 300 and slow["fault"]
    assert "fault" not in fast
    assert local_hub.faults() == []


def test_injected_429_carries_retry_after(repo: str, local_hub: LocalHub) -> None:
    import urllib.request
    from urllib.error import HTTPError

    local_hub.inject("repo-info", status=429, retry_after=7, times=1)
    with pytest.raises(HTTPError) as e:
        urllib.request.urlopen(f"{local_hub.url}/api/models/{repo}")
    assert (e.value.code, e.value.headers["Retry-After"]) == (429, "7")
    with urllib.request.urlopen(f"{local_hub.url}/api/models/{repo}") as resp:
        assert resp.status == 200  # times=1: only the next request


def test_bad_fault_rule_is_refused(local_hub: LocalHub) -> None:
    from urllib.error import HTTPError

    with pytest.raises(HTTPError) as e:
        local_hub.inject("resolve", status=200)
    assert e.value.code == 400
