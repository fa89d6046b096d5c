"""Hugging Face wrapper: a config holding a model's hyper-parameters, and a `PreTrainedModel`
with `GenerationMixin` around the core causal LM that `construct_model` builds.

A concrete model subclasses both (this is what `fgc compile` writes into `build/model/modeling.py`):

    class DynamicCausalLMConfig(ForgatherCausalLMConfig):
        model_type = "forgather-dynamic"

    class DynamicCausalLMForCausalLM(ForgatherCausalLM):
        config_class = DynamicCausalLMConfig
        construct_model = staticmethod(construct_model)

`ForgatherCausalLM(config)` calls `construct_model(**hparams)` with the config fields named in
its signature and wraps the result (a `causal_lm.CausalLM` or any module with its forward).
"""

import inspect

import torch
import torch.nn.functional as F
from transformers import GenerationMixin, PretrainedConfig, PreTrainedModel
from transformers.cache_utils import DynamicCache
from transformers.modeling_outputs import CausalLMOutputWithPast

# transformers 5.2x renamed the output's `past_key_values` to `cache`; support both spellings.
_CACHE_FIELD = (
    "cache"
    if "cache" in CausalLMOutputWithPast.__dataclass_fields__
    else "past_key_values"
)


class ForgatherCausalLMConfig(PretrainedConfig):
    """Any keyword argument becomes an attribute (a hyper-parameter) saved in config.json."""

    model_type = "forgather-causal-lm"

    def __init__(self, use_cache: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.use_cache = use_cache


def causal_lm_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    num_items_in_batch: int | torch.Tensor | None = None,
) -> torch.Tensor:
    """Next-token cross-entropy: position t predicts labels[t + 1]; -100 is ignored. The mean over
    counted tokens, or their sum / `num_items_in_batch` (token-weighted gradient accumulation).
    """
    # Shift the labels, not the logits: a slice of the logits would be copied by the reshape.
    labels = F.pad(labels.to(logits.device), (0, 1), value=-100)[
        :, 1:
    ]  # (B, T): labels[t + 1], -100 last
    logits = logits.float()  # (B, T, V)
    reduction = "mean" if num_items_in_batch is None else "sum"
    loss = F.cross_entropy(
        logits.view(-1, logits.shape[-1]),
        labels.reshape(-1),
        ignore_index=-100,
        reduction=reduction,
    )
    return loss if num_items_in_batch is None else loss / num_items_in_batch


class ForgatherCausalLM(PreTrainedModel, GenerationMixin):
    """The core model lives at `self.model`; its weights are saved under `model.`."""

    config_class = ForgatherCausalLMConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _no_split_modules = ["PreLNLayer", "PostLNLayer", "DeepNetLayer"]
    _supports_sdpa = True
    # transformers 5: {tied parameter: its source}, applied when config.tie_word_embeddings is true
    _tied_weights_keys = {
        "model.output_head.weight": "model.input_encoder.embedding.weight"
    }

    construct_model = None  # subclasses: staticmethod(construct_model)

    def __init__(self, config: PretrainedConfig) -> None:
        super().__init__(config)
        if type(self).construct_model is None:
            raise TypeError(
                f"{type(self).__name__} must define construct_model = staticmethod(...)"
            )
        self.model = type(self).construct_model(**self.hyperparameters(config))
        # The core decides tying; the config must agree so that transformers saves and loads it.
        config.tie_word_embeddings = bool(
            getattr(self.model, "tie_word_embeddings", False)
        )
        if getattr(config, "num_hidden_layers", None) is None and hasattr(
            self.model, "num_layers"
        ):
            config.num_hidden_layers = (
                self.model.num_layers
            )  # generate() sizes its KV cache from it
        self.post_init()

    @classmethod
    def hyperparameters(cls, config: PretrainedConfig) -> dict:
        """The config fields that `construct_model` takes (by name); a required one must be there."""
        hparams = {}
        for name, param in inspect.signature(cls.construct_model).parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            if hasattr(config, name):
                hparams[name] = getattr(config, name)
            elif param.default is param.empty:
                raise ValueError(
                    f"{cls.__name__}: the config has no value for the hyper-parameter {name!r}"
                )
        return hparams

    def _init_weights(self, module: torch.nn.Module) -> None:
        """Nothing: the core's own init scheme ran when it was built, and `from_pretrained` loads
        every weight (the positional encoders keep no buffers to restore)."""

    def get_input_embeddings(self) -> torch.nn.Module:
        return self.model.input_encoder.embedding

    def set_input_embeddings(self, value: torch.nn.Module) -> None:
        self.model.input_encoder.embedding = value

    def get_output_embeddings(self) -> torch.nn.Module:
        return self.model.output_head

    def set_output_embeddings(self, value: torch.nn.Module) -> None:
        self.model.output_head = value

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        cache=None,
        labels: torch.Tensor | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int = 0,
        num_items_in_batch: int | torch.Tensor | None = None,
        past_key_values=None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> CausalLMOutputWithPast | tuple:
        """transformers' causal-LM forward. `cache` (`past_key_values` is the older name) is a
        transformers `Cache`; `use_cache` defaults to whether one was given. Other keyword
        arguments that generate() and the Trainer pass are accepted; asking for what this model
        does not return (inputs_embeds, attentions, hidden states) is an error."""
        if input_ids is None or kwargs.get("inputs_embeds") is not None:
            raise ValueError(
                f"{type(self).__name__} takes input_ids (inputs_embeds is not supported)"
            )
        for flag in ("output_attentions", "output_hidden_states"):
            if kwargs.get(flag):
                raise ValueError(f"{type(self).__name__} does not support {flag}=True")
        if labels is not None and logits_to_keep:
            raise ValueError(
                "labels need the logits of every position; do not pass logits_to_keep"
            )
        cache = cache if cache is not None else past_key_values
        if use_cache is None:
            use_cache = cache is not None
        if use_cache and cache is None:
            cache = DynamicCache()
        cache = cache if use_cache else None
        logits = self.model(
            input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=cache,
            logits_to_keep=logits_to_keep,
        )
        loss = (
            causal_lm_loss(logits, labels, num_items_in_batch)
            if labels is not None
            else None
        )
        output = CausalLMOutputWithPast(
            loss=loss, logits=logits, **{_CACHE_FIELD: cache}
        )
        return output.to_tuple() if return_dict is False else output
