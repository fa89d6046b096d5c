"""The README's quick-start command, in a clean install: the project's wheel built and installed
(no editable install, no source tree on the path) into a fresh virtual environment, the
command run in an empty folder holding only examples/quickstart, for a few steps. The run
directory must hold what the README promises, and the loss must fall.

The fresh environment gets the dependencies (torch, transformers, ...) from this one through a
path file: reinstalling them would need the network, and they are not what is under test."""

from __future__ import annotations

import json
import re
import shutil
import site
import subprocess
import sys
import textwrap
import venv

from examples_testlib import ENV, EXAMPLES, NO_FORGATHER, REPO, losses

README_LINE = "On a fresh machine (Python 3.11), install and run the quick-start example:"


def readme_command() -> str:
    """The part of the README's quick-start line after `pip install .`: the fgc commands."""
    lines = (REPO / "README.md").read_text().splitlines()
    start = lines.index(README_LINE)
    command = next(line for line in lines[start + 1:] if line.startswith("python3 -m venv"))
    fgc_part = command.split("pip install . && ", 1)[1]
    assert fgc_part == "fgc compile examples/quickstart/experiment.fg -o build/quickstart && fgc run build/quickstart"
    return fgc_part


# Nothing of this checkout on the path of the fresh environment.
CLEAN = {k: v for k, v in ENV.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def test_readme_quickstart_in_a_clean_install(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", wheels, REPO], check=True, env=ENV, capture_output=True)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    (tmp_path / "venv-deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    shutil.copy(tmp_path / "venv-deps.pth", purelib)
    (wheel,) = wheels.glob("forgather-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel],
                   check=True, env=ENV, capture_output=True)
    work = tmp_path / "work"
    shutil.copytree(EXAMPLES / "quickstart", work / "examples" / "quickstart")
    bin_dir = env_dir / "bin"
    # Where fgc and forgather come from: the wheel, not this checkout.
    where = subprocess.run([python, "-c", "import fgc, forgather; print(fgc.__file__, forgather.__file__)"],
                           check=True, capture_output=True, text=True, cwd=work, env=CLEAN).stdout
    assert str(REPO) not in where and where.count(str(env_dir)) == 2, where
    command = readme_command().replace(
        "fgc run build/quickstart",
        "fgc run build/quickstart --set max_steps=8 --set corpus_files=10 --set logging_steps=1 --set sample_tokens=8",
    )
    done = subprocess.run(command, shell=True, capture_output=True, text=True, cwd=work,
                          env={**CLEAN, "PATH": f"{bin_dir}:{ENV['PATH']}"})
    assert done.returncode == 0, done.stderr[-4000:]
    (run_dir,) = [p for p in (work / "runs" / "quickstart").iterdir() if not p.is_symlink()]
    for name in ("config.json", "model.safetensors", "modeling.py", "tokenizer.json", "loss.png",
                 "sample.txt", "fgc-run.json", "fgc-manifest.json", "config.yaml", "sources"):
        assert (run_dir / name).exists(), name
    assert (work / "runs" / "quickstart" / "latest").resolve() == run_dir
    config = json.loads((run_dir / "config.json").read_text())
    assert config["hidden_size"] == 128 and config["num_hidden_layers"] == 4
    curve = losses(run_dir)
    assert len(curve) == 8 and curve[-1] < curve[0], curve
    # the model stands alone: plain transformers loads it, fgc and forgather refused on import
    load = NO_FORGATHER + textwrap.dedent(f"""
        from transformers import AutoModelForCausalLM
        print(AutoModelForCausalLM.from_pretrained({str(run_dir)!r}, trust_remote_code=True).num_parameters())
        """)
    loaded = subprocess.run([python, "-c", load], capture_output=True, text=True, cwd=work, env=CLEAN)
    assert loaded.returncode == 0, loaded.stderr[-4000:]
    assert loaded.stdout.split()[-1] == "1000576"  # the README's "1.0M parameters"
    sample = (run_dir / "sample.txt").read_text()
    assert sample.startswith("class Reader:\n    def __init__(self, ")
    assert re.search(r"eval metrics\s+: eval_loss=", done.stdout) and sample.strip() in done.stdout


def test_readme_states_the_eval_loss_and_the_sample(tmp_path):
    """The quick-start section shows what the command prints: the eval loss and a greedy sample
    that continues the quick start's own prompt."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Quick start\n") :]
    section = section[: section.index("\n## ", 1)]
    assert re.search(r"eval metrics\s+: eval_loss=\d\.\d+", section), section
    import fgc

    prompt = fgc.compile(EXAMPLES / "quickstart" / "experiment.fg", tmp_path / "build").load().VARIABLES["sample_prompt"]
    shown = section[section.index("```text\n") :].split("```")[1]
    assert prompt["default"] in shown and len(shown.split(prompt["default"], 1)[1].strip()) > 40
