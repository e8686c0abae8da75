"""Registry validation: every malformed or unsafe dvc.yaml entry is a clear error naming it."""

import os
import shutil
from pathlib import Path

import pytest

from ckpt import CheckpointNotFound, RegistryError, get_checkpoint
from ckpt.registry import find_repo_root, load_registry

VALID = """\
artifacts:
  good:
    path: ckpts/good.ckpt
    type: model
"""


def write(root, text):
    (root / "dvc.yaml").write_text(text)
    (root / ".dvc").mkdir(exist_ok=True)
    return root


def test_repository_registry_has_every_required_name():
    registry = load_registry(find_repo_root())
    for name in (
        "mp_20_vae",
        "alex_mp_20_vae",
        "mp_20_ldm",
        "alex_mp_20_ldm",
        "mp_20_ldm_base",
        "alex_mp_20_ldm_base",
        "mp_20_ldm_rl",
        "alex_mp_20_ldm_rl",
    ):
        assert registry[name].path.startswith("ckpts/")
        assert registry[name].type == "model" and registry[name].desc
    assert registry["mp_20_ldm"].path == registry["mp_20_ldm_rl"].path


def test_parses_fields(tmp_path):
    write(tmp_path, VALID + "    desc: d\n    labels: [a, b]\n    meta: {k: 1}\n")
    art = load_registry(tmp_path)["good"]
    assert (art.path, art.desc, art.labels, art.meta) == (
        "ckpts/good.ckpt",
        "d",
        ("a", "b"),
        {"k": 1},
    )


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("artifacts: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "must be a YAML mapping"),
        ("artifacts: [a, b]\n", "'artifacts' must be a mapping"),
        (VALID + "  good:\n    path: ckpts/other.ckpt\n", "duplicate key 'good'"),
        ("artifacts:\n  -bad-:\n    path: ckpts/x\n", "artifact '-bad-': invalid name"),
        ("artifacts:\n  a b:\n    path: ckpts/x\n", "artifact 'a b': invalid name"),
        ("artifacts:\n  x:\n    desc: no path\n", "artifact 'x': 'path' is required"),
        ("artifacts:\n  x:\n    path: /etc/passwd\n", "artifact 'x': path '/etc/passwd'"),
        (
            "artifacts:\n  x:\n    path: ckpts/../../secret\n",
            "artifact 'x': path 'ckpts/../../secret' must stay inside",
        ),
        ("artifacts:\n  x:\n    path: data/x.ckpt\n", "must stay inside ckpts/"),
        ("artifacts:\n  x:\n    path: ckpts/x\n    colour: red\n", "unknown field"),
        ("artifacts:\n  x:\n    path: ckpts/x\n    labels: notalist\n", "'labels' must be a list"),
    ],
)
def test_malformed_registry_is_a_clear_error(tmp_path, text, match):
    write(tmp_path, text)
    with pytest.raises(RegistryError, match=match):
        load_registry(tmp_path)


def test_registry_is_reread_when_it_changes(tmp_path):
    write(tmp_path, VALID)
    assert list(load_registry(tmp_path)) == ["good"]
    write(tmp_path, VALID.replace("good", "better"))
    os.utime(tmp_path / "dvc.yaml", ns=(1, 1))
    assert list(load_registry(tmp_path)) == ["better"]


def test_ckpt_repo_without_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("CKPT_REPO", str(tmp_path))
    with pytest.raises(RegistryError, match="CKPT_REPO=.* has no dvc.yaml"):
        find_repo_root()


def test_outside_every_checkout_the_calling_code_decides(tmp_path, monkeypatch):
    # This test file lives in this repository's checkout; the working directory is outside it.
    # (tests/loader/test_names.py: scripts, the order, and the error when nothing is found.)
    monkeypatch.delenv("CKPT_REPO", raising=False)
    monkeypatch.chdir(tmp_path)
    assert find_repo_root() == Path(__file__).resolve().parents[2]


def test_the_remembered_checkout_of_a_directory_goes_with_its_registry(tmp_path, monkeypatch):
    monkeypatch.delenv("CKPT_REPO", raising=False)
    outer, inner = tmp_path / "outer", tmp_path / "outer" / "inner"
    inner.mkdir(parents=True)
    for root in (outer, inner):
        write(root, VALID)
    monkeypatch.chdir(inner)
    assert find_repo_root() == inner
    assert find_repo_root() == inner  # remembered
    (inner / "dvc.yaml").unlink()
    assert find_repo_root() == outer  # not any more: looked for again


def test_symlinked_directory_escaping_ckpts_is_refused(project, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "dng_m4owq4i5_v0.ckpt").write_bytes(b"not ours")
    (project.root / "ckpts" / "mp_20").mkdir(parents=True)
    os.symlink(outside, project.root / "ckpts" / "mp_20" / "vae")
    with pytest.raises(RegistryError, match="artifact 'mp_20_vae'.*outside ckpts/"):
        get_checkpoint("mp_20_vae")
    assert (outside / "dng_m4owq4i5_v0.ckpt").read_bytes() == b"not ours"


def test_symlinked_file_escaping_ckpts_is_refused(project, tmp_path):
    outside = tmp_path / "secret.ckpt"
    outside.write_bytes(b"secret")
    target = project.root / "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt"
    target.parent.mkdir(parents=True)
    os.symlink(outside, target)
    with pytest.raises(RegistryError, match="is a symlink to .*outside ckpts/"):
        get_checkpoint("mp_20_vae")
    assert outside.read_bytes() == b"secret"


def test_missing_ckpts_dvc(project):
    (project.root / "ckpts.dvc").unlink()
    with pytest.raises(RegistryError, match=r"ckpts.dvc does not exist.*dvc add ckpts"):
        get_checkpoint("mp_20_vae")


def test_malformed_ckpts_dvc(project):
    (project.root / "ckpts.dvc").write_text("outs: 3\n")
    with pytest.raises(RegistryError, match="ckpts.dvc is malformed"):
        get_checkpoint("mp_20_vae")


def test_registry_entry_not_recorded_by_dvc(project):
    with open(project.root / "dvc.yaml", "a") as f:
        f.write("  brand_new:\n    path: ckpts/new/model.ckpt\n    type: model\n")
    with pytest.raises(RegistryError, match="brand_new.*not in ckpts.dvc"):
        get_checkpoint("brand_new")


def test_tampered_manifest_is_refused(project):
    from ckpt.dvcfiles import cache_dir, object_path, tracked_dir_md5

    get_checkpoint("mp_20_vae")
    manifest = object_path(cache_dir(project.root), tracked_dir_md5(project.root))
    manifest.chmod(0o644)
    manifest.write_text(manifest.read_text().replace('"md5": "', '"md5": "0', 1)[:-1] + "]")
    tampered = manifest.read_bytes()
    shutil.rmtree(project.root / ".dvc/tmp/ckpt")  # no stamps: the file must be checked again
    with pytest.raises(RegistryError, match="manifest .* was modified"):
        get_checkpoint("mp_20_vae")
    assert manifest.read_bytes() == tampered  # left for inspection, not silently used or deleted
    assert (project.root / "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt").exists()


def test_unknown_name_is_also_a_keyerror(project):
    with pytest.raises(KeyError):
        get_checkpoint("nope")
    with pytest.raises(CheckpointNotFound, match=r"Available: alex_mp_20_ldm, "):
        get_checkpoint("nope")
