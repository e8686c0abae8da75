"""The real hf_hub_download, snapshot_download and HfFileSystem reading from the local Hub."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers.hub import LocalHub, hub_client_env
from huggingface_hub import HfApi, HfFileSystem, hf_hub_download, snapshot_download

MiB = 1024 * 1024


@pytest.fixture
def filled(api: HfApi, repo: str, tmp_path: Path) -> dict[str, bytes]:
    """A repo with a regular file, an LFS file, a v1 tag and an 'exp' branch."""
    contents = {"small.txt": b"small file\n", "weights/big.bin": os.urandom(3 * MiB + 17)}
    for path, data in contents.items():
        api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=repo)
    api.create_tag(repo, tag="v1")
    api.create_branch(repo, branch="exp")
    api.upload_file(path_or_fileobj=b"changed\n", path_in_repo="small.txt", repo_id=repo)
    return contents


def test_hf_hub_download_first_cached_forced(
    filled: dict[str, bytes], repo: str, local_hub: LocalHub, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"

    def get(**kw: object) -> bytes:
        path = hf_hub_download(
            repo, "weights/big.bin", endpoint=local_hub.url, cache_dir=cache, **kw
        )
        return Path(path).read_bytes()

    assert get() == filled["weights/big.bin"]
    assert local_hub.count(kind="resolve", method="GET") == 1
    assert get() == filled["weights/big.bin"]  # cached: a HEAD only
    assert local_hub.count(kind="resolve", method="GET") == 1
    assert local_hub.count(kind="resolve", method="HEAD") == 2
    assert get(force_download=True) == filled["weights/big.bin"]
    assert local_hub.count(kind="resolve", method="GET") == 2
    # The LFS blob is cached under its sha256, as with the real Hub.
    blobs = {p.name for p in (cache / "models--me--repo" / "blobs").iterdir()}
    assert __import__("hashlib").sha256(filled["weights/big.bin"]).hexdigest() in blobs


def test_hf_hub_download_by_branch_tag_and_sha(
    api: HfApi, filled: dict[str, bytes], repo: str, local_hub: LocalHub, tmp_path: Path
) -> None:
    def get(revision: str | None) -> bytes:
        path = hf_hub_download(
            repo, "small.txt", revision=revision, endpoint=local_hub.url, cache_dir=tmp_path / "c"
        )
        return Path(path).read_bytes()

    tag_sha = api.repo_info(repo, revision="v1").sha
    assert get(None) == b"changed\n"
    assert get("exp") == b"small file\n"
    assert get("v1") == b"small file\n"
    before = local_hub.count()
    assert get(tag_sha) == b"small file\n"
    assert local_hub.count() == before  # a cached commit sha needs no request at all


def test_abbreviated_commit_sha_resolves_when_unique(
    api: HfApi, filled: dict[str, bytes], repo: str, local_hub: LocalHub, tmp_path: Path
) -> None:
    from huggingface_hub.errors import RevisionNotFoundError

    tag_sha = api.repo_info(repo, revision="v1").sha
    short = tag_sha[:10]  # e.g. revision="4462b34338", as users copy it from the Hub's pages
    assert api.repo_info(repo, revision=short).sha == tag_sha
    path = hf_hub_download(
        repo, "small.txt", revision=short, endpoint=local_hub.url, cache_dir=tmp_path / "c"
    )
    assert Path(path).read_bytes() == b"small file\n"
    assert Path(path).parent.name == tag_sha  # cached under the full sha the Hub answered

    unknown = "".join("0123456789abcdef"[(int(c, 16) + 1) % 16] for c in short)
    # A second commit file sharing the first 6 digits makes that prefix ambiguous, as git has it.
    commits = local_hub.data_dir / "repos" / "models" / repo / "commits"
    twin = tag_sha[:6] + ("0" if tag_sha[6] != "0" else "1") + tag_sha[7:]
    (commits / f"{twin}.json").write_bytes((commits / f"{tag_sha}.json").read_bytes())
    for revision in (unknown, tag_sha[:6], tag_sha[:3]):
        with pytest.raises(RevisionNotFoundError, match=f"Invalid rev id: {revision}"):
            api.repo_info(repo, revision=revision)
    assert api.repo_info(repo, revision=tag_sha[:7]).sha == tag_sha  # one more digit: unique


def test_snapshot_download(
    filled: dict[str, bytes], repo: str, local_hub: LocalHub, tmp_path: Path
) -> None:
    folder = Path(snapshot_download(repo, endpoint=local_hub.url, cache_dir=tmp_path / "c"))
    got = {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }
    assert got["weights/big.bin"] == filled["weights/big.bin"]
    assert got["small.txt"] == b"changed\n"
    old = Path(
        snapshot_download(repo, revision="v1", endpoint=local_hub.url, cache_dir=tmp_path / "c")
    )
    assert (old / "small.txt").read_bytes() == b"small file\n"


def test_hf_file_system(
    filled: dict[str, bytes], repo: str, local_hub: LocalHub, tmp_path: Path
) -> None:
    fs = HfFileSystem(endpoint=local_hub.url, token=False, skip_instance_cache=True)
    assert set(fs.ls(repo, detail=False)) == {
        f"{repo}/.gitattributes",
        f"{repo}/small.txt",
        f"{repo}/weights",
    }
    info = fs.info(f"{repo}/weights/big.bin")
    assert info["size"] == len(filled["weights/big.bin"]) and info["type"] == "file"
    assert fs.info(f"{repo}/weights")["type"] == "directory"
    assert fs.exists(f"{repo}/small.txt") and not fs.exists(f"{repo}/nope.txt")
    assert fs.exists(f"{repo}@exp/small.txt")

    big = filled["weights/big.bin"]
    with fs.open(f"{repo}/weights/big.bin", "rb", block_size=64 * 1024) as f:
        f.seek(MiB + 5)
        assert f.read(100_000) == big[MiB + 5 : MiB + 100_005]
        f.seek(len(big) - 10)
        assert f.read() == big[-10:]
    ranged = [r for r in local_hub.requests(kind="resolve", method="GET") if r["status"] == 206]
    assert ranged and all(r["bytes"] < len(big) for r in ranged)

    fs.get_file(f"{repo}/weights/big.bin", str(tmp_path / "got.bin"))
    assert (tmp_path / "got.bin").read_bytes() == big

    (tmp_path / "put.txt").write_bytes(b"put through fsspec")
    fs.put_file(str(tmp_path / "put.txt"), f"{repo}/uploaded/put.txt")
    assert fs.cat_file(f"{repo}/uploaded/put.txt") == b"put through fsspec"
    fs.rm(f"{repo}/uploaded/put.txt")
    assert not fs.exists(f"{repo}/uploaded/put.txt")


def test_subprocess_client_with_hf_endpoint_env(local_hub: LocalHub, tmp_path: Path) -> None:
    """HF_ENDPOINT is read at import: a fresh interpreter configured only through the env."""
    script = textwrap.dedent(
        """
        import os, sys
        from huggingface_hub import HfApi, hf_hub_download
        api = HfApi()
        api.create_repo("sub/proc", repo_type="dataset")
        api.upload_file(path_or_fileobj=b"x" * (11 << 20), path_in_repo="x.bin",
                        repo_id="sub/proc", repo_type="dataset")
        p = hf_hub_download("sub/proc", "x.bin", repo_type="dataset")
        assert open(p, "rb").read() == b"x" * (11 << 20)
        print(os.environ["HF_ENDPOINT"])
        """
    )
    env = hub_client_env(local_hub, tmp_path / "hf-home")
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == local_hub.url
    assert local_hub.count(kind="lfs-upload", status=200) == 1
    assert local_hub.commits("sub/proc", "dataset") == 1
