"""The stdlib model templates and the matrix configs, compiled by fgc: their structure, and
agreement with the Python mirror in architectures.py that the other tests build from."""

import itertools
import re

import pytest

from architectures import TEMPLATES
from helpers import CONFIGS, STDLIB, compile_config, config_spec

BLOCKS = (
    "input_encoder",
    "positional_encoder",
    "attention",
    "feedforward",
    "norm",
    "layer",
    "layer_stack",
    "output_head",
    "init_weights",
    "model_options",
    "hyperparameters",
)


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_template_matches_python_mirror(template, tmp_path):
    build_dir = compile_config(STDLIB / template, tmp_path / "build")
    definition, hparams = config_spec(build_dir)
    expected_definition, expected_hparams = TEMPLATES[template]
    assert definition == expected_definition
    assert hparams == expected_hparams
    assert (build_dir / "model" / "modeling.py").is_file()


def _headers(path):
    return re.findall(r"^\s*\[(\w+)\]\s*$", path.read_text(), re.M)


def test_skeleton_has_one_block_per_swappable_part():
    assert _headers(STDLIB / "models/causal_lm.fg") == ["model", *BLOCKS]


def test_child_templates_only_override_existing_blocks():
    for template in ("llama.fg", "gpt2.fg", "deepnet.fg"):
        assert set(_headers(STDLIB / "models" / template)) <= set(BLOCKS)


@pytest.mark.parametrize(
    "path", sorted((CONFIGS / "matrix").rglob("*.fg")), ids=lambda p: p.stem
)
def test_each_matrix_config_overrides_exactly_one_block(path):
    assert len(_headers(path)) == 1 and _headers(path)[0] in BLOCKS


MATRIX = list(
    itertools.product(
        ["none", "learned", "sinusoidal", "rope", "alibi"],
        ["mha", "gqa"],
        ["mlp", "swiglu"],
        ["pre_ln", "post_ln"],
    )
)


def compile_matrix(combo, out_dir):
    """Compile one combination: the chain layer -> feedforward -> attention -> pe -> base."""
    pe, attention, feedforward, layer = combo
    variables = dict(pe=pe, attention=attention, feedforward=feedforward)
    return compile_config(
        CONFIGS / "matrix" / "layer" / f"{layer}.fg", out_dir, variables
    )


def test_matrix_combinations_differ_from_the_base_in_their_four_parts(tmp_path):
    base, _ = config_spec(
        compile_config(CONFIGS / "matrix" / "base.fg", tmp_path / "base")
    )
    parts = {
        "positional_encoder_factory",
        "attention_factory",
        "feedforward_factory",
        "layer_factory",
    }
    seen = {part: set() for part in parts}
    for i, combo in enumerate(MATRIX[::3]):
        definition, hparams = config_spec(compile_matrix(combo, tmp_path / str(i)))
        assert hparams["hidden_size"] == 32
        assert {
            k for k in base.kwargs if definition.kwargs[k] != base.kwargs[k]
        } <= parts
        for part in parts:
            seen[part].add(repr(definition.kwargs[part]))
    assert [len(seen[p]) for p in sorted(parts)] == [
        2,
        2,
        2,
        5,
    ]  # attention, feedforward, layer, pe
