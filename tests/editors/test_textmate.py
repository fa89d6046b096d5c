"""The TextMate grammar of .fg files, run through vscode-tmgrammar-test on the annotated samples
in editors/vscode/test/*.fg (`## ^^^ scope` lines assert the scopes of the line above them)."""

from __future__ import annotations

import json
import re
import subprocess

from .conftest import VSCODE

SAMPLES = sorted((VSCODE / "test").glob("*.fg"))
GRAMMAR = VSCODE / "syntaxes" / "forgather.tmLanguage.json"
# An assertion line of the samples: `## ^^^ scope ... [- excluded ...]` or `## <-- ...`.
ASSERTION = re.compile(r"^##\s*(?:(?:\^+\s*)+|<~*-+)(?P<rest>.*)$")


def run_tool(cwd, *args, timeout=300):
    return subprocess.run(["npx", "--no-install", "vscode-tmgrammar-test", "--compact", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_samples_pass(vscode_tools):
    # No -g: the tool reads the grammar from package.json's contributes.grammars, so this also
    # checks that the manifest names the grammar and its scope correctly.
    done = run_tool(vscode_tools, "test/*.fg")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert len(SAMPLES) >= 4
    for sample in SAMPLES:  # a glob that matched nothing would also exit 0
        assert f"test/{sample.name} run successfuly" in out, out


def test_a_wrong_assertion_fails(vscode_tools, tmp_path):
    bad = tmp_path / "bad.fg"
    bad.write_text('## SYNTAX TEST "source.forgather"\n'
                   'b: "x ## y"\n'
                   '##    ^^ comment.line.double-number-sign.forgather\n')
    done = run_tool(VSCODE, "-g", str(GRAMMAR), str(bad))
    assert done.returncode != 0
    assert "comment.line.double-number-sign.forgather" in done.stdout + done.stderr


def asserted_scopes() -> set[str]:
    seen: set[str] = set()
    for sample in SAMPLES:
        for line in sample.read_text().splitlines()[1:]:
            m = ASSERTION.match(line)
            if m:  # the required scopes: the words before a lone `-`
                words = m["rest"].split()
                seen.update(words[: words.index("-")] if "-" in words else words)
    return seen


def grammar_scopes() -> set[str]:
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for key in ("name", "contentName"):
                if isinstance(node.get(key), str):
                    found.update(node[key].split())
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    grammar = json.loads(GRAMMAR.read_text())
    walk(grammar["repository"])
    return found


def test_every_scope_of_the_grammar_is_asserted_somewhere():
    # Each construct the grammar names is covered by at least one sample assertion.
    missing = grammar_scopes() - asserted_scopes()
    assert not missing, f"scopes no sample asserts: {sorted(missing)}"
