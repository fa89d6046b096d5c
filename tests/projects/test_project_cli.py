"""The command line on projects: PROJECT_DIR [-t CONFIG], `fgc ls PROJECT_DIR`, `fgc check
PROJECT_DIR --all`, the config's own options after `--` (dynamic_args)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fgc.cli.main import main

WORKSPACE = Path(__file__).resolve().parent / "workspace"


def fgc(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_ls_lists_configs_with_their_metadata_and_the_default(capsys):
    code, out, _ = fgc(capsys, "ls", WORKSPACE / "tiny")
    assert code == 0
    assert out.splitlines() == [
        "Tiny: A tiny project: ns, TOML blocks, sub-templates and super()",
        "  train.yaml  [default]  Train: Train the tiny model",
        "  wide.yaml              Wide: Twice the width",
    ]


def test_ls_lists_a_broken_config_with_its_first_error(capsys):
    code, out, _ = fgc(capsys, "ls", WORKSPACE / "broken", "--format", "json")
    assert code == 1
    listing = json.loads(out)
    by_config = {c["config"]: c for c in listing["configs"]}
    assert by_config["good.yaml"]["default"] and by_config["good.yaml"]["error"] is None
    assert by_config["good.yaml"]["name"] == "Good"
    assert "bad.yaml:10:23: error[FG0501]: undefined alias `*nothing`" in by_config["bad.yaml"]["error"]


def test_check_all_summarises_each_config(capsys):
    code, _, err = fgc(capsys, "check", WORKSPACE / "broken", "--all")
    assert code == 1
    lines = err.splitlines()
    assert "bad.yaml   1 error" in lines and "good.yaml  ok" in lines
    assert lines[-1] == "fgc: 2 configs checked, 1 with errors"
    code, _, err = fgc(capsys, "check", WORKSPACE / "tiny", "--all")
    assert code == 0 and err.splitlines()[-1] == "fgc: 2 configs checked, 0 with errors"


def test_check_all_needs_a_project(capsys):
    code, _, err = fgc(capsys, "check", WORKSPACE / "tiny", "--all", "-t", "wide")
    assert code == 2 and "--all checks every config of a PROJECT_DIR" in err


def test_compile_a_project_config_and_construct(capsys, tmp_path):
    code, _, err = fgc(capsys, "compile", WORKSPACE / "tiny", "-t", "wide", "-o", tmp_path / "b")
    assert code == 0, err
    import fgc as api

    assert api.load(tmp_path / "b").construct("main")["steps"] == 20


def test_unknown_config_names_the_configs(capsys):
    code, _, err = fgc(capsys, "targets", WORKSPACE / "tiny", "-t", "wid")
    assert code == 1
    assert "has no config `wid`; its configs: train.yaml, wide.yaml" in err and "did you mean `wide.yaml`" in err


def test_a_file_with_t_is_a_usage_error(capsys):
    code, _, err = fgc(capsys, "check", WORKSPACE / "tiny" / "meta.yaml", "-t", "x")
    assert code == 2 and "-t CONFIG needs a PROJECT_DIR" in err


def test_dynamic_args_become_template_variables(capsys, tmp_path):
    code, out, err = fgc(
        capsys, "render", WORKSPACE / "dynargs", "--", "--max-steps", "7", "--learning-rate", "0.5", "--verbose"
    )
    assert code == 0, err
    assert "max_steps: 7" in out and "learning_rate: 0.5" in out and "verbose: True" in out
    assert "run_name: default" in out  # not given: the template's default


def test_dynamic_args_help_lists_the_options(capsys):
    try:
        main(["compile", str(WORKSPACE / "dynargs"), "-o", "unused", "--", "--help"])
    except SystemExit as e:
        assert e.code == 0
    out = capsys.readouterr().out
    assert "--max-steps MAX_STEPS" in out and "How many steps to train" in out
    assert "--lr LEARNING_RATE, --learning-rate LEARNING_RATE" in out


def test_dynamic_args_bad_value_is_a_usage_error(capsys):
    code, _, err = fgc(capsys, "check", WORKSPACE / "dynargs", "--", "--max-steps", "many")
    assert code == 2 and "argument --max-steps: invalid int value: 'many'" in err


def test_words_after_dashes_need_a_command_that_takes_them(capsys):
    code, _, err = fgc(capsys, "ls", WORKSPACE, "--", "--x")
    assert code == 2 and "takes no options after `--`" in err


def test_project_globals_never_import_torch():
    """`versions` comes from installed metadata: rendering a project imports no torch."""
    script = (
        "import sys; from fgc.project import load_project; from fgc.pipeline import compile_file\n"
        f"p, d = load_project({str(WORKSPACE / 'tiny')!r}); f, _ = p.config_file(None)\n"
        "c = compile_file(f, p.include_dirs, {}, globals=p.globals, import_modules=False)\n"
        "assert c.ok, c.diagnostics\n"
        "assert 'torch' in p.globals['versions'] and 'torch' not in sys.modules, sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


@pytest.mark.parametrize("dist", ["torch", "transformers", "accelerate", "Jinja2", "pyyaml", "no-such-distribution"])
def test_versions_read_from_dist_info_agree_with_importlib_metadata(dist):
    """The dist-info fast path of `versions` gives what importlib.metadata gives, or defers to it."""
    from importlib import metadata

    from fgc.project import globals as project_globals

    try:
        expected = metadata.version(dist)
    except metadata.PackageNotFoundError:
        expected = None
    fast = project_globals._dist_info_versions((dist,))[dist]
    assert fast in (expected, None)
    assert (fast or project_globals._metadata_version(dist)) == expected


def test_a_project_build_recompiles_from_its_saved_sources_with_the_project_globals(capsys, tmp_path):
    """The manifest keeps the globals (project_dir, workspace_root, uname, ...) the config
    rendered with, so recompiling the build renders the same without the project."""
    assert fgc(capsys, "compile", WORKSPACE / "tiny", "-o", tmp_path / "first")[0] == 0
    manifest = json.loads((tmp_path / "first" / "fgc-manifest.json").read_text())
    assert manifest["template_globals"]["project_dir"] == str(WORKSPACE / "tiny")
    code, _, err = fgc(capsys, "compile", tmp_path / "first", "-o", tmp_path / "again")
    assert code == 0, err
    first, again = ((tmp_path / d / "config.py").read_text() for d in ("first", "again"))
    assert again == first
    again_manifest = json.loads((tmp_path / "again" / "fgc-manifest.json").read_text())
    assert again_manifest["template_globals"] == manifest["template_globals"]
    # it names the project's files, not the temporary copies it compiled
    assert again_manifest["recompiled_from"] == str(tmp_path / "first")
    for key in ("input_path", "search_path", "sources"):
        assert again_manifest[key] == manifest[key], key
