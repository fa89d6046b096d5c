"""The one table of tags (fgc/tags.py): its derived sets agree with it, every node kind is
built by some tag, and every tag is specified by conformance cases (a case of the back end that
constructs it, and the config layer's case of its parse), so that a new row cannot land without
its case lines (docs/architecture.md, "Adding a tag kind")."""

from __future__ import annotations

import re

import pytest

from casefile import all_cases
from fgc import tags
from fgc.syntax import config_ast


def test_every_kind_is_built_by_a_tag():
    assert {t.kind for t in tags.TAGS.values()} == set(tags.Kind)


def test_the_derived_sets_partition_the_table():
    assert tags.CALLABLE_TAGS | tags.CONTAINER_TAGS | {"var"} == tags.FORGATHER_TAGS == set(tags.TAGS)
    assert not tags.CALLABLE_TAGS & tags.CONTAINER_TAGS
    assert tags.SEQUENCE_KINDS < tags.CONTAINER_KINDS
    assert config_ast.FORGATHER_TAGS is tags.FORGATHER_TAGS  # the config layer reads the table


def _used(text: str, tag: str) -> bool:
    return re.search(rf"!{tag}(?![\w-])", text) is not None


@pytest.mark.parametrize("tag", sorted(tags.TAGS))
def test_every_tag_has_a_construct_case(tag):
    """A case of the back end builds the tag's node and states what it constructs."""
    cases = [c for c in all_cases("backend") if any(_used(t, tag) for t in c.files.values())]
    assert any(
        "construct" in c.expect or "graph" in c.expect for c in cases
    ), f"no tests/cases/backend case uses `!{tag}` with a construct or graph expectation"


@pytest.mark.parametrize("tag", sorted(tags.TAGS))
def test_every_tag_has_a_config_case(tag):
    cases = [c for c in all_cases("config") if any(_used(t, tag) for t in c.files.values())]
    assert cases, f"no tests/cases/config case parses `!{tag}`"
