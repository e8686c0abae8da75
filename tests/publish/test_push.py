"""`ckpt push` against the local Hub: what it leaves is what `dvc push` leaves, without DVC."""

import hashlib
import shutil

import pytest
from helpers.project import DVC, Project, run, use_hf_remote

from dvc_hf.remote import typed_options

slow = pytest.mark.slow

RW = "hf_test_rw_token_push"
REPO_ID = "chemeleon2/pushed"


@pytest.fixture
def hub(hub_factory):
    return hub_factory(tokens={RW: "rw"})


@pytest.fixture
def maintainer(tmp_path, hub, _project_template):
    """A checkout whose DVC cache holds every object, remote 'hf' (default) on an empty hub."""
    base = tmp_path / "m"
    shutil.copytree(_project_template.root.parent, base, symlinks=True)
    project = Project(base / "work", base / "remote", dict(_project_template.env))
    use_hf_remote(project, f"hf://datasets/{REPO_ID}", hub.url, RW, create_repo="true")
    return project


def objects_on_hub(hub) -> set[str]:
    from huggingface_hub import HfApi

    files = HfApi(endpoint=hub.url, token=RW).list_repo_files(REPO_ID, repo_type="dataset")
    return {f for f in files if f.startswith("files/md5/")}


def pinned_objects(project: Project) -> set[str]:
    from ckpt import dvcfiles

    dir_md5 = dvcfiles.tracked_dir_md5(project.root)
    manifest = dvcfiles.load_manifest(project.root, dir_md5)
    assert dir_md5.endswith(".dir")
    md5s = {*manifest.values(), dir_md5}
    return {f"files/md5/{m[:2]}/{m[2:]}" for m in md5s}


def test_push_leaves_the_hub_as_dvc_push_would_without_starting_dvc(maintainer, hub, tmp_path):
    # In-process, so that what it imported can be checked: the hf:// push never loads DVC.
    out = maintainer.python(
        "import sys; from ckpt.cli import main; rc = main(['push']); "
        "print('dvc loaded:', sorted(m for m in sys.modules if m.split('.')[0] in "
        "('dvc', 'dvc_objects', 'dvc_data', 'fsspec')))\nsys.exit(rc)",
        check=True,
    )
    assert "Pushed" in out.stdout and "to 'hf'" in out.stdout
    assert "dvc loaded: []" in out.stdout
    assert objects_on_hub(hub) == pinned_objects(maintainer)
    assert hub.commits(REPO_ID, "dataset") == 1

    # DVC reads it as its own push: in sync, and its push has nothing to add.
    assert "in sync" in maintainer.dvc("status", "-c").stdout
    maintainer.dvc("push")
    assert hub.commits(REPO_ID, "dataset") == 1
    again = maintainer.ckpt("push", check=True)
    assert "Everything is up to date" in again.stdout
    assert hub.commits(REPO_ID, "dataset") == 1

    # A fresh clone gets every checkpoint back through DVC.
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(maintainer.root), str(clone)], cwd=tmp_path)
    shutil.copy(maintainer.root / ".dvc" / "config.local", clone / ".dvc" / "config.local")
    run([DVC, "pull", "-q"], cwd=clone, env=maintainer.env)
    for relpath in set(maintainer.paths().values()):
        pulled = (clone / relpath).read_bytes()
        assert (
            hashlib.md5(pulled).digest()
            == hashlib.md5((maintainer.root / relpath).read_bytes()).digest()
        )


def test_an_object_missing_everywhere_stops_the_push_before_any_commit(maintainer, hub):
    from ckpt import dvcfiles

    dir_md5 = dvcfiles.tracked_dir_md5(maintainer.root)
    manifest = dvcfiles.load_manifest(maintainer.root, dir_md5)
    lost = sorted(manifest.values())[0]
    dvcfiles.object_path(maintainer.root / ".dvc" / "cache", lost).unlink()

    result = maintainer.ckpt("push")
    assert result.returncode == 1
    assert "neither in the local DVC cache nor on remote 'hf'" in result.stderr
    assert lost in result.stderr and "nothing was pushed" in result.stderr
    assert hub.commits(REPO_ID, "dataset") == 0


