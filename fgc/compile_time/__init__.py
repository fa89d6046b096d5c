"""The kinds of compile-time nodes, registered in one place (the protocol:
fgc/codegen/compile_time_node.py).

    dynamic_model   `forgather.ml.models.dynamic:DynamicCausalLM`: its `definition` becomes
                    build/model/, and config.py builds the model from that package

A new kind (e.g. `from_project`, linking another project's targets at compile time) is one more
module here and one more entry in `KINDS`; the pipeline asks every registered kind.
"""

from __future__ import annotations

from ..codegen.compile_time_node import CompileTimeNode
from .dynamic_model import DynamicCausalLM

KINDS: tuple[CompileTimeNode, ...] = (DynamicCausalLM(),)
