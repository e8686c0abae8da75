"""A tiny run of the benchmark suite (benchmarks/), so that it cannot rot. Speed is not asserted:
only that every benchmark runs to the end and reports its rows, targets and plot."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = range(1, 9)


@pytest.mark.slow
def test_smoke_run_reports_every_benchmark(tmp_path: Path):
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--scale", "smoke",
         "--out", str(tmp_path / "report"), "--work", str(tmp_path / "work")],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    log = out.stdout + out.stderr
    assert out.returncode == 0, log
    verdicts = re.findall(r"^(PASS|FAIL) #(\d) (.+)$", out.stdout, re.MULTILINE)
    assert {int(n) for _, n, _ in verdicts} == set(BENCHMARKS), log
    # A benchmark that raised is reported as this failed target: the harness itself broke.
    assert not [v for v in verdicts if v[2].startswith("the benchmark runs")], log
    assert re.search(r"^\d+ of \d+ targets pass", out.stdout, re.MULTILINE), log

    report = (tmp_path / "report" / "BENCHMARKS.md").read_text()
    rows = re.findall(r"^\| (\d) \| ", report, re.MULTILINE)
    assert sorted({int(n) for n in rows}) == list(BENCHMARKS), report
    for n in BENCHMARKS:
        assert f"### #{n} " in report
    assert "| cores |" in report and "python -m benchmarks.run --scale smoke" in report
    assert (tmp_path / "report" / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "work").exists(), "the work directory was not cleaned up"


def test_bad_selection_is_refused_before_any_work():
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--only", "3,9"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 2
    assert "no benchmark [9]; there are 1-8" in out.stderr
