"""Real subprocesses: the warm path's imports, and concurrent pulls of one missing checkpoint."""

import hashlib
import json
import subprocess
import sys

from helpers.project import checkpoint_bytes

PROBE = """
import sys
before = set(sys.modules)
from ckpt import get_checkpoint
path = get_checkpoint("mp_20_vae")
new = {m.split(".")[0] for m in sys.modules if m not in before}
heavy = sorted(new & {"dvc", "dvc_data", "huggingface_hub", "torch", "zc", "configobj"})
# Light, but a fresh process's warm call is measured against `import yaml` alone (BENCHMARKS.md
# #2), where each costs a few ms: typing (NamedTuple), logging, dataclasses.
avoidable = sorted(new & {"typing", "logging", "dataclasses"})
import json
print(json.dumps({"path": str(path), "heavy": heavy, "avoidable": avoidable}))
"""


def test_warm_path_in_a_fresh_process_imports_nothing_heavy(project):
    first = project.python(PROBE, check=True)
    assert "dvc" in json.loads(first.stdout)["heavy"]  # the cold path did use DVC
    warm = json.loads(project.python(PROBE, check=True).stdout)
    assert warm["heavy"] == []
    assert warm["avoidable"] == []
    assert warm["path"].endswith("ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt")


def test_pytest_plugin_imports_nothing_heavy():
    code = (
        "import sys, ckpt.pytest_plugin; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'dvc', 'huggingface_hub', 'torch', 'zc'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_four_processes_pull_the_same_missing_checkpoint_once(project):
    code = (
        "import logging, sys; logging.basicConfig(level=logging.INFO, stream=sys.stderr);"
        "from ckpt import get_checkpoint; print(get_checkpoint('alex_mp_20_ldm_rl'))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=project.root,
            env=project.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    assert [rc for rc, _, _ in results] == [0, 0, 0, 0], results
    paths = {out.strip() for _, out, _ in results}
    assert len(paths) == 1
    expected = checkpoint_bytes("ckpts/alex_mp_20/ldm/ldm_rl_dng_tuor5vgd.ckpt")
    with open(paths.pop(), "rb") as f:
        assert hashlib.md5(f.read()).hexdigest() == hashlib.md5(expected).hexdigest()
    transfers = sum(err.count("Fetched alex_mp_20_ldm_rl from remote") for _, _, err in results)
    assert transfers == 1, [err for _, _, err in results]
