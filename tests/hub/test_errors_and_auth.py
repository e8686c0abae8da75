"""Missing things and bad credentials raise the exception types the real Hub leads to."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.hub import LocalHub
from huggingface_hub import HfApi, HfFileSystem, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from hubsim.auth import user_name


def test_missing_repo_revision_and_file(
    api: HfApi, repo: str, local_hub: LocalHub, tmp_path: Path
) -> None:
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo)
    kw = {"endpoint": local_hub.url, "cache_dir": tmp_path / "c", "token": False}

    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("me/nope", "x.txt", **kw)
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(repo, "x.txt", revision="no-such-branch", **kw)
    with pytest.raises(RemoteEntryNotFoundError):
        hf_hub_download(repo, "missing.txt", **kw)
    with pytest.raises(EntryNotFoundError):  # the parent class callers usually catch
        hf_hub_download(repo, "missing.txt", **kw)

    with pytest.raises(RepositoryNotFoundError):
        api.repo_info("me/nope")
    with pytest.raises(RepositoryNotFoundError):
        api.list_repo_files("me/nope")
    with pytest.raises(RevisionNotFoundError):
        api.repo_info(repo, revision="v9")
    with pytest.raises(RevisionNotFoundError):
        api.list_repo_files(repo, revision="v9")
    with pytest.raises(RemoteEntryNotFoundError):
        list(api.list_repo_tree(repo, path_in_repo="no/such/dir"))
    with pytest.raises(RepositoryNotFoundError):
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="me/nope")
    assert not api.file_exists(repo, "missing.txt")
    assert not api.revision_exists(repo, "v9")

    fs = HfFileSystem(endpoint=local_hub.url, token=False, skip_instance_cache=True)
    with pytest.raises(FileNotFoundError):
        fs.info(f"{repo}/missing.txt")
    with pytest.raises(FileNotFoundError):
        fs.ls("me/nope")


@pytest.fixture
def secured(hub_factory) -> LocalHub:  # type: ignore[no-untyped-def]
    hub = hub_factory(tokens={"writer": "rw", "reader": "ro"})
    writer = HfApi(endpoint=hub.url, token="writer")
    writer.create_repo("team/public")
    writer.create_repo("team/secret", private=True)
    for repo in ("team/public", "team/secret"):
        writer.upload_file(path_or_fileobj=b"data", path_in_repo="f.txt", repo_id=repo)
    return hub


def test_write_needs_a_write_token(secured: LocalHub) -> None:
    reader = HfApi(endpoint=secured.url, token="reader")
    with pytest.raises(HfHubHTTPError) as e:
        reader.upload_file(path_or_fileobj=b"x", path_in_repo="y.txt", repo_id="team/public")
    assert e.value.response.status_code == 403
    assert "write token" in str(e.value)
    with pytest.raises(HfHubHTTPError) as e:
        reader.create_repo("team/new")
    assert e.value.response.status_code == 403

    anonymous = HfApi(endpoint=secured.url, token=False)
    with pytest.raises(HfHubHTTPError) as e:
        anonymous.upload_file(path_or_fileobj=b"x", path_in_repo="y.txt", repo_id="team/public")
    assert e.value.response.status_code == 401
    assert secured.commits("team/public") == 1  # only the writer's


def test_bad_token_is_rejected(secured: LocalHub, tmp_path: Path) -> None:
    bad = HfApi(endpoint=secured.url, token="made-up")
    with pytest.raises(HfHubHTTPError) as e:
        bad.repo_info("team/public")
    assert e.value.response.status_code == 401
    # The Hub's message for an unknown token: not mistaken for a missing repo.
    assert not isinstance(e.value, RepositoryNotFoundError)
    with pytest.raises(HfHubHTTPError) as e:
        bad.whoami()
    assert e.value.response.status_code == 401
    # A public name derived from the token, never the token itself.
    assert HfApi(endpoint=secured.url, token="reader").whoami()["name"] == user_name("reader")


def test_private_repo_is_invisible_without_token(secured: LocalHub, tmp_path: Path) -> None:
    anonymous = HfApi(endpoint=secured.url, token=False)
    assert anonymous.repo_info("team/public").id == "team/public"
    with pytest.raises(RepositoryNotFoundError):
        anonymous.repo_info("team/secret")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(
            "team/secret", "f.txt", endpoint=secured.url, token=False, cache_dir=tmp_path / "a"
        )
    path = hf_hub_download(
        "team/secret", "f.txt", endpoint=secured.url, token="reader", cache_dir=tmp_path / "r"
    )
    assert Path(path).read_bytes() == b"data"
    assert HfApi(endpoint=secured.url, token="reader").repo_info("team/secret").private


def test_visibility_can_change(secured: LocalHub) -> None:
    HfApi(endpoint=secured.url, token="writer").update_repo_settings("team/public", private=True)
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=secured.url, token=False).repo_info("team/public")
