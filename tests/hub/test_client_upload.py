"""The real HfApi uploading to, listing and editing repos on the local Hub."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers.hub import LocalHub
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError

MiB = 1024 * 1024


def test_create_repo_exist_ok_and_types(api: HfApi, local_hub: LocalHub) -> None:
    url = api.create_repo("me/model")
    assert url == f"{local_hub.url}/me/model"
    assert api.create_repo("me/model", exist_ok=True) == url
    with pytest.raises(HfHubHTTPError) as e:
        api.create_repo("me/model")
    assert e.value.response.status_code == 409

    ds = api.create_repo("me/data", repo_type="dataset")
    assert ds == f"{local_hub.url}/datasets/me/data"
    assert api.repo_info("me/data", repo_type="dataset").id == "me/data"
    assert api.repo_exists("me/model") and not api.repo_exists("me/model", repo_type="dataset")
    # A new repo has the Hub's initial commit with .gitattributes.
    assert api.list_repo_files("me/model") == [".gitattributes"]

    api.delete_repo("me/model")
    assert not api.repo_exists("me/model")
    api.delete_repo("me/model", missing_ok=True)


def test_upload_small_regular_and_large_lfs(api: HfApi, repo: str, tmp_path: Path) -> None:
    api.upload_file(path_or_fileobj=b"hello\n", path_in_repo="notes/hello.txt", repo_id=repo)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(11 * MiB))
    info = api.upload_file(path_or_fileobj=big, path_in_repo="big.bin", repo_id=repo)
    assert len(info.oid) == 40

    files = {f.path: f for f in api.get_paths_info(repo, ["notes/hello.txt", "big.bin"])}
    assert files["notes/hello.txt"].lfs is None and files["notes/hello.txt"].size == 6
    assert files["big.bin"].lfs is not None and files["big.bin"].lfs.size == 11 * MiB
    assert files["big.bin"].lfs.sha256 == __import__("hashlib").sha256(big.read_bytes()).hexdigest()

    siblings = {s.rfilename: s for s in api.model_info(repo, files_metadata=True).siblings}
    assert siblings["big.bin"].lfs.sha256 == files["big.bin"].lfs.sha256
    assert siblings["notes/hello.txt"].blob_id == files["notes/hello.txt"].blob_id


def test_readme_goes_through_yaml_validation(api: HfApi, repo: str, local_hub: LocalHub) -> None:
    card = b"---\nlicense: mit\n---\n# Model\n"
    api.upload_file(path_or_fileobj=card, path_in_repo="README.md", repo_id=repo)
    assert local_hub.count(kind="validate-yaml", status=200) == 1
    assert api.list_repo_files(repo) == [".gitattributes", "README.md"]


def test_unchanged_file_is_not_committed_again(api: HfApi, repo: str, local_hub: LocalHub) -> None:
    api.upload_file(path_or_fileobj=b"same", path_in_repo="a.txt", repo_id=repo)
    api.upload_file(path_or_fileobj=b"same", path_in_repo="a.txt", repo_id=repo)
    assert local_hub.commits(repo) == 1  # the preupload oid told the client nothing changed


def test_create_commit_with_200_files_is_one_commit(
    api: HfApi, repo: str, local_hub: LocalHub
) -> None:
    ops = [
        CommitOperationAdd(path_in_repo=f"many/{i:03d}.txt", path_or_fileobj=f"file {i}\n".encode())
        for i in range(200)
    ]
    ops += [CommitOperationAdd(path_in_repo="bin/x.pt", path_or_fileobj=b"\0binary" * 10)]
    api.create_commit(repo, operations=ops, commit_message="200 files")
    assert local_hub.commits(repo) == 1
    files = api.list_repo_files(repo)
    assert sum(f.startswith("many/") for f in files) == 200
    (pt,) = api.get_paths_info(repo, ["bin/x.pt"])
    assert pt.lfs is not None  # binary content goes to LFS, as on the Hub
    assert api.list_repo_commits(repo)[0].title == "200 files"


def test_upload_folder_delete_file_and_folder(api: HfApi, repo: str, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    for rel in ["a.txt", "sub/b.txt", "sub/deeper/c.bin"]:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(rel.encode() * 3)
    api.upload_folder(folder_path=folder, repo_id=repo, path_in_repo="up")
    assert set(api.list_repo_files(repo)) == {
        ".gitattributes",
        "up/a.txt",
        "up/sub/b.txt",
        "up/sub/deeper/c.bin",
    }
    api.delete_file("up/a.txt", repo_id=repo)
    api.delete_folder("up/sub", repo_id=repo)
    assert api.list_repo_files(repo) == [".gitattributes"]
    with pytest.raises(HfHubHTTPError) as e:  # the client's own subclass: EntryNotFound
        api.delete_file("up/a.txt", repo_id=repo)
    assert e.value.response.headers["X-Error-Code"] == "EntryNotFound"


def test_list_repo_tree_paginates(hub_factory) -> None:  # type: ignore[no-untyped-def]
    hub = hub_factory(tree_page_size=7)
    api = HfApi(endpoint=hub.url, token=False)
    api.create_repo("me/tree")
    ops = [
        CommitOperationAdd(path_in_repo=f"d{i % 3}/f{i:02d}.txt", path_or_fileobj=b"x%d" % i)
        for i in range(30)
    ]
    api.create_commit("me/tree", operations=ops, commit_message="files")

    entries = list(api.list_repo_tree("me/tree", recursive=True))
    paths = [e.path for e in entries]
    assert len(paths) == len(set(paths)) == 30 + 3 + 1  # files, directories, .gitattributes
    assert hub.count(kind="tree") == 5  # ceil(34 / 7) pages followed through Link headers
    top = {e.path for e in api.list_repo_tree("me/tree")}
    assert top == {".gitattributes", "d0", "d1", "d2"}
    sub = [e.path for e in api.list_repo_tree("me/tree", path_in_repo="d1")]
    assert sub == sorted(f"d1/f{i:02d}.txt" for i in range(30) if i % 3 == 1)
    expanded = list(api.list_repo_tree("me/tree", path_in_repo="d0", expand=True))
    assert all(e.last_commit.title == "files" for e in expanded)


def test_get_paths_info(api: HfApi, repo: str) -> None:
    api.upload_file(path_or_fileobj=b"1", path_in_repo="dir/one.txt", repo_id=repo)
    infos = api.get_paths_info(repo, ["dir/one.txt", "dir", "missing.txt"])
    assert [(type(i).__name__, i.path) for i in infos] == [
        ("RepoFile", "dir/one.txt"),
        ("RepoFolder", "dir"),
    ]


def test_branches_and_tags(api: HfApi, repo: str) -> None:
    first = api.upload_file(path_or_fileobj=b"v1", path_in_repo="f.txt", repo_id=repo).oid
    api.create_branch(repo, branch="exp/run-1")
    api.create_branch(repo, branch="exp/run-1", exist_ok=True)
    api.upload_file(path_or_fileobj=b"v2", path_in_repo="f.txt", repo_id=repo, revision="exp/run-1")
    api.create_tag(repo, tag="v1.0", revision=first)
    with pytest.raises(HfHubHTTPError):
        api.create_tag(repo, tag="v1.0")

    refs = api.list_repo_refs(repo)
    assert {b.name for b in refs.branches} == {"main", "exp/run-1"}
    assert [(t.name, t.target_commit) for t in refs.tags] == [("v1.0", first)]
    assert api.repo_info(repo, revision="v1.0").sha == first
    assert api.repo_info(repo).sha == first
    assert api.repo_info(repo, revision="exp/run-1").sha != first

    api.delete_tag(repo, tag="v1.0")
    api.delete_branch(repo, branch="exp/run-1")
    refs = api.list_repo_refs(repo)
    assert [b.name for b in refs.branches] == ["main"] and refs.tags == []


def test_stale_parent_commit_is_refused(api: HfApi, repo: str) -> None:
    parent = api.repo_info(repo).sha
    api.upload_file(path_or_fileobj=b"a", path_in_repo="a.txt", repo_id=repo)
    with pytest.raises(HfHubHTTPError) as e:
        api.upload_file(
            path_or_fileobj=b"b", path_in_repo="b.txt", repo_id=repo, parent_commit=parent
        )
    assert e.value.response.status_code == 412
