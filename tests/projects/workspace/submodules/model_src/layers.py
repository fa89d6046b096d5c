"""A layer of the toy model."""


class Layer:
    def __init__(self, width: int) -> None:
        self.width = width

    def __repr__(self) -> str:
        return f"Layer({self.width})"
