"""Rendering never imports torch (nor transformers): the reference's `versions` global did."""

import subprocess
import sys
import textwrap


def test_render_does_not_import_torch(tmp_path):
    (tmp_path / "base.fg").write_text("-- set ns = namespace()\n[a]\n    x: {{ joinpath('a', 'b') }}\n")
    (tmp_path / "main.fg").write_text(
        "-- extends 'base.fg'\n[a]\n    == super()\n    t: {{ isotime() | length }}\n    y: {{ 1.5 | toyaml }}\n"
    )
    code = textwrap.dedent(
        f"""
        import sys
        from fgc.render import render_file
        result = render_file({str(tmp_path / 'main.fg')!r})
        assert result.text is not None and not result.diagnostics, result.diagnostics
        heavy = sorted(m for m in ("torch", "transformers", "accelerate") if m in sys.modules)
        print("HEAVY", heavy)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout
