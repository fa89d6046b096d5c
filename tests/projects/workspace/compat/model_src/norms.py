class Norm:
    def __init__(self, width: int, eps: float = 1e-5) -> None:
        self.width = width
        self.eps = eps

    def __repr__(self) -> str:
        return f"Norm({self.width}, eps={self.eps})"
