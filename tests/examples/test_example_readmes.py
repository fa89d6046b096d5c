"""The examples' READMEs give commands that work: every file they name exists, every
`fgc run build/X` runs a build that the same README compiles, and every `--set NAME=...` names a
variable of that build. (The runs themselves are test_examples_run.py's.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import fgc as fgc_api
from examples_testlib import EXAMPLES, REPO

READMES = sorted(EXAMPLES.glob("*/README.md"))
_LOOP = re.compile(r"for (\w+) in ([\w ]+); do\n(.*?)\n\s*done", re.S)
_COMPILE = re.compile(r"fgc compile (examples/\S+\.fg) -o build/(\S+)")
_RUN = re.compile(r"fgc run build/(\S+)((?: --[\w-]+(?: [^\s-][^\s]*)?)*)")
_FILE = re.compile(r"(?<![\w/])examples/[\w/]+\.(?:fg|py)")


def commands(text: str) -> str:
    """The README's text with each shell `for` loop written out, one copy per value."""
    def unroll(m: re.Match) -> str:
        return "\n".join(m.group(3).replace(f"${m.group(1)}", value) for value in m.group(2).split())

    return _LOOP.sub(unroll, text)


def label(path: Path) -> str:
    return path.parent.name


@pytest.mark.parametrize("readme", READMES, ids=label)
def test_readme_commands_name_what_exists(readme, tmp_path):
    text = commands(readme.read_text())
    for name in _FILE.findall(text):
        assert (REPO / name).is_file(), f"{readme}: {name} does not exist"
    builds = {build: experiment for experiment, build in _COMPILE.findall(text)}
    runs = _RUN.findall(text)
    assert builds and runs, f"{readme}: no `fgc compile ... -o build/X` and `fgc run build/X`"
    variables = {}
    for build, options in runs:
        assert build in builds, f"{readme}: `fgc run build/{build}` but nothing is compiled to build/{build}"
        names = re.findall(r"--set (\w+)=", options)
        if names and build not in variables:  # compiled only where a --set is to be checked
            variables[build] = fgc_api.compile(REPO / builds[build], tmp_path / build).load().VARIABLES
        for name in names:
            assert name in variables[build], f"{readme}: build/{build} has no variable `{name}`"


def test_every_example_has_a_readme_listed_in_examples_readme():
    index = (EXAMPLES / "README.md").read_text()
    folders = sorted(p.parent.name for p in EXAMPLES.glob("*/*.fg"))
    for folder in folders:
        assert (EXAMPLES / folder / "README.md").is_file(), folder
        assert f"[{folder}/]({folder}/README.md)" in index, folder
