"""Hackable transformer blocks, a causal LM assembled from block factories, a Hugging Face
wrapper and stand-alone export.

Every block module here is *portable*: it imports only the standard library, torch,
transformers and sibling modules (by relative import), so a copy of the files it needs works
anywhere. That is what lets `fgc compile` emit `build/model/` and `export.save_model` write a
model directory that loads with plain `transformers` (`trust_remote_code=True`).

Modules: `input_encoder`, positional encoders (`null_pe`, `learned_pe`, `sinusoidal_pe`,
`rotary_pe`, `alibi`), `attention`, `feedforward`, `norms`, `layers`, `layer_stack`,
`output_head`, `init_weights`, `masks`, `causal_lm`, `hf_causal`, and the model packages of
converted checkpoints `llama_like`, `gpt2_like`; and the non-portable helpers `dynamic`
(in-process models), `package` (writes a model package), `export` (saves a model directory),
`convert` (weights to and from `transformers` Llama / GPT-2) and `hf_convert` (whole checkpoint
directories both ways, `python -m forgather.ml.models.hf_convert`).
"""
