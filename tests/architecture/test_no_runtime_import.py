"""The compiler never imports the runtime: compiling a model config leaves no `forgather` module
loaded (the build copies the runtime's block files; it does not import them).

Import resolution imports the modules a config names (its callables live in `forgather`), so
the check runs where that does not happen: with `--no-import`, and with a warm signature cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "quickstart" / "experiment.fg"

_PROBE = """
import json, sys
from fgc.cli.main import main
rc = main(["compile", sys.argv[1], "-o", sys.argv[2], *sys.argv[3:]])
print(json.dumps({"rc": rc, "runtime": sorted(m for m in sys.modules if m.split(".")[0] == "forgather")}))
"""


def _compile(out: Path, cache: Path, *options: str) -> dict:
    env = {**os.environ, "FGC_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(EXAMPLE), str(out), *options],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_compile_without_imports_loads_no_runtime(tmp_path):
    got = _compile(tmp_path / "build", tmp_path / "cache", "--no-import")
    assert got == {"rc": 0, "runtime": []}
    assert (tmp_path / "build" / "model" / "attention.py").is_file()  # block files copied


def test_compile_with_a_warm_cache_loads_no_runtime(tmp_path):
    cold = _compile(tmp_path / "cold", tmp_path / "cache")
    assert cold["rc"] == 0 and cold["runtime"]  # resolving the config's callables imports them
    warm = _compile(tmp_path / "warm", tmp_path / "cache")
    assert warm == {"rc": 0, "runtime": []}
    model = tmp_path / "warm" / "model"
    assert sorted(p.name for p in model.iterdir()) == sorted(p.name for p in (tmp_path / "cold" / "model").iterdir())
