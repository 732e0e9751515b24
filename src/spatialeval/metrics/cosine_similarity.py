"""Cosine similarity of BAT embeddings."""

from __future__ import annotations

import numpy as np


def isdrama_cosine(gt: np.ndarray, gen: np.ndarray, epsilon: float = 1e-8) -> float:
    """``matrix_cosine_similarity`` of the released ISDrama code, quirks included.

    Both arrays are flattened and cut to the shorter length. If any ground-truth
    value exceeds π, both are first wrapped with angle(exp(i·v)) (a heuristic meant
    for IPD maps that the release also applies to embeddings). Then

        cos = (a / (‖a‖ + ε)) · (b / (‖b‖ + ε)),  ε = 1e-8

    computed in the arrays' own precision (float32 for saved embeddings).

    Example:
        >>> import numpy as np
        >>> v = np.arange(1, 5, dtype=np.float32)
        >>> round(isdrama_cosine(v, v), 6)
        1.0
        >>> isdrama_cosine(v, -v) < -0.99
        True
    """
    a, b = np.asarray(gt).reshape(-1), np.asarray(gen).reshape(-1)
    n = min(a.size, b.size)
    a, b = a[:n], b[:n]
    if np.any(a > np.pi):
        a = np.angle(np.exp(1j * a)).astype(a.dtype)
        b = np.angle(np.exp(1j * b)).astype(b.dtype)
    a_unit = a / (np.linalg.norm(a) + epsilon)
    b_unit = b / (np.linalg.norm(b) + epsilon)
    return float(np.dot(a_unit, b_unit))


def cosine(gt: np.ndarray, gen: np.ndarray) -> float:
    """Plain float64 cosine similarity, NaN if either vector is all zeros.

    Example:
        >>> cosine([1.0, 0.0], [1.0, 1.0])
        0.7071067811865475
    """
    a, b = np.asarray(gt, dtype=np.float64).reshape(-1), np.asarray(gen, dtype=np.float64).reshape(-1)
    denominator = np.linalg.norm(a) * np.linalg.norm(b)
    return float(np.dot(a, b) / denominator) if denominator > 0 else float("nan")


def isdrama_cosine_rows(gt, gen, epsilon: float = 1e-8):
    """:func:`isdrama_cosine` of each row pair of two (N, D) torch tensors → (N,) in their float type.

    The wrap heuristic is decided row by row (a row whose ground truth exceeds π is wrapped).

    Example:
        >>> import torch
        >>> a = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.5, 0.5]])
        >>> [round(v, 6) for v in isdrama_cosine_rows(a, a).tolist()]
        [1.0, 1.0]
    """
    import torch

    gt, gen = torch.as_tensor(gt), torch.as_tensor(gen)
    wrap = (gt > np.pi).any(dim=1, keepdim=True)

    def wrapped(v):  # angle(exp(i·v)), evaluated in float64 as numpy's complex128 path does
        w = v.double()
        return torch.atan2(torch.sin(w), torch.cos(w)).to(v.dtype)

    a = torch.where(wrap, wrapped(gt), gt)
    b = torch.where(wrap, wrapped(gen), gen)
    a_unit = a / (torch.linalg.vector_norm(a, dim=1, keepdim=True) + epsilon)
    b_unit = b / (torch.linalg.vector_norm(b, dim=1, keepdim=True) + epsilon)
    return (a_unit * b_unit).sum(dim=1)


def cosine_rows(gt, gen):
    """:func:`cosine` of each row pair of two (N, D) torch tensors, in float64; NaN where a row is all zeros.

    Example:
        >>> import torch
        >>> cosine_rows(torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 1.0]])).tolist()
        [0.7071067811865475]
    """
    import torch

    a, b = torch.as_tensor(gt).double(), torch.as_tensor(gen).double()
    denominator = torch.linalg.vector_norm(a, dim=1) * torch.linalg.vector_norm(b, dim=1)
    nan = torch.full_like(denominator, float("nan"))
    return torch.where(denominator > 0, (a * b).sum(dim=1) / torch.where(denominator > 0, denominator, 1.0), nan)
