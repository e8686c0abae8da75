"""The GitHub workflow validates against the workflow JSON schema and gates checkpoint tests."""

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"
CHECK = [
    str(Path(sys.executable).parent / "check-jsonschema"),
    "--builtin-schema",
    "vendor.github-workflows",
]


def validate(path):
    return subprocess.run([*CHECK, str(path)], capture_output=True, text=True, timeout=120)


def test_workflow_matches_the_github_schema():
    result = validate(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validator_rejects_a_broken_workflow(tmp_path):
    broken = yaml.safe_load(WORKFLOW.read_text())
    del broken["jobs"]["lint-and-test"]["runs-on"]
    broken["jobs"]["lint-and-test"]["steps"][0]["uses"] = 42
    (tmp_path / "ci.yml").write_text(yaml.safe_dump(broken))
    assert validate(tmp_path / "ci.yml").returncode != 0


def test_default_job_runs_both_tiers_and_skips_checkpoint_tests():
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    job = jobs["lint-and-test"]
    assert job["env"]["SKIP_CHECKPOINT_DOWNLOAD"] == "true"
    # the README's command (installs from the lock, runs ruff, the default tier), then the rest
    assert [s.get("run") for s in job["steps"] if "run" in s] == ["make test", "make test-slow"]


def test_local_ci_runs_both_tiers_in_the_same_order():
    script = (REPO / ".ci" / "run").read_text()
    commands = [line.strip() for line in script.splitlines() if line.startswith("make ")]
    assert commands == ["make test", "make test-slow"]


def recipe(makefile: str, target: str) -> str:
    lines = makefile.split(f"\n{target}:", 1)[1].splitlines()[1:]
    return "\n".join(line for line in lines[: next(i for i, x in enumerate(lines) if not x)])


def test_the_two_tiers_split_the_suite_by_the_slow_marker():
    # Together `make test` and `make test-slow` run every test exactly once.
    makefile = (REPO / "Makefile").read_text()
    assert '-m "not slow"' in recipe(makefile, "test")
    assert "-m slow" in recipe(makefile, "test-slow")
    assert " -m " not in recipe(makefile, "test-all")
    assert "TEST := SKIP_CHECKPOINT_DOWNLOAD=true" in makefile
    assert "slow:" in (REPO / "pyproject.toml").read_text()  # the marker is declared


def test_compat_job_runs_both_ends_of_the_ranges():
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["compat"]
    assert job["strategy"]["matrix"]["end"] == ["low", "high"]
    assert [s.get("run") for s in job["steps"] if "run" in s] == ["make compat-${{ matrix.end }}"]
    makefile = (REPO / "Makefile").read_text()
    assert "test-compat: compat-low compat-high" in makefile
    # The check of the wheel installed beside the lowest versions (tests/wheel) rides on the low end.
    assert "compat-low: wheel-low" in makefile
    for end in ("low", "high"):
        assert (REPO / "requirements" / f"compat-{end}.txt").is_file()


def test_checkpoint_job_runs_only_with_the_token_secret():
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["checkpoint-tests"]
    assert job["env"]["HF_TOKEN"] == "${{ secrets.HF_TOKEN }}"
    assert "if" not in job  # a job-level `if:` cannot see secrets
    steps = {s.get("run") or s.get("uses"): s for s in job["steps"]}
    for command in ("dvc pull ckpts", "pytest -m requires_checkpoints"):
        assert steps[command]["if"] == "env.HF_TOKEN != ''"
    assert any(s.get("if") == "env.HF_TOKEN == ''" for s in job["steps"])
