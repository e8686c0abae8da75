"""The built wheel installed as a user installs it: plain `pip install` (dependency resolution on)
into a venv that already holds the lowest supported dvc, dvc-s3 and huggingface_hub.

`make compat-low` builds that venv (without the project) and the wheel (`pip wheel --no-deps .`),
then runs this module with their paths in WHEEL_CHECK_VENV and WHEEL_CHECK_DIR. It needs the
package index to install the wheel's missing dependencies, so `make test` skips it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.dvc_cli import new_repo
from helpers.hub import LocalHub

REPO = Path(__file__).resolve().parents[2]
LOW_PINS = REPO / "requirements" / "compat-low.txt"
VENV = os.environ.get("WHEEL_CHECK_VENV")
WHEEL_DIR = os.environ.get("WHEEL_CHECK_DIR")

if not (VENV and WHEEL_DIR):
    pytest.skip(
        "needs WHEEL_CHECK_VENV and WHEEL_CHECK_DIR (a venv with the lowest supported versions "
        "and the built wheel): run by `make compat-low`",
        allow_module_level=True,
    )


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def low_pins() -> dict[str, str]:
    """The exact `name==version` lines of requirements/compat-low.txt."""
    pins = {}
    for line in LOW_PINS.read_text().splitlines():
        if match := re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line.split("#")[0].strip()):
            pins[canonical(match[1])] = match[2]
    assert pins, f"{LOW_PINS} pins nothing with =="
    return pins


@dataclass
class Installed:
    venv: Path
    wheel: Path
    before: dict[str, str]
    after: dict[str, str]
    pip_output: str

    def env(self, home: Path) -> dict[str, str]:
        """A user's shell with this venv first on PATH (DVC's config dirs stay the suite's)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "PYTHON"))}
        env.pop("VIRTUAL_ENV", None)
        return env | {
            "PATH": f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            "HF_HOME": str(home / "hf-home"),
            "HF_HUB_DISABLE_XET": "1",  # the local Hub does not speak Xet
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "DVC_NO_ANALYTICS": "1",
        }

    def run(self, *args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
        result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, (
            f"`{' '.join(args)}` in the wheel's venv failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
        return result


def versions(venv: Path) -> dict[str, str]:
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format", "json"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    return {canonical(d["name"]): d["version"] for d in json.loads(out)}


@pytest.fixture(scope="module")
def installed() -> Installed:
    venv, wheel_dir = Path(VENV).resolve(), Path(WHEEL_DIR).resolve()
    assert (venv / "bin" / "python").is_file(), f"{venv} is not a virtual environment"
    wheels = sorted(wheel_dir.glob("chemeleon2_ckpt-*.whl"))
    assert len(wheels) == 1, f"expected one chemeleon2_ckpt wheel in {wheel_dir}, found {wheels}"

    before = versions(venv)
    # The project already there (e.g. an editable install) would make the install below a no-op.
    assert "chemeleon2-ckpt" not in before, f"{venv} already holds chemeleon2-ckpt; rebuild it"
    pins = low_pins()
    assert {n: before.get(n) for n in pins} == pins, (
        f"{venv} should hold the lowest supported versions ({LOW_PINS.name}) before the wheel "
        "goes in; rebuild it with `make compat-low`"
    )
    # No --no-deps, no constraints: pip itself must find the versions present inside the ranges.
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", str(wheels[0])],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, (
        f"pip install {wheels[0].name} failed:\n{result.stdout}\n{result.stderr}"
    )
    return Installed(venv, wheels[0], before, versions(venv), result.stdout)


def test_wheel_holds_only_ckpt_and_dvc_hf(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    top = {n.split("/")[0] for n in names}
    dist_info = {t for t in top if t.endswith(".dist-info")}
    assert top - dist_info == {"ckpt", "dvc_hf", "dvc_hf.pth"}, sorted(top)
    assert len(dist_info) == 1, sorted(dist_info)


def test_install_keeps_the_lowest_versions(installed: Installed) -> None:
    pins = low_pins()
    changed = {
        name: f"{was} -> {installed.after.get(name, 'removed')}"
        for name, was in installed.before.items()
        if name in pins and installed.after.get(name) != was
    }
    lines = installed.pip_output.splitlines()
    pip_said = [line for line in lines if line.startswith("Successfully installed")]
    assert changed == {}, (
        f"pip install of {installed.wheel.name} replaced the lowest supported versions "
        f"({', '.join(f'{n} {c}' for n, c in changed.items())}): pyproject.toml's ranges no "
        f"longer accept them. pip: {' '.join(pip_said)}"
    )
    assert installed.after["chemeleon2-ckpt"] == installed.wheel.name.split("-")[1]


def test_installed_requirements_are_consistent(installed: Installed, tmp_path: Path) -> None:
    installed.run("python", "-m", "pip", "check", cwd=tmp_path, env=installed.env(tmp_path))


def test_ckpt_runs_from_the_wheel_and_lists_no_test_tooling(
    installed: Installed, tmp_path: Path
) -> None:
    env = installed.env(tmp_path)
    where = installed.run(
        "python", "-c", "import ckpt, dvc_hf; print(ckpt.__file__); print(dvc_hf.__file__)",
        cwd=tmp_path, env=env,
    ).stdout.split()  # fmt: skip
    site = installed.venv / "lib"
    assert all(Path(p).is_relative_to(site) for p in where), f"imported from {where}, not {site}"

    listing = installed.run("ckpt", "--help", cwd=tmp_path, env=env).stdout
    commands = set(re.findall(r"^    (\w[\w-]*)", listing.split("options:")[0], re.MULTILINE))
    assert {"list", "status", "pull", "verify", "publish"} <= commands, listing
    assert not {"hub", "hubsim", "serve", "demo"} & commands, listing
    missing = installed.run(
        "python", "-c",
        "import importlib.util as u; print([m for m in ('hubsim', 'ckpt_devtools') if u.find_spec(m)])",
        cwd=tmp_path, env=env,
    ).stdout.strip()  # fmt: skip
    assert missing == "[]", f"development tools importable from the wheel's venv: {missing}"
    assert not (installed.venv / "bin" / "hubsim").exists()


def test_dvc_takes_an_hf_remote_and_ckpt_pulls_through_it(
    installed: Installed, tmp_path: Path
) -> None:
    env = installed.env(tmp_path)
    project = tmp_path / "project"
    project.mkdir()

    def dvc(*args: str) -> subprocess.CompletedProcess:
        return installed.run("dvc", *args, cwd=project, env=env)

    installed.run("git", "init", "-q", cwd=project, env=env)
    dvc("init", "-q")
    # dvc refuses a URL scheme no installed plugin registered, so this one is the control.
    unknown = subprocess.run(
        ["dvc", "remote", "add", "other", "nosuch://bucket"],
        cwd=project, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert unknown.returncode != 0 and "Unsupported URL type" in unknown.stderr, unknown.stderr

    with LocalHub(tmp_path / "hub") as hub:
        dvc("remote", "add", "-d", "hf", f"hf://datasets/{new_repo(hub)}")
        dvc("remote", "modify", "hf", "endpoint", hub.url)  # an option only dvc-hf's schema has
        weights = os.urandom(200_000)
        (project / "ckpts").mkdir()
        (project / "ckpts" / "tiny.ckpt").write_bytes(weights)
        (project / "dvc.yaml").write_text(
            "artifacts:\n  tiny:\n    path: ckpts/tiny.ckpt\n    type: model\n"
        )
        dvc("add", "-q", "ckpts")
        dvc("push", "-q")
        (project / "ckpts" / "tiny.ckpt").unlink()
        shutil.rmtree(project / ".dvc" / "cache")

        pulled = installed.run("ckpt", "pull", "tiny", cwd=project, env=env)
    assert pulled.stdout.strip() == f"tiny\t{project / 'ckpts' / 'tiny.ckpt'}", pulled.stdout
    assert (project / "ckpts" / "tiny.ckpt").read_bytes() == weights
