"""fgc: the Forgather compiler.

The pipeline (see docs/architecture.md): parse templates -> load -> template pass -> render
(with a source map) -> config parse -> semantic passes -> imports -> codegen -> build directory.
"""

from .version import __version__


def check(path, include_dirs=(), variables=None, import_modules=True):
    """Diagnostics of `path` (a list; empty when clean). See fgc.api.check."""
    from .api import check as _check

    return _check(path, include_dirs, variables, import_modules)


def compile(path, out_dir, include_dirs=(), variables=None, import_modules=True):
    """Compile `path` into the build directory `out_dir`. See fgc.api.compile."""
    from .api import compile as _compile

    return _compile(path, out_dir, include_dirs, variables, import_modules)


def load(build_dir, force=False):
    """The compiled module of a build (`construct`, `TARGETS`, `VARIABLES`). See fgc.api.load."""
    from .api import load as _load

    return _load(build_dir, force)
