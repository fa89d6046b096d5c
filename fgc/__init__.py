"""fgc: the Forgather compiler.

The pipeline (see docs/architecture.md): load -> parse templates -> template pass -> render
(with a source map) -> config parse -> semantic passes -> codegen -> build directory.
"""

__version__ = "0.1.0"
