"""The output head: hidden states to vocabulary logits."""

from torch import nn


class OutputHead(nn.Linear):
    """A linear map d_model -> vocab_size. The causal LM may tie its weight to the token
    embedding (Press & Wolf 2017), in which case the two share one parameter."""

    def __init__(self, d_model: int, vocab_size: int, *, bias: bool = False) -> None:
        super().__init__(d_model, vocab_size, bias=bias)
