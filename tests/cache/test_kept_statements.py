"""fgc.syntax.jinja_env: the statements kept on disk between processes are the nodes jinja2
parses, bound to the parse environment; a damaged entry is a miss."""

from __future__ import annotations

import pytest

from fgc.syntax import jinja_env

BODIES = [
    'extends "base.yaml"',
    "include 'inc/formatting.jinja'",
    "set ns.width = 16",
    "set x = [1, 2.5e-3, 'a'] | join(',')",
    "from 'macros.jinja' import m with context",
    "set block %}text{% endset",
    "extends",  # does not parse: kept as None
]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FGC_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_kept_statements_are_the_parsed_nodes(cache_dir):
    first = jinja_env._Kept()
    assert first.statements == {}
    for body in BODIES:
        first.add(body, jinja_env._parse_statement(body))
    first.write()
    again = jinja_env._Kept()
    assert set(again.statements) == set(BODIES)
    for body in BODIES:
        fresh = jinja_env._parse_statement(body)
        kept = again.statements[body]
        assert (kept is None) == (fresh is None) == (body == "extends")
        if fresh is not None:
            assert kept == fresh and kept.dump() == fresh.dump()
            assert kept.environment is jinja_env.parse_environment()


@pytest.mark.parametrize("damage", [b"", b"not a pickle", b"\x80\x05K\x01."])
def test_a_damaged_entry_is_a_miss(cache_dir, damage):
    kept = jinja_env._Kept()
    (cache_dir / "statements").mkdir()
    (cache_dir / "statements" / kept.key).write_bytes(damage)
    assert jinja_env._Kept().statements == {}
