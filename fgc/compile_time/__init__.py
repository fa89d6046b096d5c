"""The kinds of compile-time nodes, registered in one place (the protocol:
fgc/codegen/compile_time_node.py).

    dynamic_model   `forgather.ml.models.dynamic:dynamic_causal_lm`: its `definition` becomes
                    build/model/, and config.py builds the model from that package

    from_project    `forgather:from_project`: another project's targets, compiled into
                    build/linked/ (fgc/compile_time/from_project.py). It needs the whole
                    pipeline to compile the other project, so the driver registers it with that
                    function (pipeline.backend, fgc/project/link.py) instead of `KINDS`.

A new kind is one more module here and one more entry in `KINDS`; the pipeline asks every
registered kind.
"""

from __future__ import annotations

from ..codegen.compile_time_node import CompileTimeNode
from .dynamic_model import DynamicModel

KINDS: tuple[CompileTimeNode, ...] = (DynamicModel(),)
