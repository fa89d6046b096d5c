"""docs/stdlib.md is what docs/make_stdlib_md.py writes from the templates: a template, block or
knob added, renamed or removed without regenerating it fails here."""

from __future__ import annotations

import subprocess
import sys

from examples_testlib import REPO

GENERATOR = REPO / "docs" / "make_stdlib_md.py"


def test_stdlib_md_is_in_sync():
    done = subprocess.run([sys.executable, GENERATOR, "--check"], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr


def test_stdlib_md_documents_every_template_block_and_knob():
    text = generator().render()
    from fgc import resources

    stdlib = resources.stdlib_dir()
    for path in stdlib.rglob("*.fg"):
        assert f"\n## {path.relative_to(stdlib).as_posix()}\n" in text
    llama = text.split("\n## models/llama.fg\n")[1].split("\n## ")[0]
    assert "`[rotary_hyperparameters]` (in `[hyperparameters]`)" in llama and "extends `models/causal_lm.fg`" in llama
    script = text.split("\n## scripts/causal_lm.fg\n")[1].split("\n## ")[0]
    for knob in ("`hidden_size` (512)", "`max_steps` (1000)", "`sample_prompt` (None)"):
        assert knob in script, knob
    assert "`gradient_accumulation_steps` (1)" in text.split("\n## trainers/trainer.fg\n")[1]
    assert "`lr` (1.0e-3)" in text.split("\n## optimizers/adamw.fg\n")[1].split("\n## ")[0]


def generator():
    sys.path.insert(0, str(GENERATOR.parent))
    try:
        import make_stdlib_md
    finally:
        sys.path.pop(0)
    return make_stdlib_md


def test_a_changed_template_makes_the_doc_stale(tmp_path, monkeypatch):
    """The generator reads what a template says now: a knob's new default, a new knob and a new
    block change its section, and `--check` then refuses the old doc."""
    make_stdlib_md = generator()
    from fgc import resources

    stdlib = tmp_path / "stdlib"
    (stdlib / "optimizers").mkdir(parents=True)
    original = (resources.stdlib_dir() / "optimizers" / "sgd.fg").read_text()
    (stdlib / "optimizers" / "sgd.fg").write_text(original)
    before = "\n".join(make_stdlib_md.section(stdlib, stdlib / "optimizers" / "sgd.fg"))
    assert "`lr` (1.0e-2)" in before and before in make_stdlib_md.render()
    changed = original.replace("toyaml(1.0e-2)", "toyaml(5.0e-2)").replace(
        "    momentum: 0.9", "    momentum: !var { name: momentum, default: {{ momentum | toyaml(0.8) }} }")
    (stdlib / "optimizers" / "sgd.fg").write_text(changed + "-- block extra\n-- endblock extra\n")
    after = "\n".join(make_stdlib_md.section(stdlib, stdlib / "optimizers" / "sgd.fg"))
    assert "`lr` (5.0e-2), `momentum` (0.8)" in after and "blocks `[extra]`" in after
    stale = tmp_path / "stdlib.md"
    stale.write_text(make_stdlib_md.render().replace(before, after))
    monkeypatch.setattr(make_stdlib_md, "DOC", stale)
    assert make_stdlib_md.main(["--check"]) == 1
    stale.write_text(make_stdlib_md.render())
    assert make_stdlib_md.main(["--check"]) == 0
