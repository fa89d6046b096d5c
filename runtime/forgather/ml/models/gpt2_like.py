"""A GPT-2 causal LM from the portable blocks, with Hugging Face's GPT-2 configuration names:
the modeling code of a checkpoint converted from transformers (`hf_convert`). Learned absolute
positions, multi-head attention with biases, a GELU (tanh) MLP, LayerNorm, pre-LN, a tied output
head. Its weights are named as `convert.gpt2_state_dict` names them.
"""

from functools import partial

from .attention import CausalSelfAttention
from .causal_lm import CausalLM
from .feedforward import MLP
from .hf_causal import ForgatherCausalLM, ForgatherCausalLMConfig
from .init_weights import init_normal
from .input_encoder import InputEncoder
from .layer_stack import LayerStack
from .layers import PreLNLayer
from .learned_pe import LearnedPE
from .norms import LayerNorm


def construct_model(
    *,
    vocab_size: int,
    n_embd: int,
    n_layer: int,
    n_head: int,
    n_positions: int,
    n_inner: int | None = None,
    layer_norm_epsilon: float = 1e-5,
    tie_word_embeddings: bool = True,
    attention_backend: str = "sdpa",
) -> CausalLM:
    return CausalLM(
        input_encoder_factory=partial(InputEncoder, n_embd, vocab_size),
        positional_encoder_factory=partial(LearnedPE, n_embd, n_positions),
        attention_factory=partial(CausalSelfAttention, n_embd, n_head, bias=True, backend=attention_backend),
        feedforward_factory=partial(MLP, n_embd, n_inner or 4 * n_embd, activation="gelu_tanh"),
        norm_factory=partial(LayerNorm, n_embd, eps=layer_norm_epsilon),
        layer_factory=PreLNLayer,
        layer_stack_factory=partial(LayerStack, num_layers=n_layer),
        init_weights=init_normal,
        tie_word_embeddings=tie_word_embeddings,
    )


class GPT2LikeConfig(ForgatherCausalLMConfig):
    model_type = "forgather-gpt2-like"


class GPT2LikeForCausalLM(ForgatherCausalLM):
    config_class = GPT2LikeConfig
    construct_model = staticmethod(construct_model)
