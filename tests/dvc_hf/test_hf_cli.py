"""hf:// through the plain `dvc` command in a temp git repo, against the local Hub."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.dvc_cli import DvcCli, new_repo
from helpers.hub import LocalHub
from huggingface_hub import HfApi


def hub_requests(hub: LocalHub, repo_id: str, since: int = 0, **match) -> list[dict]:
    """Logged requests about one repo (the log is per hub, repos share it)."""
    return [
        r
        for r in hub.requests()[since:]
        if f"/{repo_id}" in r["path"] and all(r.get(k) == v for k, v in match.items())
    ]


def use_remote(cli: DvcCli, hub: LocalHub, repo_id: str, *options: tuple[str, str]) -> None:
    cli.ok("remote", "add", "-d", "hf", f"hf://datasets/{repo_id}")
    cli.ok("remote", "modify", "hf", "endpoint", hub.url)
    for name, value in options:
        cli.ok("remote", "modify", "hf", name, value)


def remote_files(hub: LocalHub, repo_id: str, revision: str = "main") -> set[str]:
    api = HfApi(endpoint=hub.url)
    return set(api.list_repo_files(repo_id, repo_type="dataset", revision=revision))


def tree_md5s(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --- registration ---------------------------------------------------------------------------


def test_plain_dvc_accepts_hf_remote_and_its_options(dvc_cli: DvcCli):
    cli = dvc_cli
    cli.ok("remote", "add", "-d", "hf", "hf://datasets/acme/ckpts/prefix")
    cli.ok("remote", "modify", "hf", "endpoint", "http://127.0.0.1:9")
    cli.ok("remote", "modify", "--local", "hf", "token", "hf_made_up")
    # The other options as `dvc remote modify` writes them (one dvc process each would cost
    # seconds): every dvc command below loads the config through DVC's schema, which refuses
    # keys it does not know ("extra keys not allowed", as checked next).
    with open(cli.root / ".dvc" / "config", "a") as config:
        config.write(
            "    revision = main\n    max_commit_files = 500\n    commit_message = publish\n"
            "    create_repo = true\n    private = true\n"
        )
    assert "hf://datasets/acme/ckpts/prefix" in cli.ok("remote", "list").stdout
    assert "token" not in (cli.root / ".dvc" / "config").read_text()

    bad = cli.run("remote", "modify", "hf", "no_such_option", "1")
    assert bad.returncode != 0
    assert "extra keys not allowed" in bad.stderr

    assert "hf (huggingface_hub = " in cli.ok("doctor").stdout
    # `python -m dvc` and dvc.api see the scheme too, with no extra step.
    module = subprocess.run(
        [sys.executable, "-m", "dvc", "remote", "list"],
        cwd=cli.root, env=cli.env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "hf://datasets/acme/ckpts/prefix" in module.stdout
    (cli.root / "foo").write_text("foo")
    cli.ok("add", "foo")
    api = subprocess.run(
        [sys.executable, "-c", "import dvc.api; print(dvc.api.get_url('foo'))"],
        cwd=cli.root, env=cli.env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    expected = "hf://datasets/acme/ckpts/prefix/files/md5/ac/bd18db4cc2f85cedef654fccc4a4d8"
    assert api.stdout.strip() == expected


@pytest.mark.slow
def test_bad_urls_and_options_say_what_to_do(dvc_cli: DvcCli, shared_hub: LocalHub):
    cli = dvc_cli
    (cli.root / "foo").write_text("foo")
    cli.ok("add", "foo")
    for url, message in [
        ("hf://buckets/acme/b", "S3 gateway"),
        ("hf://datasets/acme", "does not name a Hub repository"),
        ("hf://datasets/acme/repo@dev", "revision <branch>"),
    ]:
        cli.ok("remote", "add", "-f", "-d", "hf", url)
        cli.ok("remote", "modify", "hf", "endpoint", shared_hub.url)
        result = cli.run("push")
        assert result.returncode != 0
        assert message in result.stderr, result.stderr
    cli.ok("remote", "add", "-f", "-d", "hf", "hf://datasets/acme/repo")
    cli.ok("remote", "modify", "hf", "version_aware", "true")
    assert "do not support 'version_aware'" in cli.run("push").stderr


def test_start_up_hook_imports_nothing_heavy():
    code = (
        "import sys; print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('dvc', 'dvc_objects', 'dvc_data', 'huggingface_hub', 'dvc_hf')));"
        "import dvc.config_schema as cs, dvc_objects.fs as fs;"
        "import dvc_data.hashfile.gc as gc, dvc_data.hashfile.transfer as tr;"
        "cs.SCHEMA['remote'][str]({'url': 'hf://datasets/a/b', 'max_commit_files': '2'});"
        "print('hf' in fs.known_implementations, 'hf' in getattr(cs, 'REMOTE_SCHEMAS', {'hf': 0}));"
        "print(gc.gc.__dvc_hf__, tr._do_transfer.__dvc_hf__);"
        "print(any(type(f).__module__ == 'dvc_hf._hook' for f in sys.meta_path));"
        "print('huggingface_hub' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == [
        "['dvc_hf', 'dvc_hf._hook']",
        "True True",
        "True True",
        "False",
        "False",
    ]


def test_unsupported_versions_are_refused_naming_the_ranges(dvc_cli: DvcCli):
    # A dvc-data 2.x beside this dvc: the hook registers nothing and says why, once; dvc itself
    # keeps working, and an hf:// remote then fails as an unknown URL type.
    code = (
        "import importlib.metadata as m; real = m.version;"
        "m.version = lambda n: '2.24.0' if n == 'dvc-data' else real(n);"
        "import dvc.config_schema as cs, dvc_objects.fs as fs;"
        "import dvc_data.hashfile.transfer as tr;"
        "print('hf' in fs.known_implementations, hasattr(tr._do_transfer, '__dvc_hf__'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
    [line] = out.stderr.splitlines()
    assert "dvc-data 2.24.0 is installed, dvc-hf supports dvc-data>=3.15,<4" in line
    assert "dvc>=3.50,<4" in line
    assert "huggingface_hub>=1.16,<3" in line


def test_register_refuses_a_wrapped_function_of_another_shape(monkeypatch):
    import dvc_data.hashfile.transfer as transfer

    from dvc_hf import registry
    from dvc_hf.errors import HfUnsupportedVersionError

    def _do_transfer(src, dest, obj_ids, **kwargs):  # no missing_ids
        raise AssertionError("never called")

    monkeypatch.setattr(transfer, "_do_transfer", _do_transfer)
    with pytest.raises(HfUnsupportedVersionError, match=r"takes \(src, dest, obj_ids, kwargs\)"):
        registry.register()
    assert transfer._do_transfer is _do_transfer  # not wrapped


def test_register_refuses_an_unsupported_huggingface_hub(monkeypatch):
    import importlib.metadata

    from dvc_hf import registry
    from dvc_hf.errors import HfUnsupportedVersionError

    real = importlib.metadata.version
    monkeypatch.setattr(
        importlib.metadata,
        "version",
        lambda name: "0.36.0" if name == "huggingface_hub" else real(name),
    )
    with pytest.raises(HfUnsupportedVersionError, match="huggingface_hub 0.36.0 is installed"):
        registry.register()


# --- push / status / pull / gc --------------------------------------------------------------


def test_push_in_chunks_then_status_pull_gc(dvc_cli: DvcCli, local_hub: LocalHub):
    # 5 files + 1 .dir with max_commit_files=2: three commits, the .dir in the last one (chunk
    # sizes at the defaults are checked in test_commit_and_retry_logic.py).
    cli, hub = dvc_cli, local_hub
    repo_id = new_repo(hub)
    use_remote(cli, hub, repo_id, ("max_commit_files", "2"))
    data = cli.root / "data"
    data.mkdir()
    for i in range(4):
        (data / f"{i:04d}.txt").write_text(f"sample {i}\n")
    (data / "a.ckpt").write_bytes(os.urandom(64 * 1024))  # binary: LFS on the Hub
    cli.ok("add", "data")
    expected = tree_md5s(data)

    cli.ok("push")
    logged = hub_requests(hub, repo_id)
    assert not [r for r in logged if r["status"] == 429]
    commits = HfApi(endpoint=hub.url).list_repo_commits(repo_id, repo_type="dataset")
    pushes = [c for c in commits if c.title.startswith("dvc push")]
    assert len(pushes) == 3
    assert all(f"(part {i}/3)" in c.title for i, c in enumerate(reversed(pushes), 1))
    dir_obj = next(p for p in remote_files(hub, repo_id) if p.endswith(".dir"))
    # pushes are newest first: the .dir is only in the last commit
    assert dir_obj not in remote_files(hub, repo_id, revision=pushes[1].commit_id)
    assert len(remote_files(hub, repo_id)) == 6 + 1  # objects + .gitattributes
    # existence in one paths-info batch (plus DVC's two reads of the .dir before it is pushed;
    # indexing it after the push reads the local copy), never one request per object or folder
    assert sum(r["kind"] == "paths-info" for r in logged) <= 1 + 2
    assert sum(r["kind"] == "tree" for r in logged) <= 2

    since = len(hub.requests())
    assert "in sync" in cli.ok("status", "-c").stdout
    assert len(hub.requests()[since:]) <= 4

    shutil.rmtree(cli.root / ".dvc" / "cache")
    shutil.rmtree(data)
    cli.ok("pull")
    assert tree_md5s(data) == expected

    for i in range(2):
        (data / f"{i:04d}.txt").unlink()
    cli.ok("add", "data")
    cli.ok("push")
    before = remote_files(hub, repo_id)
    since = len(hub.requests())
    cli.ok("gc", "-c", "-w", "-f")
    assert len(hub_requests(hub, repo_id, since, kind="commit", status=200)) == 1
    removed = before - remote_files(hub, repo_id)
    assert len(removed) == 3  # the 2 files and the old .dir
    assert dir_obj in removed


# --- failures --------------------------------------------------------------------------------


def _files_with_poison_in_second_chunk(data: Path, chunk: int) -> str:
    """Text files plus one binary file (LFS on the Hub) whose object sorts after the first chunk;
    returns the binary file's sha256."""
    texts = [f"text {i}\n".encode() for i in range(2 * chunk)]
    first_chunk_end = sorted(hashlib.md5(t).hexdigest() for t in texts)[chunk - 1]
    n = 0
    while hashlib.md5(poison := b"\0poison %d" % n).hexdigest() <= first_chunk_end:
        n += 1
    for i, text in enumerate(texts):
        (data / f"t{i}.txt").write_bytes(text)
    (data / "model.bin").write_bytes(poison)
    return hashlib.sha256(poison).hexdigest()


