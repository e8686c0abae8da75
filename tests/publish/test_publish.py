"""The maintainer's publish path against the local Hub, with the real dvc CLI and hf:// remote."""

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from helpers.project import BIN, REPO, Project, checkpoint_bytes, run, use_hf_remote

# The default suite (`make test`) publishes once, refuses once; the slow tier has the rest.
slow = pytest.mark.slow

RW, RO = "hf_test_rw_token_publish", "hf_test_ro_token_publish"
REPO_ID = "chemeleon2/checkpoints"
VAE = "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt"


@pytest.fixture
def hub(hub_factory):
    return hub_factory(tokens={RW: "rw", RO: "ro"})


@pytest.fixture
def maintainer(tmp_path, hub, _project_template):
    """A checkout with every checkpoint file in ckpts/, never published, remote 'hf' on the hub."""
    root = tmp_path / "maintainer"
    shutil.copytree(_project_template.root, root, symlinks=True)
    shutil.rmtree(root / ".dvc" / "cache")
    (root / "ckpts.dvc").unlink()
    env = {k: v for k, v in _project_template.env.items() if not k.startswith("HF_TOKEN")}
    project = Project(root, tmp_path / "unused", env | {"HF_HUB_DISABLE_XET": "1"})
    # Replaces the template's remote 'local' (what `dvc remote remove local` would do).
    use_hf_remote(project, f"hf://{REPO_ID}", hub.url, RW, create_repo="true")
    return project


def lfs_bytes_uploaded(hub):
    return sum(r["bytes_in"] for r in hub.requests(kind="lfs-upload"))


def test_publish_pushes_mirrors_and_says_what_to_commit(maintainer, hub, tmp_path):
    out = maintainer.ckpt("publish", check=True)
    assert "Pushed to: hf" in out.stdout
    assert "ckpts.dvc" in out.stdout.split("git add")[1].splitlines()[0]
    assert hub.commits(REPO_ID) <= 3  # the DVC push (<= 2) and the mirror (1)

    # Each distinct file crossed the wire once, although it is stored twice in the repo.
    unique = {p: checkpoint_bytes(p) for p in set(maintainer.paths().values())}
    assert lfs_bytes_uploaded(hub) == sum(len(b) for b in unique.values())

    # People without DVC get a checkpoint by its readable name.
    from huggingface_hub import hf_hub_download

    path = hf_hub_download(
        REPO_ID, "mp_20/vae/dng_m4owq4i5_v0.ckpt", endpoint=hub.url, token=RW,
        cache_dir=tmp_path / "hf-cache",
    )  # fmt: skip
    with open(path, "rb") as f:
        assert hashlib.md5(f.read()).hexdigest() == hashlib.md5(unique[VAE]).hexdigest()

    card_path = hf_hub_download(
        REPO_ID, "README.md", endpoint=hub.url, token=RW, cache_dir=tmp_path / "c"
    )
    card = Path(card_path).read_text()
    for name, relpath in maintainer.paths().items():
        data = checkpoint_bytes(relpath)
        assert f"| {name} |" in card
        assert hashlib.md5(data).hexdigest() in card and hashlib.sha256(data).hexdigest() in card


@slow
def test_republishing_uploads_nothing(maintainer, hub):
    maintainer.ckpt("publish", check=True)
    commits, uploaded = hub.commits(REPO_ID), lfs_bytes_uploaded(hub)
    again = maintainer.ckpt("publish", check=True)
    assert hub.commits(REPO_ID) == commits
    assert lfs_bytes_uploaded(hub) == uploaded
    assert hub.count(kind="lfs-upload") == len(set(maintainer.paths().values()))
    assert (
        "ckpts.dvc" in again.stdout.split("git add")[1].splitlines()[0]
    )  # still uncommitted: the maintainer's call


@slow
def test_a_clone_gets_checkpoints_through_the_hf_remote(maintainer, hub, tmp_path):
    maintainer.ckpt("publish", check=True)
    run(["git", "add", "ckpts.dvc", "dvc.yaml"], cwd=maintainer.root, env=maintainer.env)
    run(["git", "commit", "-q", "-m", "publish"], cwd=maintainer.root, env=maintainer.env)
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(maintainer.root), str(clone)], cwd=tmp_path)
    env = maintainer.env | {"HF_TOKEN": RW}
    code = (
        "import json; from ckpt import get_checkpoint;"
        "print(json.dumps({n: str(get_checkpoint(n)) for n in ('mp_20_vae', 'alex_mp_20_ldm')}))"
    )
    before = len(hub.requests(kind="resolve"))
    out = run([sys.executable, "-c", code], cwd=clone, env=env)
    paths = json.loads(out.stdout)
    with open(paths["mp_20_vae"], "rb") as f:
        assert f.read() == checkpoint_bytes(VAE)
    # Just the two files crossed (the alias shares one; the .dir manifest aside), not the set.
    fetched = {r["path"] for r in hub.requests(kind="resolve")[before:]}
    assert len({p for p in fetched if not p.endswith(".dir")}) == 2


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (RO, "is read-only"),
        pytest.param("hf_not_a_known_token", "was refused", marks=slow),
        pytest.param(None, "No Hugging Face token", marks=slow),
    ],
)
def test_credentials_are_checked_before_any_work(maintainer, hub, token, message):
    if token is None:
        maintainer.dvc("remote", "modify", "--local", "hf", "--unset", "token")
    else:
        maintainer.dvc("remote", "modify", "--local", "hf", "token", token)
    out = maintainer.ckpt("publish")
    assert out.returncode == 1
    assert message in out.stderr
    assert not (maintainer.root / "ckpts.dvc").exists()  # dvc add never ran
    assert hub.count(kind="commit") == 0 and hub.count(kind="lfs-upload") == 0


