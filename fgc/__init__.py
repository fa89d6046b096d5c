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


def from_project(project_dir, config_template=None, targets="", pp_debug=False, pp_kwargs=None, **config_kwargs):
    """Construct targets of another project's config, compiled on the fly. See fgc.api.from_project."""
    from .api import from_project as _from_project

    return _from_project(project_dir, config_template, targets, pp_debug, pp_kwargs, **config_kwargs)
