"""A toy causal LM assembled from parts, as the reference's model sources are."""

from .layers import Layer


class CausalLM:
    def __init__(self, layer_factory, depth: int) -> None:
        self.layers = [layer_factory() for _ in range(depth)]

    def __repr__(self) -> str:
        return f"CausalLM({self.layers})"
