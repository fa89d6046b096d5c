"""A toy model whose parts live in sibling modules (relative imports)."""

from .layers import Layer


class CausalLM:
    def __init__(self, width: int, depth: int = 2) -> None:
        self.layers = [Layer(width) for _ in range(depth)]

    def __repr__(self) -> str:
        return f"CausalLM({self.layers})"