def test_interrupted_push_leaves_no_dir_and_next_push_completes(
    dvc_cli: DvcCli, local_hub: LocalHub
):
    cli, hub = dvc_cli, local_hub
    repo_id = new_repo(hub)
    use_remote(cli, hub, repo_id, ("max_commit_files", "5"))
    data = cli.root / "data"
    data.mkdir()
    poison = _files_with_poison_in_second_chunk(data, 5)
    cli.ok("add", "data")

    hub.inject("lfs-upload", path=poison, status=400)
    failed = cli.run("push")
    assert failed.returncode != 0
    assert "failed to upload" in failed.stderr or "failed to push" in failed.stderr
    assert hub.commits(repo_id, "dataset") == 1  # the first chunk landed, then the fault
    after_fault = remote_files(hub, repo_id)
    assert after_fault and not [p for p in after_fault if p.endswith(".dir")]

    hub.clear_faults()
    cli.ok("push")
    assert "in sync" in cli.ok("status", "-c").stdout
    assert [p for p in remote_files(hub, repo_id) if p.endswith(".dir")]
    # nothing the first push committed was uploaded again
    assert len(remote_files(hub, repo_id)) == 10 + 1 + 1 + 1


@pytest.mark.slow
def test_rate_limited_commit_waits_for_retry_after(dvc_cli: DvcCli, local_hub: LocalHub):
    cli, hub = dvc_cli, local_hub
    repo_id = new_repo(hub)
    use_remote(cli, hub, repo_id)
    (cli.root / "foo").write_text("foo")
    cli.ok("add", "foo")
    hub.inject("commit", status=429, retry_after=1, times=1)
    result = cli.ok("push")
    assert "Retry-After" in result.stderr
    statuses = [r["status"] for r in hub_requests(hub, repo_id, kind="commit")]
    assert statuses == [429, 200]


