"""A warm `fgc check` of a config that names only torch and transformers classes does not import
torch: the signature cache answers (run in fresh subprocesses, as a user would)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

CONFIG = """\
model: &model !singleton:torch.nn:Linear [16, 4]
optimizer: !partial:torch.optim:AdamW
    lr: 1.0e-3
    weight_decay: 0.01
scheduler: !partial:torch.optim.lr_scheduler:LambdaLR
    lr_lambda: !partial:operator:mul [1.0]
tokenizer_config: !partial:transformers:AutoConfig.from_pretrained
main: !partial:transformers:Trainer
    model: *model
"""

PROBE = textwrap.dedent("""
    import sys
    from fgc.cli.main import main
    code = main(["check", "--no-cache", sys.argv[1]])  # the signature cache, not the result cache
    print("exit", code, "torch" in sys.modules, "transformers" in sys.modules)
    """)


def _check(path, cache_dir) -> list[str]:
    env = dict(os.environ, FGC_CACHE_DIR=str(cache_dir))
    done = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_warm_check_does_not_import_torch(tmp_path):
    path = tmp_path / "exp.fg"
    path.write_text(CONFIG)
    cache = tmp_path / "cache"
    cold = _check(path, cache)
    assert cold == ["exit", "0", "True", "True"]  # the first check imports them to read signatures
    warm = _check(path, cache)
    assert warm == ["exit", "0", "False", "False"]


def test_cache_invalidated_when_a_local_module_changes(tmp_path):
    path = tmp_path / "exp.fg"
    path.write_text("main: !singleton:.mod:f { a: 1 }\n")
    (tmp_path / "mod.py").write_text("def f(a):\n    return a\n")
    cache = tmp_path / "cache"
    assert _check(path, cache)[:2] == ["exit", "0"]
    # Same size, different signature: the mtime (and content) changed.
    (tmp_path / "mod.py").write_text("def f(b):\n    return b\n")
    st = os.stat(tmp_path / "mod.py")
    os.utime(tmp_path / "mod.py", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    env = dict(os.environ, FGC_CACHE_DIR=str(cache))
    done = subprocess.run(
        [sys.executable, "-m", "fgc", "check", str(path)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 1
    assert "unknown argument `a` for `.mod:f`" in done.stderr and "signature: f(b)" in done.stderr
    assert "missing required argument `b`" in done.stderr