def test_a_refused_commit_is_reported_and_the_next_push_completes(maintainer, hub):
    maintainer.ckpt("push", check=True)  # creates the repo
    # Change one checkpoint: the next push has one new file and a new .dir.
    relpath = sorted(set(maintainer.paths().values()))[0]
    target = maintainer.root / relpath
    target.chmod(0o644)
    target.write_bytes(b"\0new bytes " * 1000)
    maintainer.dvc("add", "-q", "ckpts")
    commits = hub.commits(REPO_ID, "dataset")

    hub.inject("commit", status=403)
    failed = maintainer.ckpt("push")
    assert failed.returncode == 1
    assert "did not reach remote 'hf'" in failed.stderr and "403" in failed.stderr
    assert "run the push again" in failed.stderr
    assert hub.commits(REPO_ID, "dataset") == commits

    hub.clear_faults()
    done = maintainer.ckpt("push", check=True)
    assert "Pushed 2 object(s)" in done.stdout  # the changed file and the new .dir
    assert objects_on_hub(hub) >= pinned_objects(maintainer)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[core]\n    analytics = false\n", "No DVC remote is configured"),
        (
            "[core]\n    analytics = false\n['remote \"a\"']\n    url = hf://x/y\n",
            "No default DVC remote",
        ),
        (
            "[core]\n    remote = a\n['remote \"a\"']\n    url = hf://x/y\n    create_repo = maybe\n",
            "option 'create_repo' = 'maybe': expected true or false",
        ),
    ],
)
def test_bad_remote_configuration_is_refused_before_any_work(maintainer, hub, config, message):
    (maintainer.root / ".dvc" / "config").write_text(config)
    (maintainer.root / ".dvc" / "config.local").unlink()
    result = maintainer.ckpt("push")
    assert result.returncode in (1, 2)
    assert message in result.stderr
    assert not hub.requests()


@slow
def test_a_remote_other_than_the_hub_goes_through_dvc_push(maintainer):
    shutil.rmtree(maintainer.remote)
    maintainer.dvc("remote", "add", "-q", "local", "../remote")
    result = maintainer.ckpt("push", "-r", "local", check=True)
    assert "Pushed" not in result.stdout  # DVC reported it
    assert "in sync" in maintainer.dvc("status", "-c", "-r", "local").stdout


@pytest.mark.parametrize(
    "options",
    [
        {"create_repo": "true", "private": "False", "max_commit_files": "7", "jobs": "3"},
        {"create_repo": "yes"},
        {"max_commit_files": "0"},
        {"jobs": "many"},
        {"endpoint": "http://127.0.0.1:1", "revision": "v1", "commit_message": "m"},
        {"version_aware": "false", "worktree": "False", "verify": "TRUE"},
    ],
)
def test_options_are_typed_as_dvcs_config_schema_types_them(options):
    import dvc.config_schema
    from voluptuous import Invalid, Schema

    from dvc_hf.registry import remote_options

    schema = Schema(remote_options(dvc.config_schema))
    try:
        expected = schema({"url": "hf://datasets/a/b", **options})
    except Invalid:
        with pytest.raises(ValueError):
            typed_options(options)
        return
    typed = typed_options(options)
    assert {k: typed[k] for k in options} == {k: expected[k] for k in options}


@slow
def test_a_rate_limited_commit_is_waited_out_and_said(maintainer, hub):
    hub.inject("commit", status=429, retry_after=1, times=1)
    result = maintainer.ckpt("push", check=True)
    assert "Retry-After" in result.stderr  # dvc_hf's warning, shown through ckpt's log
    assert "Pushed" in result.stdout
    assert [r["status"] for r in hub.requests(kind="commit")] == [429, 200]


def test_create_repo_false_as_written_in_config_is_false(maintainer, hub):
    # Config files hold strings: "false" must not read as a truthy option. With create_repo on,
    # a missing repo would read as empty and the pull would blame missing objects instead.
    use_hf_remote(maintainer, "hf://datasets/acme/absent", hub.url, RW, create_repo="false")
    maintainer.delete_local()
    result = maintainer.ckpt("pull")
    assert result.returncode == 1
    assert "was not found" in result.stderr
