"""The stdlib model templates and the matrix configs: structure, and agreement with the Python
mirror in architectures.py that the other tests build from."""

import itertools
import re

import pytest

import minifront
from architectures import TEMPLATES
from modelspec import Partial

BLOCKS = ("input_encoder", "positional_encoder", "attention", "feedforward", "norm", "layer", "layer_stack",
          "output_head", "init_weights", "model_options", "hyperparameters")


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_template_matches_python_mirror(template):
    definition, hparams = minifront.load_model_node(template)
    expected_definition, expected_hparams = TEMPLATES[template]
    assert definition == expected_definition
    assert hparams == expected_hparams


def test_skeleton_has_one_block_per_swappable_part():
    text = (minifront.STDLIB / "models/causal_lm.fg").read_text()
    headers = re.findall(r"^\s*\[(\w+)\]\s*$", text, re.M)
    assert headers == ["model", *BLOCKS]


def _headers(path):
    return re.findall(r"^\s*\[(\w+)\]\s*$", path.read_text(), re.M)


@pytest.mark.parametrize("path", sorted((minifront.CONFIGS / "matrix").rglob("*.fg")), ids=lambda p: p.stem)
def test_each_matrix_config_overrides_exactly_one_block(path):
    assert len(_headers(path)) == 1 and _headers(path)[0] in BLOCKS


def test_child_templates_only_override_existing_blocks():
    for template in ("llama.fg", "gpt2.fg", "deepnet.fg"):
        assert set(_headers(minifront.STDLIB / "models" / template)) <= set(BLOCKS)


MATRIX = list(itertools.product(["none", "learned", "sinusoidal", "rope", "alibi"], ["mha", "gqa"], ["mlp", "swiglu"], ["pre_ln", "post_ln"]))


def matrix_model(pe, attention, feedforward, layer):
    """The (definition, hparams) of one matrix combination, loaded from its config chain."""
    return minifront.load_model_node(
        f"matrix/layer/{layer}.fg", dict(pe=pe, attention=attention, feedforward=feedforward)
    )


def test_matrix_combinations_differ_from_the_base_in_their_four_parts():
    base, _ = minifront.load_model_node("matrix/base.fg")
    for combo in MATRIX:
        definition, hparams = matrix_model(*combo)
        assert hparams["hidden_size"] == 32
        changed = {k for k in base.kwargs if definition.kwargs[k] != base.kwargs[k]}
        assert changed <= {"positional_encoder_factory", "attention_factory", "feedforward_factory", "layer_factory"}
    specs = {matrix_model(*c)[0].kwargs["positional_encoder_factory"].spec for c in MATRIX}
    assert len(specs) == 5
