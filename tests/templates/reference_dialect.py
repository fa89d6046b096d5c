"""A test oracle: the reference implementation's text-rewriting template pipeline.

Written here from the specification of the reference dialect (its documentation and code):
the raw file is split into sub-templates with the reference's regular expression, each chunk is
preprocessed line by line with regular expressions (comments, trailing ` ##` cut, the five
line-statement prefixes), then the TOML block pass, then jinja2 renders it with the reference's
environment settings. fgc's implementation (a grammar, an AST, lowering with source markers) is
independent of this one; the conformance cases render with both and must agree except where a
case records the reference's different output (`--- expect reference`): the quirks fgc fixes.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
from jinja2.ext import Extension
from jinja2.sandbox import SandboxedEnvironment

from fgc.render.environment import GLOBALS

SPLIT = re.compile(r"\n#\s*-{3,}\s*([\w./]+)\s*-{3,}\n")
_COMMENT = re.compile(r"\s*##(.*)")
_TRAILING = re.compile(r"(.*)\s+#{2,}.*")
_STATEMENT = re.compile(r"\s*(--|<<|>>|==|=>)\s(.*)")
_HEADER = re.compile(r"^(\s*)\[(\w+)([!])*\]\s*$")
_FORMS = {
    "--": "{%% %s %%}",
    "<<": "{%%- %s %%}",
    ">>": "{%% %s -%%}",
    "==": "{{ %s }}",
    "=>": "{{ %s|trim('\\n')}}",
}


def preprocess(source: str) -> str:
    lines = []
    for line in re.split(r"\r\n|\r|\n", source):
        m = _COMMENT.fullmatch(line)
        if m:
            lines.append("{# " + m.group(1) + " #}")
            continue
        m = _TRAILING.fullmatch(line)
        if m:
            line = m.group(1)
        m = _STATEMENT.fullmatch(line)
        if m:
            line = _FORMS[m.group(1)] % m.group(2)
        lines.append(line)
    out: list[str] = []
    stack: list[tuple[str, int, bool]] = []

    def close(frame: tuple[str, int, bool]) -> None:
        name, _, trim = frame
        if out[-1]:
            out[-1] += "{{'\\n'}}"
        out[-1] += "{% endblock " + name + " +%}"
        if trim:
            out[-1] += "{% endfilter %}"

    for line in lines:
        m = _HEADER.match(line)
        if m:
            indent = len(m.group(1))
            while stack and stack[-1][1] >= indent:
                close(stack.pop())
            trim = bool(m.group(3))
            stack.append((m.group(2), indent, trim))
            line = ("{% filter trim %}" if trim else "") + "{% block " + m.group(2) + " %}"
        out.append(line)
    while stack:
        close(stack.pop())
    return "\n".join(out)


class _Preprocessor(Extension):
    def preprocess(self, source, name, filename=None):
        return preprocess(source)


class _Loader(jinja2.BaseLoader):
    """Search roots in order, after a registry of the sub-templates of files loaded so far."""

    def __init__(self, roots: list[Path]) -> None:
        self.roots = roots
        self.subtemplates: dict[str, str] = {}

    def get_source(self, environment, template):
        if template in self.subtemplates:
            return self.subtemplates[template], None, lambda: True
        pieces = jinja2.loaders.split_template_path(template)
        for root in self.roots:
            path = root.joinpath(*pieces)
            if path.is_file():
                text = path.read_text(encoding="utf-8")
                parts = SPLIT.split(text)
                for i in range(1, len(parts), 2):
                    self.subtemplates[parts[i]] = parts[i + 1]
                return parts[0], str(path), lambda: True
        raise jinja2.TemplateNotFound(template)


def toyaml(value, default=None):
    import yaml

    if isinstance(value, jinja2.Undefined):
        if default is None:
            value._fail_with_undefined_error()
        value = default
    if isinstance(value, (int, bool)):
        return str(value)
    if value is None:
        return "null"
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=float("inf")).strip()
    return text[:-4].rstrip() if text.endswith("\n...") else text


def render(path: Path, include_dirs: list[Path], variables: dict) -> str:
    """The reference's rendering of the template file `path`."""
    env = SandboxedEnvironment(
        loader=_Loader([path.parent, *include_dirs]),
        extensions=[_Preprocessor],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )
    env.globals.update(GLOBALS)
    env.filters["toyaml"] = toyaml
    return env.get_template(path.name).render(**variables)
