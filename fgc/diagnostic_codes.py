"""Every diagnostic code fgc reports, with its severity and meaning in one line: the one registry.

A code is written where it is reported (`error("FG0620", ...)`), and listed here once, one entry
per line, in code order. The severity is the meaning's first word: a meaning that starts with
"warning:" is a warning's, one that starts with "note" a note's, any other an error's (one that
says "warning:" later, FG0518, is an error's and a warning's). `REGISTRY` holds the entries as
data (`Code`); docs/diagnostics.md's tables are generated from it:

    python -m fgc.diagnostic_codes docs/diagnostics.md

rewrites each table that follows a `<!-- codes FG01 FG02 -->` line (the codes of those
hundreds) and leaves the prose around them as written. tests/architecture/
test_diagnostic_codes.py checks that the doc is current, that every `FGxxxx` written in fgc/ is
here, that every code here is reported somewhere, and that each is reported with its severity.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

CODES: dict[str, str] = {
    # FG00xx  command line and internal
    "FG0001": "bad command line (exit code 2): unknown flag, missing FILE, malformed `-D`/`--set`, an unknown `--set` variable, a `--set` value whose type does not match the variable's default (`--set max_steps=abc` for a default of 60: an int default takes an int, a float default an int or a float, a bool default `true`/`false`, a string default a string (quote a number: `--set \"name='2024'\"`), a null, list, mapping or config-built default anything)",
    "FG0002": "internal error: an exception in fgc itself (exit code 3), never bad input",
    "FG0010": "an `--override` VALUE `*name` that names no anchor or named node of the config (a VALUE that is not a config value gets the config parser's own diagnostics, at `<command line>:N:col`)",
    "FG0011": "an `--override KEY.PATH=VALUE` whose path names no place in the config: an unknown target or named node, an argument, key or index that is not there (an override may add a keyword argument to a call, not a key to a plain mapping), with the nearest keys (`fgc explain` says the same in a one-line error, exit code 2)",
    "FG0012": "an `--override` of a named node as a whole (`--override optimizer=...`): override one of its arguments or the place that uses it",
    "FG0013": "`fgc run`: a launch option (`--nnodes`, `--node-rank`, `--master-addr`, `--master-port`, `--stop-timeout`, `--torchrun-arg`) without `--nproc`: it would change nothing for a single process (exit code 2)",
    "FG0014": "`fgc run`: a job option (`--partition`, `--time-min`, `--gpus-per-node`, `--cpus-per-task`, `--mem-gb`, `--signal-delay`, `--wait`) without `--launcher` (exit code 2)",
    # FG01xx  loading and template syntax
    "FG0100": "warning: a `-I` search-path entry is not a directory",
    "FG0101": "unterminated `{{`, `{%` or `{#` (nothing closes it, or only a closer after other Jinja on a later line)",
    "FG0102": "empty line statement or expression (`-- ` or `== ` with nothing after it)",
    "FG0103": "a `[name]` block header whose name is not an identifier",
    "FG0104": "a private-use character U+F0000..U+10FFFD (reserved for the source map's line markers)",
    "FG0105": "a sub-template name defined twice in one file",
    "FG0106": "warning: a line that looks like a sub-template split but is not one (`##--- x ---`, a bad name, line 1)",
    "FG0107": "a template name with `..` (names are relative to the search path)",
    "FG0108": "warning: a sub-template name already defined by another file of the compilation (this one is ignored)",
    "FG0109": "a template file that cannot be read (I/O error, not UTF-8)",
    "FG0110": "Jinja syntax error (jinja2's message, at the token where its parser stopped)",
    "FG0111": "unbalanced statements: `endif` without `if`, a statement never closed, `endfor` closing an `if`, `else` outside `if`/`for`, `endblock b` closing block `a`",
    "FG0112": "a Jinja statement that crosses the end of a TOML-style block (opened inside, closed after the block ended, or the reverse)",
    "FG0113": "a block defined twice in one template",
    # FG02xx  template pass (inheritance)
    "FG0201": "missing template (`extends`, `include`, `import`, `from`), with the search path and a did-you-mean; warning: an `include`, `import` or `from` in a block that is never rendered (overridden without `super()` wherever it is rendered, or a block that overrides nothing), which jinja2 and the reference never load",
    "FG0202": "cyclic `extends`",
    "FG0203": "warning: a block that overrides nothing in its parents (its content is never rendered), with a did-you-mean",
    "FG0204": "`super()` outside a block",
    "FG0205": "a `required` block that the rendered template (the input, or an included template) does not override",
    "FG0206": "`super()` in a block that no parent template defines, where the block is rendered (in a template that extends none, or inside a rendered block); in a block that is never rendered it is a note of the block's FG0203, as the reference renders it",
    "FG0207": "warning: a knob replaced by an ancestor: an unconditional top-level `set` (outside blocks, macros, loops and `if`, its value not reading the name) replaces the value a child template's `set` or a `-D` gave; the child's `set` is a note, a `-D` a note without a position; the fix is `-- set x = x \\| default(value)` (`fgc/inheritance/knobs.py`)",
    "FG0208": "warning: a knob that nothing reads: a top-level `set` or a `-D` of a name that no template of the compilation loads (a misspelt knob: `-- set hiden_size = 64`), with a did-you-mean over the names the templates read; names starting with `_` and `namespace()`s are not knobs (`fgc/render/knob_reads.py`)",
    # FG03xx  rendering (Jinja)
    "FG0301": "undefined variable or attribute while rendering (with a did-you-mean, or how to set it with `-D`)",
    "FG0302": "template not found while rendering (a dynamic `extends`/`include`/`import`)",
    "FG0303": "unknown filter or test",
    "FG0304": "an operation the sandbox refuses (`__class__`, ...)",
    "FG0305": "any other error raised while rendering (its type and message): division by zero, a type error in a global, endless recursion, assigning to a namespace that does not exist yet",
    "FG0306": "a required block rendered without an override (the runtime form of FG0205)",
    # FG04xx  config syntax (YAML layer); named constants in fgc/syntax/config_codes.py
    "FG0401": "syntax error: the token found does not fit here (the message says what was expected)",
    "FG0402": "bad indentation of a mapping entry or sequence entry",
    "FG0403": "a tab character in indentation (YAML indents with spaces only)",
    "FG0404": "unterminated single- or double-quoted scalar",
    "FG0405": "unterminated flow sequence `[` or flow mapping `{`",
    "FG0406": "invalid escape sequence in a double-quoted scalar",
    "FG0407": "unknown tag: not a Forgather tag (`!call`, `!partial`, ...) nor a standard `!!` tag",
    "FG0408": "YAML feature that fgc does not support (`?` keys, several documents, directives, verbatim or named-handle tags, `!!binary`/`!!timestamp`/`!!set`/`!!python/...`)",
    "FG0409": "a value that its standard tag cannot read (`!!int abc`, `!!map` on a scalar)",
    "FG0410": "invalid anchor or alias name",
    "FG0411": "a character that cannot appear here (control character, `@` or a backtick starting a scalar, `,` outside a flow collection, ...)",
    "FG0412": "a mapping key without `:`, spanning lines, or a block mapping starting on its parent key's line",
    "FG0413": "invalid block scalar header (chomping `+`/`-`, indentation 1-9) or content indentation",
    "FG0414": "malformed Forgather tag (empty `@name`, `!var` with a spec, ...)",
    "FG0415": "warning: a `#` comment not preceded by whitespace",
    "FG0420": "warning: YAML 1.1 (the reference) reads this plain scalar differently from YAML 1.2",
    # FG05xx  semantic passes
    "FG0501": 'undefined alias `*x` (did-you-mean; when the anchor exists further down: "an anchor must come before its aliases")',
    "FG0502": "duplicate anchor `&x` (the first one as related information)",
    "FG0503": "an alias inside its own anchor: the value would contain itself",
    "FG0504": "a merge key `<<` whose value is not a mapping (or a sequence of mappings)",
    "FG0505": "note, only with `override_notes=True` (tools): a key written more than once, each overridden entry as related information",
    "FG0506": "the top level is not a mapping of targets",
    "FG0508": "`!dlist` whose body is not a labelled mapping",
    "FG0509": "`args:` that is not a sequence, `kwargs:` that is not a mapping",
    "FG0510": "a mapping key that is not a string (`1:`, `null:`); `!dlist` labels may be any scalar",
    "FG0511": "two `argN` keys for the same position (`arg1`, `arg01`)",
    "FG0512": "a malformed `!var` (no name, a key other than `name`/`default`, a callable spec)",
    "FG0513": "a variable name that is not a Python identifier (it becomes a keyword of `construct()`)",
    "FG0514": "one variable with two different defaults",
    "FG0515": "two different nodes with the same `@name`",
    "FG0516": "warning: a `!meta` node (kept in the graph, never executed)",
    "FG0517": "a callable tag without a callable (`!singleton` alone)",
    "FG0518": "a container tag with the wrong body (`!list {..}`, `!dict [..]`); warning: a container tag with a callable spec",
    "FG0519": "`submodule_searchpath` that is not a list of directories, `latent_args` that is not a mapping",
    "FG0520": "a config nested more than 150 levels deep",
    "FG0521": "a value that expands to more than 1,000,000 values through aliases",
    "FG0522": "warning: a knob whose value never reaches the config: every template line that reads it renders a key that a later duplicate key overrides (a constant such as `lr: 3.0e-3` after `== super()`), or is not rendered at all (a replaced block, an `if` branch that did not run); at the `set` that gave the value (or the `-D`, without a position), the reading line and the winning key as notes (`fgc/passes/knob_use.py`)",
    "FG0523": "warning: a key that leaves its block: written in a block after `== super()` or an `include`, at a column less indented than the keys of the mapping the content ends with, so that it becomes a sibling of that content (a new top-level target `lr`) instead of one of its keys; reported when that mapping has a key of the same name, or when the key is a plain value at the top level, never for a key written again at its own level or a `.define` (`fgc/passes/block_keys.py`)",
    "FG0540": "warning: a top-level `.define:` (or other `.name:`) entry that nothing uses: no alias refers to an anchor in it, so its value is not part of the config (it is still checked: its callable, arguments and values)",
    "FG0541": "Jinja statements nested deeper than the Python code jinja2 compiles them to allows (more than 20 nested `for` loops, about 100 levels of `if`), or more than 100 deep (refused before jinja2's recursive parser sees them); at the most deeply nested statement",
    "FG0542": "note (language server): a library template that no experiment of the workspace uses, checked for its syntax only",
    # FG06xx  imports and signatures
    "FG0600": "a malformed callable spec (`a:b:c`, an unknown builtin such as `lenn`)",
    "FG0601": "module or file not found (did-you-mean from the package's submodules, the directory's files)",
    "FG0602": "importing the module raised (its exception type and message)",
    "FG0603": "the module has no such attribute (did-you-mean from its names)",
    "FG0604": "the spec names something that is not callable (`math:pi`)",
    "FG0605": "warning: a dotted spec without `:` that is not a builtin (`torch.nn.SiLU`, as the reference's projects write them): read as `module:Name` at the longest prefix that is a module, naming that form",
    "FG0610": "missing required argument (not for `!partial`), at the tag",
    "FG0611": "unknown keyword argument, at the key, with a did-you-mean from the parameter names",
    "FG0612": "too many positional arguments, at the first extra one",
    "FG0613": "a parameter given both positionally and by keyword",
    "FG0614": "a positional-only parameter given by keyword",
    "FG0615": "note: the arguments of a wrapper that takes `(*args, **kwargs)` (`functools.wraps`, transformers' strict configs) are not checked, since what runs inside it cannot be known; the note says what the wrapped function's signature would reject (a call binds to the outermost function's own parameters: transformers' Auto classes' `from_config(config, **kwargs)` is checked against those)",
    "FG0620": "a literal value that the annotation of the parameter it reaches rejects, at the value (or the failing item), naming the parameter and the callable: `int`, `float` (an int is fine), `str`, `bool` (never an int), `None`/`Optional`, `Union`, `Literal`, sequences (`list[int]`, `tuple[float, float]`, `Sequence[str]`; a YAML list, `!list`, `!tuple` and `!dlist` are all sequences) and mappings of those. A `!var` is checked through its default; a `!var` inside a `dynamic_causal_lm` `definition` through the node's hyper-parameter of the same name, reported at the hyper-parameter (`num_hidden_layers: two` at the child's line). Annotations that decide nothing pass: `Any`, classes, forward references that cannot be evaluated (string annotations are evaluated with `typing.get_type_hints`, else one by one with only the syntax of types), and tagged values whose type is unknown (`!singleton`, `!partial`)",
    "FG0630": "an argument that the receiving callable declares it does not implement (its `FGC_UNSUPPORTED_ARGUMENTS`), with a value other than the one it behaves as: a `transformers:TrainingArguments` field that forgather's Trainer does not implement (`optim: adafactor_8bit`), at the field's line",
    "FG0631": "warning: such an argument written with the value the receiver behaves as anyway: the line changes nothing",
    # FG07xx  codegen, build directory and run
    "FG0701": "`fgc compile -o DIR`: DIR exists, is not empty and is not an fgc build and nothing else (a run directory, or a build with other files: never replaced)",
    "FG0702": "the build directory cannot be written (permissions, disk full): the message of the OS error",
    "FG0703": "not an fgc build (no or unreadable `fgc-manifest.json`)",
    "FG0704": "the build's files no longer match its manifest (`fgc run` and `fgc.load` refuse it without `--force`)",
    "FG0705": "warning: running a modified build with `--force`",
    "FG0706": "`fgc run`: the run directory cannot be used (`--output-dir` holding a run without `--resume`, or other files; `--resume` without a run, a checkpoint, or with another build)",
    "FG0708": "`fgc run --nproc N`: the build's trainer runs in a single process",
    "FG0709": "warning: `fgc compile RUN_OR_BUILD_DIR`: saved files from outside the input's directory, `-I` and stdlib cannot be found again",
    "FG0710": "`fgc run`: building or running the target raised. In the user's own module (a local module copied into `modules/` or `model/`): at the original file and line when it is unchanged since `fgc compile` (sha256 in the manifest), the build's copy as a note (or as the position, with a help line, once the original changed). Otherwise at the origin of the value that caused it (`fgc/cli/value_origins.py`): the failing object is the node being built, or, for an error raised later (a forward, a callback, a collator), the innermost object of the traceback that the config built; the arguments the message names (keyword or value), else those given on the command line, are followed back to `--set`, `-D`, the knob's `-- set` line or the key; with none, at the tag that built the object, the arguments the user's templates wrote as notes. The innermost Python frames are notes",
    "FG0720": "a `dynamic_causal_lm` node that is not a singleton/factory or has no `definition: !partial:...`",
    "FG0721": "a model hyper-parameter (`!var` inside `definition`) with no value: neither a keyword of the node nor a default",
    "FG0722": "warning: a keyword of a `dynamic_causal_lm` node that no `!var` of its `definition` uses (kept in config.json, changes nothing; usually a misspelt hyper-parameter), with a did-you-mean",
    "FG0723": "something in a model definition that cannot go into the portable model package (a non-block forgather module, `!meta`, `latent_args` from a node)",
    "FG0724": "the model package cannot be written (e.g. two modules with the same name)",
    "FG0730": "`fgc run`: the run directory cannot be made or written (`--output-dir` or the runs root `output_dir` under a file, without permission, on a read-only or special file system such as `/proc`): the reason in words (exit code 2)",
    "FG0731": "warning: `fgc run --nproc` on a node > 0 given a `--set` value that differs from the run's (node 0's record): every node runs with the run's values, the node's own changes nothing",
    "FG0732": "warning: `fgc run BUILD`: the build's sources (templates, local modules) changed since `fgc compile`; it runs as it was compiled (recompile to run the new text)",
    "FG0734": "`fgc ctl`: the run cannot take the request (not a run directory, not running, its process gone), or it ended before it answered",
    "FG0736": "`fgc run --nproc`: a process of the job failed without an error of its own to show (killed by a signal, or torchrun failed): the rank, pid, host and signal or exit status (a process that raised is reported with its own FG0710, once for the job)",
    "FG0737": "`fgc run --launcher`: the job cannot be submitted (submitit not installed, no SLURM `srun`, the scheduler refused it)",
    # FG08xx  projects and from_project
    "FG0801": "no project: no `meta.yaml` in the directory given or a directory above it",
    "FG0802": "the project is in no workspace: no `forgather_workspace/` directory in it or above it",
    "FG0803": "a meta.yaml key of the wrong type (`searchdir` not a list of strings; `config_prefix`, `default_config`, `name`, `description`, `system_path` not strings), at the key",
    "FG0804": "no such config: `-t CONFIG` (without a position), or meta.yaml's `default_config` (at its line); the project's configs listed, with a did-you-mean",
    "FG0805": "the project has no configs under `<searchdir>/<config_prefix>/`",
    "FG0806": "a malformed `dynamic_args` entry (no option `names`, an unknown `type` or `action`)",
    "FG0807": "a `from_project` that cannot be linked: a malformed argument (at it), a linked project or config that cannot be loaded or has errors (at the node, the linked config's first error as related information, its diagnostics at their own positions), a target the linked config does not have",
    "FG0808": "warning: a `from_project` with an argument known only when the config is built (a `!var`, a node): linked at run time by `fgc.from_project`, so the build needs fgc and the project where it runs",
    "FG0809": "a `from_project` that links a project into itself, directly or through other projects (the chain named)",
}


@dataclass(frozen=True)
class Code:
    code: str
    severities: tuple[str, ...]  # ("error",), ("warning",), ("note",) or ("error", "warning")
    meaning: str  # as registered, its severity word included

    @property
    def severity(self) -> str:
        return ", ".join(self.severities)


def _code(code: str, meaning: str) -> Code:
    if meaning.startswith("warning:"):
        return Code(code, ("warning",), meaning)
    if meaning.startswith("note"):
        return Code(code, ("note",), meaning)
    return Code(code, ("error", "warning") if "warning:" in meaning else ("error",), meaning)


REGISTRY: dict[str, Code] = {code: _code(code, meaning) for code, meaning in CODES.items()}

# The docs' tables: a marker line, then the table it owns (up to the first line that is not a row).
_TABLE = re.compile(r"^(<!-- codes ((?:FG\d\d ?)+) -->\n)(?:\|.*\n)*", re.M)


def table(hundreds: list[str]) -> str:
    """The markdown table of the registered codes that start with one of `hundreds` ("FG04")."""
    rows = [f"| `{c.code}` | {c.meaning} |" for c in REGISTRY.values() if c.code[:4] in hundreds]
    return "\n".join(["| code | meaning |", "|---|---|", *rows]) + "\n"


def document(doc: str) -> str:
    """`doc` (docs/diagnostics.md) with every generated table rewritten from the registry."""
    covered: list[str] = []

    def rewrite(m: re.Match[str]) -> str:
        hundreds = m.group(2).split()
        covered.extend(hundreds)
        return m.group(1) + table(hundreds)

    out = _TABLE.sub(rewrite, doc)
    missing = sorted({c[:4] for c in REGISTRY} - set(covered))
    if missing:
        raise ValueError(f"no `<!-- codes ... -->` table for the codes {', '.join(h + 'xx' for h in missing)}")
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m fgc.diagnostic_codes docs/diagnostics.md")
    path = Path(sys.argv[1])
    path.write_text(document(path.read_text(encoding="utf-8")), encoding="utf-8")
