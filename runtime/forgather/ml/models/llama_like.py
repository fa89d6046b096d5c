"""A Llama-family causal LM (Llama, Mistral, Qwen3) from the portable blocks, with Hugging Face's
configuration names: the modeling code of a checkpoint converted from transformers
(`hf_convert`). Rotary positions (optionally Llama-3 scaled), grouped-query attention (optionally
QK-normed, as Qwen3), SwiGLU, RMSNorm, pre-LN. Its weights are named as `convert.llama_state_dict`
names them.
"""

from functools import partial

from .attention import CausalSelfAttention
from .causal_lm import CausalLM
from .feedforward import GLUFeedforward
from .hf_causal import ForgatherCausalLM, ForgatherCausalLMConfig
from .init_weights import init_llama
from .input_encoder import InputEncoder
from .layer_stack import LayerStack
from .layers import PreLNLayer
from .norms import RMSNorm
from .rotary_pe import RotaryPE


def construct_model(
    *,
    vocab_size: int,
    hidden_size: int,
    intermediate_size: int,
    num_hidden_layers: int,
    num_attention_heads: int,
    num_key_value_heads: int | None = None,
    head_dim: int | None = None,
    rms_norm_eps: float = 1e-6,
    rope_theta: float = 10000.0,
    rope_scaling_params: dict | None = None,
    attention_bias: bool = False,
    mlp_bias: bool = False,
    qk_norm: bool = False,
    tie_word_embeddings: bool = False,
    attention_backend: str = "sdpa",
) -> CausalLM:
    return CausalLM(
        input_encoder_factory=partial(InputEncoder, hidden_size, vocab_size),
        positional_encoder_factory=partial(
            RotaryPE, hidden_size, num_attention_heads, head_dim=head_dim, theta=rope_theta, scaling=rope_scaling_params
        ),
        attention_factory=partial(
            CausalSelfAttention,
            hidden_size,
            num_attention_heads,
            num_kv_heads=num_key_value_heads,
            head_dim=head_dim,
            bias=attention_bias,
            qk_norm=qk_norm,
            qk_norm_eps=rms_norm_eps,
            backend=attention_backend,
        ),
        feedforward_factory=partial(GLUFeedforward, hidden_size, intermediate_size, activation="silu", bias=mlp_bias),
        norm_factory=partial(RMSNorm, hidden_size, eps=rms_norm_eps),
        layer_factory=PreLNLayer,
        layer_stack_factory=partial(LayerStack, num_layers=num_hidden_layers),
        init_weights=init_llama,
        tie_word_embeddings=tie_word_embeddings,
    )


class LlamaLikeConfig(ForgatherCausalLMConfig):
    model_type = "forgather-llama-like"


class LlamaLikeForCausalLM(ForgatherCausalLM):
    config_class = LlamaLikeConfig
    construct_model = staticmethod(construct_model)
