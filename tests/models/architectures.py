"""The stdlib model templates (stdlib/models/*.fg) expressed in Python, node for node.

`test_templates.py` checks that loading each template gives exactly these trees, so tests that
use them test the templates' architectures.
"""

from modelspec import Partial, Var

M = "forgather.ml.models."
D, H, V = Var("hidden_size"), Var("num_attention_heads"), Var("vocab_size")

CAUSAL_LM = Partial(
    M + "causal_lm:CausalLM",
    dict(
        input_encoder_factory=Partial(
            M + "input_encoder:InputEncoder",
            dict(
                d_model=D,
                vocab_size=V,
                dropout=Var("embedding_dropout"),
                scale_sqrt_d_model=True,
            ),
        ),
        positional_encoder_factory=Partial(
            M + "sinusoidal_pe:SinusoidalPE", dict(d_model=D)
        ),
        attention_factory=Partial(
            M + "attention:CausalSelfAttention",
            dict(
                d_model=D,
                num_heads=H,
                dropout=Var("attention_dropout"),
                backend=Var("attention_backend"),
            ),
        ),
        feedforward_factory=Partial(
            M + "feedforward:MLP",
            dict(d_model=D, d_feedforward=Var("intermediate_size"), activation="relu"),
        ),
        norm_factory=Partial(
            M + "norms:LayerNorm", dict(d_model=D, eps=Var("layer_norm_eps"))
        ),
        layer_factory=Partial(
            M + "layers:PostLNLayer", dict(dropout=Var("residual_dropout"))
        ),
        layer_stack_factory=Partial(
            M + "layer_stack:LayerStack", dict(num_layers=Var("num_hidden_layers"))
        ),
        output_head_factory=Partial(
            M + "output_head:OutputHead", dict(d_model=D, vocab_size=V)
        ),
        init_weights=Partial(M + "init_weights:init_normal"),
        tie_word_embeddings=Var("tie_word_embeddings"),
    ),
)
CAUSAL_LM_HPARAMS = dict(
    vocab_size=32000,
    hidden_size=512,
    num_attention_heads=8,
    num_hidden_layers=6,
    intermediate_size=2048,
    layer_norm_eps=1e-5,
    embedding_dropout=0.1,
    attention_dropout=0.0,
    residual_dropout=0.1,
    attention_backend="sdpa",
    tie_word_embeddings=True,
)

LLAMA = CAUSAL_LM.replace(
    input_encoder_factory=Partial(
        M + "input_encoder:InputEncoder", dict(d_model=D, vocab_size=V)
    ),
    positional_encoder_factory=Partial(
        M + "rotary_pe:RotaryPE",
        dict(
            d_model=D,
            num_heads=H,
            theta=Var("rope_theta"),
            scaling=Var("rope_scaling_params"),
        ),
    ),
    attention_factory=Partial(
        M + "attention:CausalSelfAttention",
        dict(
            d_model=D,
            num_heads=H,
            num_kv_heads=Var("num_key_value_heads"),
            backend=Var("attention_backend"),
        ),
    ),
    feedforward_factory=Partial(
        M + "feedforward:GLUFeedforward",
        dict(d_model=D, d_feedforward=Var("intermediate_size"), activation="silu"),
    ),
    norm_factory=Partial(M + "norms:RMSNorm", dict(d_model=D, eps=Var("rms_norm_eps"))),
    layer_factory=Partial(M + "layers:PreLNLayer"),
    init_weights=Partial(M + "init_weights:init_llama"),
)
LLAMA_HPARAMS = dict(
    vocab_size=32000,
    hidden_size=512,
    num_attention_heads=8,
    num_key_value_heads=4,
    num_hidden_layers=8,
    intermediate_size=1408,
    rms_norm_eps=1e-6,
    rope_theta=10000.0,
    rope_scaling_params=None,
    attention_backend="sdpa",
    tie_word_embeddings=False,
)

GPT2 = CAUSAL_LM.replace(
    input_encoder_factory=Partial(
        M + "input_encoder:InputEncoder",
        dict(d_model=D, vocab_size=V, dropout=Var("embedding_dropout")),
    ),
    positional_encoder_factory=Partial(
        M + "learned_pe:LearnedPE",
        dict(d_model=D, max_sequence_length=Var("max_position_embeddings")),
    ),
    attention_factory=Partial(
        M + "attention:CausalSelfAttention",
        dict(
            d_model=D,
            num_heads=H,
            bias=True,
            dropout=Var("attention_dropout"),
            backend=Var("attention_backend"),
        ),
    ),
    feedforward_factory=Partial(
        M + "feedforward:MLP",
        dict(d_model=D, d_feedforward=Var("intermediate_size"), activation="gelu_tanh"),
    ),
    layer_factory=Partial(
        M + "layers:PreLNLayer", dict(dropout=Var("residual_dropout"))
    ),
    init_weights=Partial(
        M + "init_weights:init_normal", dict(std=Var("initializer_range"))
    ),
)
GPT2_HPARAMS = dict(
    vocab_size=50257,
    hidden_size=768,
    num_attention_heads=12,
    num_hidden_layers=12,
    intermediate_size=3072,
    max_position_embeddings=1024,
    layer_norm_eps=1e-5,
    embedding_dropout=0.1,
    attention_dropout=0.1,
    residual_dropout=0.1,
    initializer_range=0.02,
    attention_backend="sdpa",
    tie_word_embeddings=True,
)

DEEPNET = CAUSAL_LM.replace(
    positional_encoder_factory=Partial(M + "alibi:ALiBi", dict(num_heads=H)),
    feedforward_factory=Partial(
        M + "feedforward:GLUFeedforward",
        dict(d_model=D, d_feedforward=Var("intermediate_size"), activation="gelu"),
    ),
    layer_factory=Partial(
        M + "layers:DeepNetLayer",
        dict(num_layers=Var("num_hidden_layers"), dropout=Var("residual_dropout")),
    ),
    init_weights=Partial(M + "init_weights:init_deepnet"),
)
DEEPNET_HPARAMS = {
    **CAUSAL_LM_HPARAMS,
    "num_hidden_layers": 24,
    "intermediate_size": 1408,
    "tie_word_embeddings": False,
}

TEMPLATES = {
    "models/causal_lm.fg": (CAUSAL_LM, CAUSAL_LM_HPARAMS),
    "models/llama.fg": (LLAMA, LLAMA_HPARAMS),
    "models/gpt2.fg": (GPT2, GPT2_HPARAMS),
    "models/deepnet.fg": (DEEPNET, DEEPNET_HPARAMS),
}
