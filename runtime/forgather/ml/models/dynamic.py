"""`dynamic_causal_lm`: a Hugging Face causal LM from an architecture definition, in process.

Configs compiled by `fgc` take another road (the compiler writes `build/model/modeling.py`, see
`hf_causal`), with the same result: a `ForgatherCausalLM` whose config holds the
hyper-parameters. This entry point serves Python users and tests; a model built here trains and
generates, but `export.save_model` needs the model package that `fgc compile` (or
`package.write_model_package`) writes.
"""

import inspect
import json
from collections.abc import Callable

from torch import nn

from .hf_causal import ForgatherCausalLM, ForgatherCausalLMConfig


class DynamicCausalLMConfig(ForgatherCausalLMConfig):
    model_type = "forgather-dynamic"


def dynamic_causal_lm(
    definition: Callable[..., nn.Module], **hparams
) -> ForgatherCausalLM:
    """Build `definition(**hparams)` (the core causal LM) wrapped as a `ForgatherCausalLM`.

    Every keyword argument goes into the config (config.json); those that `definition` accepts
    by name (all of them if it takes `**kwargs`) are passed to it. Values must be
    JSON-serialisable, since config.json holds them.
    """
    for name, value in hparams.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"dynamic_causal_lm: hyper-parameter {name!r} = {value!r} is not JSON-serialisable ({err}); "
                "config.json could not hold it"
            ) from None
    params = inspect.signature(definition).parameters
    takes_all = any(p.kind is p.VAR_KEYWORD for p in params.values())
    names = [name for name in hparams if takes_all or name in params]

    def construct_model(**kwargs) -> nn.Module:
        return definition(**kwargs)

    construct_model.__signature__ = inspect.Signature(
        [
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=hparams[name]
            )
            for name in names
        ]
    )
    model_class = type(
        "DynamicCausalLMForCausalLM",
        (ForgatherCausalLM,),
        {
            "config_class": DynamicCausalLMConfig,
            "construct_model": staticmethod(construct_model),
            "__module__": __name__,
        },
    )
    return model_class(DynamicCausalLMConfig(**hparams))
