"""Write a stand-alone model package: `modeling.py` plus every module it imports relatively.

A model package is a flat directory of Python files that import each other with single-dot
relative imports (`from .causal_lm import CausalLM`) and otherwise only the standard library,
torch and transformers. `fgc compile` writes one as `build/model/`; `export.save_model` copies
one next to the weights, where `transformers` loads it with `trust_remote_code=True`.
"""

import ast
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

BLOCKS_DIR = Path(__file__).resolve().parent  # forgather/ml/models: the portable blocks
ALWAYS = ("hf_causal",)  # the wrapper base every modeling.py builds on


class PackageError(Exception):
    """A model package cannot be assembled; the message says which file and why."""


def relative_imports(source: str, filename: str) -> list[str]:
    """Names of the sibling modules that `source` imports relatively (`from .x import y`,
    `from . import x`)."""
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as err:
        raise PackageError(
            f"{filename}:{err.lineno}: syntax error: {err.msg}"
        ) from None
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            if node.level > 1 or (node.module and "." in node.module):
                dots = "." * node.level
                raise PackageError(
                    f"{filename}:{node.lineno}: 'from {dots}{node.module or ''} import ...' leaves the flat model "
                    "package; only single-dot imports of sibling modules are portable"
                )
            names.extend(
                [node.module] if node.module else [alias.name for alias in node.names]
            )
    return names


def import_closure(
    source: str,
    filename: str,
    *,
    directory: Path | None = None,
    search: Iterable[Path] = (),
    always: Iterable[str] = (),
) -> dict[str, Path]:
    """The files of every module that `source` imports relatively, transitively, by module name.

    A module `x` is looked for next to the file that imports it (`directory` for `source`
    itself), then among `search` (paths of user modules, e.g. `walsh_pe.py` next to a template),
    then among the portable blocks.
    """
    user = {}
    for path in map(Path, search):
        if not path.is_file():
            raise PackageError(f"module file not found: {path}")
        user[path.stem] = path.resolve()
    found: dict[str, Path] = {}
    pending = [
        (name, filename, directory)
        for name in [*relative_imports(source, filename), *always]
    ]
    while pending:
        name, importer, importer_dir = pending.pop()
        candidates = [importer_dir / f"{name}.py"] if importer_dir else []
        candidates += [user[name]] if name in user else []
        candidates.append(BLOCKS_DIR / f"{name}.py")
        path = next((p.resolve() for p in candidates if p.is_file()), None)
        if path is None:
            raise PackageError(
                f"{importer}: imports .{name}, but there is no {name}.py next to it, among the given modules, "
                f"or among the blocks in {BLOCKS_DIR}"
            )
        if name in found:
            if found[name] != path:
                raise PackageError(
                    f"two different modules named {name}.py: {found[name]} and {path}; rename one"
                )
            continue
        found[name] = path
        text = path.read_text(encoding="utf-8")
        pending += [
            (sub, str(path), path.parent) for sub in relative_imports(text, str(path))
        ]
    for name, path in user.items():
        if name not in found:
            found[name] = (
                path  # given explicitly: copy it even if nothing imports it yet
            )
    return found


@contextmanager
def atomic_directory(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary directory next to `dest`; on success it replaces `dest` (an old
    `dest` is moved aside first and removed after), on error it is removed."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = dest.with_name(f".{dest.name}.old-{uuid.uuid4().hex[:8]}")
    if dest.exists():
        dest.rename(old)
    tmp.rename(dest)
    shutil.rmtree(old, ignore_errors=True)


def write_model_package(
    out_dir: str | os.PathLike,
    modeling_source: str,
    modules: Iterable[str | os.PathLike] = (),
) -> Path:
    """Write `out_dir/` = `__init__.py`, `modeling.py` (= `modeling_source`), `hf_causal.py` and a
    copy of every module in the relative-import closure: portable blocks by name, and the user
    modules listed in `modules` (paths). Written atomically. Returns `out_dir`."""
    files = import_closure(
        modeling_source, "modeling.py", search=[Path(m) for m in modules], always=ALWAYS
    )
    if "modeling" in files:
        raise PackageError(
            "a module named modeling.py would clash with the generated modeling.py; rename it"
        )
    with atomic_directory(out_dir) as tmp:
        (tmp / "__init__.py").write_text("", encoding="utf-8")
        (tmp / "modeling.py").write_text(modeling_source, encoding="utf-8")
        for name, path in files.items():
            shutil.copyfile(path, tmp / f"{name}.py")
    return Path(out_dir)
