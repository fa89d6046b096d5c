"""Files that the compiler (`fgc`) and the runtime (`forgather`) both write, in one place.

Neither layer may import the other (the compiler never loads the runtime; a build runs where fgc
is not installed), so what both need lives here, importing only the standard library:

    atomic          replace a file or directory so that a reader sees the old or the new one,
                    never a half-written one
    model_package   the files of a portable model package: `modeling.py` and the closure of its
                    single-dot relative imports
"""
