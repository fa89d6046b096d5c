"""A layer of the toy model; its norm comes from a sibling module."""

from .norms import Norm


class Layer:
    def __init__(self, width: int, norm_factory=Norm) -> None:
        self.width = width
        self.norm = norm_factory(width)

    def __repr__(self) -> str:
        return f"Layer({self.width}, {self.norm})"