@slow
def test_a_registered_file_must_be_there(maintainer, hub):
    (maintainer.root / "ckpts/mp_20/vae/extra.ckpt").write_bytes(b"unregistered")
    (maintainer.root / VAE).unlink()
    out = maintainer.ckpt("publish")
    assert out.returncode == 2
    assert f"{VAE}: in dvc.yaml (mp_20_vae) but no file" in out.stderr
    assert "extra.ckpt" not in out.stderr  # an unregistered file is no reason to refuse
    assert not (maintainer.root / "ckpts.dvc").exists()
    assert hub.count(kind="commit") == 0
    # nothing good deleted
    assert (maintainer.root / "ckpts/mp_20/vae/extra.ckpt").read_bytes() == b"unregistered"


@slow
def test_an_authors_readme_is_kept_and_the_card_goes_in_its_own_section(maintainer, hub, tmp_path):
    from huggingface_hub import HfApi

    api = HfApi(endpoint=hub.url, token=RW)
    api.create_repo(REPO_ID)
    theirs = "# Our checkpoints\n\nWritten by hand.\n"
    api.upload_file(path_or_fileobj=theirs.encode(), path_in_repo="README.md", repo_id=REPO_ID)
    maintainer.ckpt("publish", check=True)
    readme = Path(api.hf_hub_download(REPO_ID, "README.md", cache_dir=tmp_path / "a")).read_text()
    assert readme.startswith(theirs)
    assert readme.count("<!-- ckpt:begin") == 1 and "| mp_20_vae |" in readme

    # The authors edit around the section; a new publish replaces only what is inside it.
    edited = "Intro line.\n\n" + readme + "\n## Citation\n\nPlease cite us.\n"
    api.upload_file(path_or_fileobj=edited.encode(), path_in_repo="README.md", repo_id=REPO_ID)
    (maintainer.root / VAE).write_bytes(checkpoint_bytes(VAE)[::-1])
    maintainer.ckpt("publish", check=True)
    after = Path(api.hf_hub_download(REPO_ID, "README.md", cache_dir=tmp_path / "b")).read_text()
    assert after.startswith("Intro line.\n\n" + theirs)
    assert after.endswith("## Citation\n\nPlease cite us.\n")
    assert after.count("<!-- ckpt:begin") == 1
    assert hashlib.sha256(checkpoint_bytes(VAE)[::-1]).hexdigest() in after
    assert hashlib.sha256(checkpoint_bytes(VAE)).hexdigest() not in after


@slow
def test_mirror_prefix_puts_the_readable_copies_in_a_folder(maintainer, hub, tmp_path):
    from huggingface_hub import HfApi

    out = maintainer.ckpt("publish", "--mirror-prefix", "v0.0.2", check=True)
    assert "readable copies under v0.0.2" in out.stdout
    files = set(HfApi(endpoint=hub.url, token=RW).list_repo_files(REPO_ID))
    assert {f.split("/")[0] for f in files} == {".gitattributes", "v0.0.2", "files", "README.md"}
    unique = {p: checkpoint_bytes(p) for p in set(maintainer.paths().values())}
    assert lfs_bytes_uploaded(hub) == sum(len(b) for b in unique.values())


@pytest.mark.parametrize(
    ("prefix", "message"),
    [("../x", "no '..'"), pytest.param("files/md5", "DVC's object store", marks=slow)],
)
def test_bad_mirror_prefixes_are_refused_before_any_work(maintainer, hub, prefix, message):
    out = maintainer.ckpt("publish", "--mirror-prefix", prefix)
    assert out.returncode == 1 and message in out.stderr
    assert not (maintainer.root / "ckpts.dvc").exists()
    assert hub.count(kind="commit") == 0


@slow
def test_upload_script_is_a_thin_wrapper(maintainer, hub):
    script = REPO / "scripts" / "upload_checkpoints.sh"
    env = maintainer.env | {"PATH": f"{BIN}:{os.environ['PATH']}"}  # an activated environment
    out = run(["bash", str(script), "--no-mirror"], cwd=maintainer.root, env=env)
    assert "Pushed to: hf" in out.stdout and "Mirrored" not in out.stdout
    assert 1 <= hub.commits(REPO_ID) <= 2

    bare = maintainer.env | {"PATH": "/usr/bin:/bin"}
    missing = run(["bash", str(script)], cwd=maintainer.root, env=bare, check=False)
    assert missing.returncode == 2 and "ckpt command is not installed" in missing.stderr
