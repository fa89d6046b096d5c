"""Template resolution for one compilation.

The search path is the input file's directory, then each `-I DIR` in order, then the template
standard library (`fgc.resources.stdlib_dir()`). Template names are `/`-separated paths relative
to a search root (as with jinja2's FileSystemLoader), never relative to the referencing template;
a `..` segment is rejected. `.fg` is the canonical extension and `.yaml` files of the reference
dialect are read as they are (the name always includes the extension).

A file is split into its main template and its sub-templates (`#--- name ---`); loading a file
registers its sub-templates by name in this compilation's registry, which is consulted before
the file system. The registry lives and dies with the `Loader`, and two files with the same
basename are two templates. A sub-template keeps the line numbers of its containing file. What is
kept across processes is only the parse of a text (`parse_kept`): the same text at the same path,
parsed by the same fgc, gives the same tree.

Diagnostics (FG01xx):
    FG0107  a template name with `..`, or otherwise not a relative path
    FG0108  a sub-template name defined again by another file (the first one loaded is used;
            files load in the order the template pass meets them, the input first; warning)
    FG0109  a template file that cannot be read (I/O error, not UTF-8)
    FG0100  a search-path entry that is not a directory (warning)
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from forgather_files.runs import MANIFEST, RUN_RECORD

from .cache_dir import kept
from .diagnostics import Diagnostic, Related, Span, error, warning
from .syntax.template_ast import Chunk, SubTemplate, Template

_CANDIDATE_LIMIT = 20000  # files listed per search root for did-you-mean
_SKIP_DIRS = {".git", "__pycache__", ".venv", "node_modules", ".hg", ".svn"}


ParseFn = Callable[[str, str, str], "tuple[Template, list[Diagnostic]]"]  # (text, path, name)


def read_disk_text(path: str) -> str:
    """A template file's text (UTF-8; raises OSError or UnicodeDecodeError)."""
    return Path(path).read_bytes().decode("utf-8")


def parse_unchecked(text: str, path: str, name: str) -> tuple[Template, list[Diagnostic]]:
    """Stage 1 as the loader runs it: Jinja bodies are checked later, once lowered."""
    from .syntax.template_parser import parse_template  # Lark: imported only when parsing

    return parse_template(text, path, name, check_jinja=False)


@functools.cache
def fgc_stamp() -> bytes:
    """What this fgc's parse depends on: every module of the package, by path, size and time
    (an edited or upgraded fgc parses anew)."""
    h = hashlib.sha256(b"parse-v2")
    package = Path(__file__).resolve().parent
    for root, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                st = os.stat(os.path.join(root, name))
                h.update(f"{root}/{name}:{st.st_size}:{st.st_mtime_ns}\0".encode())
    return h.digest()


def parse_kept(text: str, path: str, name: str) -> tuple[Template, list[Diagnostic]]:
    """`parse_unchecked`, its result kept on disk (`<cache dir>/parses/`) between processes: a
    command-line run parses only the templates whose text changed (the trees are plain data;
    the key is the text, its path and name, and this fgc's modules). An unreadable entry is a
    miss."""
    h = hashlib.sha256(fgc_stamp())
    for part in (path, name, text):
        h.update(part.encode("utf-8", "surrogatepass") + b"\0")
    template, diags = kept(
        "parses",
        h.hexdigest(),
        lambda: parse_unchecked(text, path, name),
        accept=lambda v: isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], Template),
    )
    return template, list(diags)


class ParseCache:
    """Parsed templates by (path, name), reused while the text is the same (its hash): a base
    template that fifty configs read (`fgc check PROJECT --all`), or that every keystroke of an
    editor re-checks (fgc/workspace), is parsed once. One version per (path, name), since an
    edit replaces it, and at most `limit` entries, the least recently used dropped first. The
    trees are never mutated after parsing (every later stage only reads them), so sharing them
    is safe; each caller gets its own copy of the diagnostics list. Not thread-safe: one
    compilation at a time uses it (the language server's worker)."""

    def __init__(self, parse: ParseFn = parse_unchecked, limit: int = 1024) -> None:
        self._parse = parse
        self._limit = limit
        self._entries: dict[tuple[str, str], tuple[bytes, Template, list[Diagnostic]]] = {}
        self.hits = 0
        self.misses = 0

    def __call__(self, text: str, path: str, name: str) -> tuple[Template, list[Diagnostic]]:
        import hashlib

        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        key = (path, name)
        entry = self._entries.pop(key, None)  # re-inserted last: the most recently used
        if entry is not None and entry[0] == digest:
            self.hits += 1
        else:
            self.misses += 1
            template, diags = self._parse(text, path, name)
            entry = (digest, template, list(diags))
        self._entries[key] = entry
        while len(self._entries) > self._limit:
            del self._entries[next(iter(self._entries))]
        return entry[1], list(entry[2])

    def __len__(self) -> int:
        return len(self._entries)

    def forget(self, path: str) -> None:
        for key in [k for k in self._entries if k[0] == path]:
            del self._entries[key]


