"""The first lines of a script that must run without the project: importing forgather, fgc or a
test's model package (tinymodel) raises ImportError, so an exported model that still needs any
of them fails to load. Prepend it to the script's own text."""

BLOCKED = ("forgather", "fgc", "tinymodel")

WITHOUT_PROJECT = f"""\
import builtins
real_import = builtins.__import__
def guarded(name, *a, **k):
    if name.split('.')[0] in {BLOCKED!r}:
        raise ImportError('blocked: ' + name)
    return real_import(name, *a, **k)
builtins.__import__ = guarded
"""
