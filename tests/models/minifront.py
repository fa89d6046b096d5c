"""A minimal reading of the template dialect, enough to load the model templates now.

Test-side stand-in for fgc's front end until `fgc compile` handles these templates: line
statements (`--`, `<<`, `>>`, `==`, `=>`), `##` comments and `[block]` headers are translated to
Jinja as notes/dialect.md §3 describes, jinja2 renders with template inheritance, and PyYAML
reads `!partial`, `!singleton` and `!var` into `modelspec` nodes. `load_model_node` returns the
DynamicCausalLM node: (definition, hyper-parameters).
"""

import re
from pathlib import Path

import jinja2
import jinja2.ext
import jinja2.sandbox
import yaml

from modelspec import Partial, Var

REPO = Path(__file__).resolve().parents[2]
STDLIB = REPO / "stdlib"
CONFIGS = Path(__file__).resolve().parent / "configs"

STATEMENT = re.compile(r"\s*(--|<<|>>|==|=>)\s(.*)")
HEADER = re.compile(r"(\s*)\[(\w+)(!*)\]\s*")
FORMS = {"--": "{%% %s %%}", "<<": "{%%- %s %%}", ">>": "{%% %s -%%}", "==": "{{ %s }}", "=>": "{{ %s|trim('\\n') }}"}


def preprocess(source: str) -> str:
    lines = []
    for line in re.split(r"\r\n|\r|\n", source):
        if m := re.fullmatch(r"\s*##(.*)", line):
            lines.append("{# " + m[1].replace("#}", "# }") + " #}")
            continue
        if m := re.fullmatch(r"(.*)\s+#{2,}.*", line):
            line = m[1]
        if m := STATEMENT.fullmatch(line):
            line = FORMS[m[1]] % m[2]
        lines.append(line)
    out: list[str] = []
    stack: list[tuple[str, int, bool]] = []

    def close(name: str, trim: bool) -> None:
        if out and out[-1]:
            out[-1] += "{{'\\n'}}"
        out[-1 if out else 0 :] = [(out[-1] if out else "") + f"{{% endblock {name} +%}}" + ("{% endfilter %}" if trim else "")]

    for line in lines:
        if m := HEADER.fullmatch(line):
            indent = len(m[1])
            while stack and stack[-1][1] >= indent:
                name, _, trim = stack.pop()
                close(name, trim)
            stack.append((m[2], indent, bool(m[3])))
            out.append(("{% filter trim %}" if m[3] else "") + f"{{% block {m[2]} %}}")
        else:
            out.append(line)
    while stack:
        name, _, trim = stack.pop()
        close(name, trim)
    return "\n".join(out)


class Preprocessor(jinja2.ext.Extension):
    def preprocess(self, source, name, filename=None):
        return preprocess(source)


def render(template: str, variables: dict | None = None, search: list[Path] | None = None) -> str:
    env = jinja2.sandbox.SandboxedEnvironment(
        loader=jinja2.FileSystemLoader([str(p) for p in (search or [CONFIGS, STDLIB])]),
        extensions=[Preprocessor],
        trim_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template(template).render(**(variables or {}))


class _Loader(yaml.SafeLoader):
    pass


def _callable(loader, suffix, node):
    spec = suffix[1:].split("@", 1)[0]
    if isinstance(node, yaml.MappingNode):
        kwargs = loader.construct_mapping(node, deep=True)
    elif isinstance(node, yaml.ScalarNode) and node.value == "":
        kwargs = {}
    else:
        raise ValueError(f"line {node.start_mark.line + 1}: the model templates use mapping bodies only")
    return Partial(spec, kwargs)


_Loader.add_multi_constructor("!partial", _callable)
_Loader.add_multi_constructor("!singleton", _callable)
_Loader.add_constructor("!var", lambda loader, node: Var(loader.construct_scalar(node)))


def load(template: str, variables: dict | None = None) -> dict:
    return yaml.load(render(template, variables), Loader=_Loader)


def load_model_node(template: str, variables: dict | None = None, target: str = "model") -> tuple[Partial, dict]:
    node = load(template, variables)[target]
    assert node.spec == "forgather.ml.models.dynamic:DynamicCausalLM", node.spec
    hparams = dict(node.kwargs)
    return hparams.pop("definition"), hparams