@dataclass(frozen=True)
class TemplateSource:
    """Where the loader's text and parse trees come from. The default reads the disk and parses
    every time; a long-lived workspace (fgc/workspace) passes one that answers with an editor's
    unsaved text for open files and from a parse cache keyed by the text's hash."""

    read_text: Callable[[str], str] = read_disk_text  # abs path -> text; OSError/UnicodeDecodeError
    parse: ParseFn = parse_unchecked
    # Search-path lookups, through the source so that fgc/result_cache can record them
    is_file: Callable[[str], bool] = os.path.isfile
    list_files: Callable[[Path], list[str]] = lambda root: list_template_files(root)


DISK = TemplateSource(parse=parse_kept)


class BadName(ValueError):
    """A template name that is not a relative `/`-path."""


def normalize_name(name: str) -> str:
    """`./a//b.fg` -> `a/b.fg`; raises BadName on `..` or a backslash (as jinja2 does)."""
    pieces = []
    for piece in name.split("/"):
        if piece == "..":
            raise BadName(f"template names are relative to the search path; `..` is not allowed in `{name}`")
        if "\\" in piece or "\0" in piece:
            raise BadName(f"`{name}` is not a template name (use `/` between directories)")
        if piece and piece != ".":
            pieces.append(piece)
    if not pieces:
        raise BadName(f"`{name}` is not a template name")
    return "/".join(pieces)


@dataclass(eq=False)
class LoadedFile:
    """One template file read in this compilation."""

    path: str  # absolute
    text: str  # with normalized line breaks
    template: Template
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    @property
    def line_count(self) -> int:
        return self.text.count("\n") + 1


@dataclass(eq=False)
class LoadedChunk:
    """A template as Jinja sees it: a file's main chunk or one of its sub-templates."""

    name: str
    file: LoadedFile
    chunk: Chunk

    @property
    def jinja_filename(self) -> str:
        """The name jinja2 reports in tracebacks: the file, `#sub` for a sub-template."""
        if self.chunk is self.file.template.main:
            return self.file.path
        return f"{self.file.path}#{self.chunk.name}"

    @property
    def is_subtemplate(self) -> bool:
        return self.chunk is not self.file.template.main


