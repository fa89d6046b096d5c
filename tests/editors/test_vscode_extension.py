"""The VS Code extension's manifest and client: what VS Code would refuse or fail on at load
time, checked without VS Code (which cannot run here)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from .conftest import VSCODE, manifest


def test_manifest_entry_points_exist():
    m = manifest()
    for key in ("name", "publisher", "version", "engines", "main", "activationEvents"):
        assert m.get(key), key
    assert re.fullmatch(r"\^?\d+\.\d+\.\d+", m["engines"]["vscode"])
    assert (VSCODE / m["main"]).is_file()
    assert "onLanguage:forgather" in m["activationEvents"]
    for event in m["activationEvents"]:
        assert re.fullmatch(r"(onLanguage:forgather|workspaceContains:.+|onCommand:fgc\..+)", event), event


def test_contributed_paths_exist_and_agree():
    contributes = manifest()["contributes"]
    (language,) = contributes["languages"]
    assert language["id"] == "forgather" and language["extensions"] == [".fg"]
    config = json.loads((VSCODE / language["configuration"]).read_text())
    assert config["comments"]["lineComment"] == "##"
    assert config["comments"]["blockComment"] == ["{#", "#}"]
    for grammar in contributes["grammars"]:
        assert grammar["language"] == language["id"]
        text = json.loads((VSCODE / grammar["path"]).read_text())
        assert text["scopeName"] == grammar["scopeName"] == "source.forgather"


def test_language_configuration_patterns_compile():
    # VS Code compiles these as JavaScript regular expressions; the constructs used are the
    # common subset, which Python's re reads the same way.
    config = json.loads((VSCODE / "language-configuration.json").read_text())
    patterns = [*config["folding"]["markers"].values(), *config["indentationRules"].values()]
    for p in patterns:
        re.compile(p)
    start, end = (re.compile(config["folding"]["markers"][k]) for k in ("start", "end"))
    assert start.match("    -- block optimizer") and start.match("{%- if x %}")
    assert end.match("<< endblock optimizer") and not end.match("-- block x")


def test_settings_are_contributed_with_their_defaults():
    props = manifest()["contributes"]["configuration"]["properties"]
    assert props["fgc.path"]["default"] == "fgc"
    assert props["fgc.lsp.import"]["enum"] == ["on", "cached-only", "off"]
    assert props["fgc.lsp.import"]["default"] == "on"
    assert props["fgc.includePaths"]["type"] == "array"
    trust = manifest()["capabilities"]["untrustedWorkspaces"]
    assert set(trust["restrictedConfigurations"]) >= {"fgc.path", "fgc.lsp.import"}


def test_dependencies_are_pinned_and_locked():
    m = manifest()
    lock = json.loads((VSCODE / "package-lock.json").read_text())
    for name, version in {**m["dependencies"], **m["devDependencies"]}.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} is not pinned: {version}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name


@pytest.mark.parametrize("script", ["extension.js", "test/client.test.js"])
def test_javascript_parses(node, script):
    done = subprocess.run([node, "--check", str(VSCODE / script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_client_behaviour(node):
    # extension.js against fakes of `vscode` and `vscode-languageclient/node` (no npm needed).
    done = subprocess.run([node, "--test", "test/client.test.js"], cwd=VSCODE,
                          capture_output=True, text=True, timeout=120)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert re.search(r"^# pass ([1-9]\d*)$", out, re.M) and re.search(r"^# fail 0$", out, re.M), out


def test_the_vsix_is_clean():
    """What `vsce package` puts in the VSIX (docs/editors.md): a LICENSE and a repository in the
    manifest; the tests and the grammar's generator left out by .vscodeignore."""
    m = manifest()
    assert m["license"] == "Apache-2.0"
    assert (VSCODE / "LICENSE").read_text().lstrip().startswith("Apache License")
    assert m["repository"]["type"] == "git" and m["repository"]["url"] and m["repository"]["directory"] == "editors/vscode"
    assert (VSCODE / "README.md").is_file()
    ignored = [line.strip() for line in (VSCODE / ".vscodeignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    assert {"test/**", "syntaxes/build_grammar.py", "node_modules/.bin/**"} <= set(ignored)
    for kept in (m["main"], m["contributes"]["languages"][0]["configuration"], m["contributes"]["grammars"][0]["path"]):
        assert not any(kept.lstrip("./").startswith(p.rstrip("*").rstrip("/")) for p in ignored if p.endswith("**")), kept
