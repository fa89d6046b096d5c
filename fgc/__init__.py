"""fgc: the Forgather compiler.

The pipeline (see docs/architecture.md): parse templates -> load -> template pass -> render
(with a source map) -> config parse -> semantic passes -> imports -> codegen -> build directory.

The Python API (`fgc.check`, `fgc.compile`, `fgc.load`, `fgc.from_project`) lives in
`fgc/api.py`; it is imported on first use, so that `import fgc` (a generated config.py's
`from_project` fallback, the CLI's cached path) costs no compiler import.

"The reference", in comments and docs, is the public project jdinalt/forgather, whose dialect and
project layout fgc accepts (defined in docs/architecture.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .api import check, compile, from_project, load

_API = ("check", "compile", "load", "from_project")
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'fgc' has no attribute {name!r}")
