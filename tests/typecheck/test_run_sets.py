"""`fgc run --set NAME=VALUE` checked against the type of the variable's recorded default."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from fgc.cli.common import UsageError
from fgc.cli.run_sets import parse_sets

# (the manifest's entry for variable `v`, the text after `v=`, the value or the error's tail)
CASES = [
    ({"default": 60}, "30", 30),
    ({"default": 60}, "abc", "takes an integer (its default is 60), got the string 'abc'"),
    ({"default": 60}, "3.5", "takes an integer (its default is 60), got the float 3.5"),
    ({"default": 60}, "true", "takes an integer (its default is 60), got the boolean true"),
    ({"default": 60}, "~", "takes an integer (its default is 60), got null"),
    ({"default": 1e-3}, "3", 3),
    ({"default": 1e-3}, "3e-4", 3e-4),
    ({"default": 1e-3}, "fast", "takes a number (its default is 0.001), got the string 'fast'"),
    ({"default": True}, "false", False),
    ({"default": True}, "0", "takes true or false (its default is True), got the integer 0"),
    ({"default": "steps"}, "epoch", "epoch"),
    ({"default": "steps"}, "'12'", "12"),
    ({"default": "steps"}, "12", "takes a string (its default is 'steps'), got the integer 12"),
    ({"default": None}, "12", 12),
    ({"default": None}, "anything", "anything"),
    ({"default": [1, 2]}, "x", "x"),
    ({"required": True}, "7", 7),
    ({"default_from_config": True}, "7", 7),
]


@pytest.mark.parametrize("entry,text,expected", CASES, ids=[f"{c[0]}<-{c[1]}" for c in CASES])
def test_set_against_default(entry, text, expected):
    variables = {"v": dict(entry, used_at=["exp.fg:1:1"])}
    if isinstance(expected, str) and expected.startswith("takes"):
        with pytest.raises(UsageError) as e:
            parse_sets([f"v={text}"], variables)
        assert str(e.value).startswith(f"--set v={text}: variable `v` {expected}")
    else:
        value = parse_sets([f"v={text}"], variables)["v"]
        assert value == expected and type(value) is type(expected)


def test_unknown_variable_and_malformed_item():
    with pytest.raises(UsageError, match=r"no variable `max_step` .*did you mean `max_steps`"):
        parse_sets(["max_step=3"], {"max_steps": {"default": 1}})
    with pytest.raises(UsageError, match="--set expects NAME=VALUE"):
        parse_sets(["max_steps"], {"max_steps": {"default": 1}})


# A fixed experiment of its own (not an example whose sizes change): one integer variable.
EXPERIMENT = """\
main: !singleton:builtins:dict
    max_steps: !var { name: max_steps, default: 60 }
"""


def test_fgc_run_set_abc_exits_2_naming_the_variable(tmp_path):
    build = tmp_path / "build"
    (tmp_path / "experiment.fg").write_text(EXPERIMENT)
    env = dict(os.environ)
    done = subprocess.run(
        [sys.executable, "-m", "fgc", "compile", "experiment.fg", "-o", str(build)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "fgc", "run", str(build), "--set", "max_steps=abc"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert (
        "--set max_steps=abc: variable `max_steps` takes an integer (its default is 60), "
        "got the string 'abc'" in done.stderr
    )
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists()  # refused before anything ran
