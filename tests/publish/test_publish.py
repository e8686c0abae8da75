"""The maintainer's publish path against the local Hub, with the real dvc CLI and hf:// remote."""

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from helpers.project import BIN, REPO, Project, checkpoint_bytes, run

pytestmark = pytest.mark.slow

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
    project.dvc("remote", "remove", "local")
    project.dvc("remote", "add", "-d", "hf", f"hf://{REPO_ID}")
    project.dvc("remote", "modify", "hf", "endpoint", hub.url)
    project.dvc("remote", "modify", "hf", "create_repo", "true")
    project.dvc("remote", "modify", "--local", "hf", "token", RW)
    run(["git", "add", "-A"], cwd=root, env=env)
    run(["git", "commit", "-q", "-m", "hf remote"], cwd=root, env=env)
    return project


def lfs_bytes_uploaded(hub):
    return sum(r["bytes_in"] for r in hub.requests(kind="lfs-upload"))


def test_publish_pushes_mirrors_and_says_what_to_commit(maintainer, hub, tmp_path):
    out = maintainer.ckpt("publish", check=True)
    assert "Pushed to: hf" in out.stdout
    assert "git add ckpts.dvc" in out.stdout
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


def test_republishing_uploads_nothing(maintainer, hub):
    maintainer.ckpt("publish", check=True)
    commits, uploaded = hub.commits(REPO_ID), lfs_bytes_uploaded(hub)
    again = maintainer.ckpt("publish", check=True)
    assert hub.commits(REPO_ID) == commits
    assert lfs_bytes_uploaded(hub) == uploaded
    assert hub.count(kind="lfs-upload") == len(set(maintainer.paths().values()))
    assert "git add ckpts.dvc" in again.stdout  # still uncommitted: the maintainer's call


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
        ("hf_not_a_known_token", "was refused"),
        (None, "No Hugging Face token"),
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


def test_registry_and_files_must_agree(maintainer, hub):
    (maintainer.root / "ckpts/mp_20/vae/extra.ckpt").write_bytes(b"unregistered")
    (maintainer.root / VAE).unlink()
    out = maintainer.ckpt("publish")
    assert out.returncode == 2
    assert "ckpts/mp_20/vae/extra.ckpt: no entry in dvc.yaml" in out.stderr
    assert f"{VAE}: in dvc.yaml (mp_20_vae) but no file" in out.stderr
    assert not (maintainer.root / "ckpts.dvc").exists()
    assert hub.count(kind="commit") == 0
    # nothing good deleted
    assert (maintainer.root / "ckpts/mp_20/vae/extra.ckpt").read_bytes() == b"unregistered"


def test_upload_script_is_a_thin_wrapper(maintainer, hub):
    script = REPO / "scripts" / "upload_checkpoints.sh"
    env = maintainer.env | {"PATH": f"{BIN}:{os.environ['PATH']}"}  # an activated environment
    out = run(["bash", str(script), "--no-mirror"], cwd=maintainer.root, env=env)
    assert "Pushed to: hf" in out.stdout and "Mirrored" not in out.stdout
    assert 1 <= hub.commits(REPO_ID) <= 2

    bare = maintainer.env | {"PATH": "/usr/bin:/bin"}
    missing = run(["bash", str(script)], cwd=maintainer.root, env=bare, check=False)
    assert missing.returncode == 2 and "ckpt command is not installed" in missing.stderr