class Loader:
    """Finds, reads and parses templates for one compilation; the sub-template registry."""

    def __init__(self, search_path: list[Path], source: "TemplateSource | None" = None) -> None:
        self.search_path = [Path(p) for p in search_path]
        self.source = source or DISK
        self.files: dict[str, LoadedFile] = {}  # by absolute path
        self.subtemplates: dict[str, LoadedChunk] = {}
        self.by_name: dict[str, LoadedChunk] = {}  # names resolved so far
        self.by_filename: dict[str, LoadedChunk] = {}  # jinja filename -> chunk
        self.diagnostics: list[Diagnostic] = []
        self.unreadable: set[str] = set()  # names found on the path whose file could not be read

    # -- files ----------------------------------------------------------------------------------

    def load_root(self, path: Path) -> LoadedChunk | None:
        """Load the input file; its name is its path relative to its directory (the first root)."""
        name = path.name
        chunk = self._load_file(path, name)
        if chunk is not None:
            self.by_name[name] = chunk
        return chunk

    def _load_file(self, path: Path, name: str, where: Span | None = None) -> LoadedChunk | None:
        key = os.path.abspath(path)
        loaded = self.files.get(key)
        if loaded is None:
            try:
                text = self.source.read_text(key)
                if "\r" in text:
                    from .syntax.template_parser import normalize_newlines

                    text = normalize_newlines(text)
            except UnicodeDecodeError as e:
                self.diagnostics.append(
                    error("FG0109", f"cannot read template `{name}`: not UTF-8 text ({e.reason} at byte {e.start})", where)
                )
                return None
            except OSError as e:
                self.diagnostics.append(error("FG0109", f"cannot read template `{name}`: {e.strerror or e}", where))
                return None
            template, diags = self.source.parse(text, key, name)
            loaded = LoadedFile(key, text, template, diags)
            self.files[key] = loaded
            self.diagnostics.extend(diags)
            self._register_subtemplates(loaded)
        main = LoadedChunk(name, loaded, loaded.template.main)
        self.by_filename.setdefault(main.jinja_filename, main)
        return main

    def _register_subtemplates(self, loaded: LoadedFile) -> None:
        for sub in loaded.template.subtemplates:
            previous = self.subtemplates.get(sub.name)
            chunk = LoadedChunk(sub.name, loaded, sub)
            self.by_filename[chunk.jinja_filename] = chunk
            if previous is None:
                self.subtemplates[sub.name] = chunk
            elif previous.file is not loaded:
                assert isinstance(previous.chunk, SubTemplate)  # only sub-templates are registered
                self.diagnostics.append(
                    warning(
                        "FG0108",
                        f"sub-template `{sub.name}` is already defined in `{previous.file.template.name}`; "
                        "this definition is ignored",
                        sub.name_span,
                        related=(Related(previous.chunk.name_span, "the definition in use"),),
                    )
                )

    # -- names ----------------------------------------------------------------------------------

    def resolve(self, name: str, where: Span | None = None) -> LoadedChunk | None:
        """The template called `name`: a registered sub-template, else the first file on the
        search path; None when there is none. Raises BadName for names with `..`."""
        if name in self.by_name:
            return self.by_name[name]
        if name in self.subtemplates:
            chunk = self.subtemplates[name]
            self.by_name[name] = chunk
            return chunk
        norm = normalize_name(name)
        if norm in self.subtemplates:
            found = self.subtemplates[norm]
        else:
            path = self.find_file(norm)
            if path is None:
                return None
            loaded = self._load_file(path, norm, where)
            if loaded is None:
                self.unreadable.add(name)
                return None
            found = loaded
        self.by_name[name] = found
        return found

    def find_file(self, name: str) -> Path | None:
        for root in self.search_path:
            candidate = root / name
            if self.source.is_file(str(candidate)):
                return candidate
        return None

    def candidates(self) -> list[str]:
        """Every template name visible now (for did-you-mean): sub-templates and files."""
        names = set(self.subtemplates)
        for root in self.search_path:
            names.update(self.source.list_files(root))
        return sorted(names)

    def chunks(self) -> Iterator[LoadedChunk]:
        """Every loaded template (main chunks by their first name, and sub-templates)."""
        seen = set()
        for chunk in list(self.by_name.values()) + list(self.subtemplates.values()):
            if id(chunk.chunk) not in seen:
                seen.add(id(chunk.chunk))
                yield chunk

    def source_lines(self) -> dict[str, list[str]]:
        return {path: f.lines for path, f in self.files.items()}


# A directory holding one of these is fgc's output: a build (its `sources/` are copies), a run
# directory (its build snapshot), never the user's templates.
OUTPUT_MARKERS = (MANIFEST, RUN_RECORD)


def is_output_dir(path: Path) -> bool:
    """A build or run directory (it holds a manifest or a run record)."""
    return any((path / m).is_file() for m in OUTPUT_MARKERS)


def listed_dir(path: Path) -> bool:
    """Whether a listing of templates looks inside `path`: not a hidden, tool or output directory."""
    return path.name not in _SKIP_DIRS and not path.name.startswith(".") and not is_output_dir(path)


def list_template_files(root: Path) -> list[str]:
    """Every file under `root` as a template name (for did-you-mean; at most _CANDIDATE_LIMIT)."""
    out: list[str] = []
    if not root.is_dir():
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if listed_dir(Path(dirpath, d)))
        rel = os.path.relpath(dirpath, root)
        for f in sorted(filenames):
            out.append(f if rel == "." else f"{rel.replace(os.sep, '/')}/{f}")
            if len(out) >= _CANDIDATE_LIMIT:
                return out
    return out


@dataclass(frozen=True)
class SearchPath:
    """Where template names are looked up: the input's directory, each `-I DIR` in order, then
    the template stdlib. Computed once per compilation (`search_path`) and carried to the build's
    layout and manifest."""

    input_dir: Path
    include_dirs: tuple[Path, ...]
    stdlib: Path

    @property
    def roots(self) -> list[Path]:
        return [self.input_dir, *self.include_dirs, self.stdlib]


def search_path(input_file: str | Path, include_dirs: Sequence[str | Path] = ()) -> tuple[SearchPath, list[Diagnostic]]:
    """The search path of `input_file` with `include_dirs`; warnings for missing directories."""
    from .resources import stdlib_dir

    diags: list[Diagnostic] = []
    for d in include_dirs:
        if not Path(d).is_dir():
            diags.append(warning("FG0100", f"search path entry `{d}` is not a directory"))
    search = SearchPath(
        Path(os.path.abspath(input_file)).parent,
        tuple(Path(os.path.abspath(d)) for d in include_dirs),
        stdlib_dir(),
    )
    return search, diags