@pytest.mark.slow
def test_missing_repo_error_then_create_repo_private(dvc_cli: DvcCli, local_hub: LocalHub):
    cli, hub = dvc_cli, local_hub
    use_remote(cli, hub, "acme/new-store", ("commit_message", "publish checkpoints"))
    (cli.root / "foo").write_text("foo")
    cli.ok("add", "foo")
    result = cli.run("push")
    assert result.returncode != 0
    assert "was not found" in result.stderr and "create_repo true" in result.stderr

    cli.ok("remote", "modify", "hf", "create_repo", "true")
    cli.ok("remote", "modify", "hf", "private", "true")
    cli.ok("push")
    api = HfApi(endpoint=hub.url)
    assert api.repo_info("acme/new-store", repo_type="dataset").private
    [commit, *_] = api.list_repo_commits("acme/new-store", repo_type="dataset")
    assert commit.title.startswith("publish checkpoints: 1 object(s)")


@pytest.mark.slow
def test_branch_and_token_options(dvc_cli: DvcCli, hub_factory):
    cli = dvc_cli
    hub = hub_factory(tokens={"hf_writer": "rw"})
    api = HfApi(endpoint=hub.url, token="hf_writer")
    api.create_repo("acme/store", repo_type="dataset")
    use_remote(cli, hub, "acme/store", ("revision", "exp/run-1"), ("create_repo", "true"))
    (cli.root / "foo").write_text("foo")
    cli.ok("add", "foo")
    denied = cli.run("push")
    assert denied.returncode != 0

    cli.ok("remote", "modify", "--local", "hf", "token", "hf_writer")
    cli.ok("push")
    branch_files = set(api.list_repo_files("acme/store", repo_type="dataset", revision="exp/run-1"))
    assert "files/md5/ac/bd18db4cc2f85cedef654fccc4a4d8" in branch_files
    main_files = set(api.list_repo_files("acme/store", repo_type="dataset"))
    assert "files/md5/ac/bd18db4cc2f85cedef654fccc4a4d8" not in main_files

    shutil.rmtree(cli.root / ".dvc" / "cache")
    (cli.root / "foo").unlink()
    cli.ok("pull")
    assert (cli.root / "foo").read_text() == "foo"
