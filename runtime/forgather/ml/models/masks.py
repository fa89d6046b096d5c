"""The attention mask of one forward pass, built once and shared by every layer."""

import torch


def document_ids(position_ids: torch.Tensor) -> torch.Tensor | None:
    """Which packed document each token belongs to, from position ids that restart at 0 (or
    anywhere but `previous + 1`) at each document start: `(B, T)` ids counting from 0, or None
    when no row restarts (one document per row: plain causality is enough).

    The same rule as transformers' `find_packed_sequence_indices`, so a packed batch gets the
    same per-document attention in our models and in Hugging Face's.
    """
    if position_ids.dim() != 2 or position_ids.shape[-1] < 2:
        return None
    restart = position_ids[:, 1:] != position_ids[:, :-1] + 1  # (B, T-1)
    if not bool(restart.any()):  # one host sync, as transformers does
        return None
    zero = torch.zeros_like(restart[:, :1])
    return torch.cat([zero, restart], dim=1).cumsum(-1)  # (B, T)


def build_attention_mask(
    q_len: int,
    kv_len: int,
    *,
    padding_mask: torch.Tensor | None = None,
    position_ids: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor | None:
    """Combine causality, padding, packed documents and an additive bias into one mask for
    `(B, H, T, S)` scores.

    Returns None when plain causality is enough (no padding, one document per row, no bias, and
    queries aligned with keys or a single query): the attention then takes its fast `is_causal`
    path. Otherwise a bool mask `(B|1, 1, T, S)` (True = attend), or, with a bias, an additive
    float mask `(B|1, H, T, S)` with -inf where masked. Query i sits at key index
    `kv_len - q_len + i`.

    `padding_mask` is the usual 2-D `(B, S)` mask, 1 for tokens and 0 for padding. A query always
    sees its own key, so padded query rows never become empty (an empty row would make NaNs that
    leak into later layers through the values). `position_ids` `(B, T)` that restart inside a row
    (documents packed by `forgather.ml.data`) limit attention to each document (`document_ids`);
    they are read only when there is no cache (queries aligned with keys).
    """
    if padding_mask is not None:
        if padding_mask.dim() != 2 or padding_mask.shape[-1] != kv_len:
            raise ValueError(
                f"attention_mask has shape {tuple(padding_mask.shape)}; expected (batch, {kv_len}): "
                "one entry per key, cached tokens included"
            )
        if bool(padding_mask.all()):
            padding_mask = None  # no padding: keep the fast path (one host sync, as transformers does)
    documents = (
        document_ids(position_ids)
        if position_ids is not None and q_len == kv_len
        else None
    )
    if (
        padding_mask is None
        and documents is None
        and bias is None
        and (q_len == kv_len or q_len == 1)
    ):
        return None
    q_idx = torch.arange(kv_len - q_len, kv_len, device=device)[:, None]
    k_idx = torch.arange(kv_len, device=device)[None, :]
    allowed = (k_idx <= q_idx)[None, None]  # (1, 1, T, S)
    if documents is not None:
        same = documents[:, :, None] == documents[:, None, :]  # (B, T, S)
        allowed = allowed & same[:, None]  # (B, 1, T, S)
    if padding_mask is not None:
        keep = padding_mask[:, None, None, :].to(torch.bool)  # (B, 1, 1, S)
        allowed = allowed & (keep | (k_idx == q_idx))
    if bias is None:
        return allowed
    return bias.to(dtype).masked_fill(~allowed, float("-inf"))  # (B|1, H, T, S)
