"""Code generation: the config graph -> one Python module (`config.py` of a build).

members    which nodes become members (named, shared) and their names: one rule for both modules
writer     values and nodes as expressions, one rule for both modules
importing  the writer's two import strategies: module imports (config.py), relative (modeling.py)
pytree     small constructors of `ast` nodes
emit       config.py as an `ast` tree: imports, support code, construct(), Construction
format     ast.unparse + black, and the ORIGINS table (code position -> template position)
support    runtime helpers copied into every module (standard library only)
model      modeling.py of a model package (a dynamic_causal_lm's `definition`)
compile_time_node  the protocol of compile-time nodes (kinds registered in fgc/compile_time/)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from ..graph import Graph, Node
from ..imports import Imports

if TYPE_CHECKING:
    from .compile_time_node import Planned


@dataclass
class Generated:
    """The text of a generated config module, its targets and variables."""
    text: str
    targets: dict[str, str]  # target -> what it builds
    variables: dict[str, dict]  # variable -> {"default" | "required" | "default_from_config", "used_at"}


def generate(
    graph: Graph,
    imports: Imports,
    source_name: Callable[[str], str] = str,
    local_dir_name: Callable[[str], str] = str,
    title: str = "config",
    compile_time: dict[Node, Planned] | None = None,
    use_black: bool = True,
    text: bool = True,
) -> Generated:
    """Generate the config module; `source_name` maps a template path to its name in messages
    (and in the build's sources/), `local_dir_name` a local module directory to its folder
    under the build's modules/. With `text=False` (`fgc check`) the module is only compiled by
    Python, to prove it valid, and no source text is produced."""
    # The writer is imported here: importing a module of this package (the compile-time nodes'
    # protocol, which `fgc check` needs to resolve imports) does not load it.
    from ..pyast import compile_python
    from .emit import Emitter
    from .format import render

    emitted = Emitter(graph, imports, source_name, local_dir_name, title, compile_time).emit()
    if not text:
        compile_python(emitted.module, "config.py")
        return Generated("", emitted.targets, emitted.variables)
    return Generated(render(emitted, use_black), emitted.targets, emitted.variables)
