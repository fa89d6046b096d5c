"""The attention mask of one forward pass, built once and shared by every layer."""

import torch


def build_attention_mask(
    q_len: int,
    kv_len: int,
    *,
    padding_mask: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor | None:
    """Combine causality, padding and an additive bias into one mask for `(B, H, T, S)` scores.

    Returns None when plain causality is enough (no padding, no bias, and queries aligned with
    keys or a single query): the attention then takes its fast `is_causal` path. Otherwise a bool
    mask `(B|1, 1, T, S)` (True = attend), or, with a bias, an additive float mask
    `(B|1, H, T, S)` with -inf where masked. Query i sits at key index `kv_len - q_len + i`.

    `padding_mask` is the usual 2-D `(B, S)` mask, 1 for tokens and 0 for padding. A query always
    sees its own key, so padded query rows never become empty (an empty row would make NaNs that
    leak into later layers through the values).
    """
    if padding_mask is not None:
        if padding_mask.dim() != 2 or padding_mask.shape[-1] != kv_len:
            raise ValueError(
                f"attention_mask has shape {tuple(padding_mask.shape)}; expected (batch, {kv_len}): "
                "one entry per key, cached tokens included"
            )
        if bool(padding_mask.all()):
            padding_mask = None  # no padding: keep the fast path (one host sync, as transformers does)
    if padding_mask is None and bias is None and (q_len == kv_len or q_len == 1):
        return None
    q_idx = torch.arange(kv_len - q_len, kv_len, device=device)[:, None]
    k_idx = torch.arange(kv_len, device=device)[None, :]
    allowed = (k_idx <= q_idx)[None, None]  # (1, 1, T, S)
    if padding_mask is not None:
        keep = padding_mask[:, None, None, :].to(torch.bool)  # (B, 1, 1, S)
        allowed = allowed & (keep | (k_idx == q_idx))
    if bias is None:
        return allowed
    return bias.to(dtype).masked_fill(~allowed, float("-inf"))  # (B|1, H, T, S)
