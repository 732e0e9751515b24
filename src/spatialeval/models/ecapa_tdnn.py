"""The ECAPA-TDNN speaker-embedding head of the UniSpeech / seed-tts-eval SIM model.

seed-tts-eval scores SIM with ``wavlm_large_finetune.pth`` from UniSpeech
``downstreams/speaker_verification``: WavLM-Large hidden states, mixed by a learned
softmax-weighted sum over layers, feed an ECAPA-TDNN (Desplanques et al., 2020) whose
256-d output is compared by cosine. This module is that head, written here so the
checkpoint loads in plain torch. Submodule and parameter names follow the checkpoint's
``model`` state dict (``layer1.conv``, ``layer2.Res2Conv1dReluBn.convs.0``,
``pooling.linear1``, ...), so its head tensors load by name without renaming.

Per utterance (hidden states ``H`` of shape ``(L+1, T, D)``):

    x   = Σ_l softmax(w)_l · H_l + 1e-6                     (T, D) → (D, T)
    x   = InstanceNorm(x)                                   (no affine, statistics over time)
    o1  = BN(ReLU(Conv_k5(x)))
    o2..o4 = SE-Res2Blocks (kernel 3, dilation 2, 3, 4, scale 8) + residual
    h   = ReLU(Conv_1x1([o2; o3; o4]))                      (1536 channels)
    α   = softmax_t(Conv(tanh(Conv(h))))                    per channel
    μ   = Σ_t α h,  σ = sqrt(max(Σ_t α h² − μ², 1e-9))
    e   = Linear(BN([μ; σ]))                                (256-d)

Every block applies conv → ReLU → BatchNorm in that order, as the released model does.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class Conv1dReluBn(nn.Module):
    """Conv1d, then ReLU, then BatchNorm1d."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, padding: int = 0, dilation: int = 1):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, padding=padding, dilation=dilation)
        self.bn = nn.BatchNorm1d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(F.relu(self.conv(x)))


class Res2Conv1dReluBn(nn.Module):
    """Res2Net block: ``scale`` channel groups, each group's conv also sees the previous group's output.

    The last group passes through unchanged (scale > 1).
    """

    def __init__(self, channels: int, kernel_size: int, padding: int, dilation: int, scale: int):
        super().__init__()
        if channels % scale:
            raise ValueError(f"channels ({channels}) must be divisible by scale ({scale})")
        self.width = channels // scale
        branches = scale - 1 if scale > 1 else 1
        self.convs = nn.ModuleList(
            nn.Conv1d(self.width, self.width, kernel_size, padding=padding, dilation=dilation) for _ in range(branches)
        )
        self.bns = nn.ModuleList(nn.BatchNorm1d(self.width) for _ in range(branches))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        groups = torch.split(x, self.width, dim=1)
        outputs, carried = [], None
        for index, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            carried = groups[index] if carried is None else carried + groups[index]
            carried = bn(F.relu(conv(carried)))
            outputs.append(carried)
        outputs.extend(groups[len(self.convs) :])  # the untouched last group
        return torch.cat(outputs, dim=1)


class SEConnect(nn.Module):
    """Squeeze-and-excitation over channels from the time-averaged activations."""

    def __init__(self, channels: int, bottleneck: int = 128):
        super().__init__()
        self.linear1 = nn.Linear(channels, bottleneck)
        self.linear2 = nn.Linear(bottleneck, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.linear2(F.relu(self.linear1(x.mean(dim=2)))))
        return x * gate.unsqueeze(2)


class SERes2Block(nn.Module):
    """1×1 conv block → Res2 block → 1×1 conv block → SE gate, plus the residual input."""

    def __init__(self, channels: int, kernel_size: int, dilation: int, scale: int = 8, se_bottleneck: int = 128):
        super().__init__()
        self.Conv1dReluBn1 = Conv1dReluBn(channels, channels, kernel_size=1)
        self.Res2Conv1dReluBn = Res2Conv1dReluBn(
            channels, kernel_size, padding=dilation, dilation=dilation, scale=scale
        )
        self.Conv1dReluBn2 = Conv1dReluBn(channels, channels, kernel_size=1)
        self.SE_Connect = SEConnect(channels, se_bottleneck)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.SE_Connect(self.Conv1dReluBn2(self.Res2Conv1dReluBn(self.Conv1dReluBn1(x))))


class AttentiveStatsPool(nn.Module):
    """Channel-wise attention over time, then the attention-weighted mean and standard deviation."""

    def __init__(self, channels: int, attention_channels: int = 128):
        super().__init__()
        self.linear1 = nn.Conv1d(channels, attention_channels, kernel_size=1)
        self.linear2 = nn.Conv1d(attention_channels, channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        alpha = torch.softmax(self.linear2(torch.tanh(self.linear1(x))), dim=2)
        mean = torch.sum(alpha * x, dim=2)
        variance = torch.sum(alpha * x * x, dim=2) - mean * mean
        return torch.cat([mean, torch.sqrt(variance.clamp(min=1e-9))], dim=1)


class ECAPAHead(nn.Module):
    """Layer-weighted SSL features → 256-d speaker embedding (see the module docstring).

    Args:
        feat_dim: width of each hidden state (1024 for WavLM-Large).
        num_hidden_states: hidden states mixed by ``feature_weight`` (layers + 1: 25 for WavLM-Large).
        channels: ECAPA channel width (512 in the released model).
        emb_dim: embedding size (256).
        pooled_channels: width before pooling (1536).
    """

    def __init__(
        self,
        feat_dim: int = 1024,
        num_hidden_states: int = 25,
        channels: int = 512,
        emb_dim: int = 256,
        pooled_channels: int = 1536,
        attention_channels: int = 128,
        se_bottleneck: int = 128,
        scale: int = 8,
    ):
        super().__init__()
        self.feature_weight = nn.Parameter(torch.zeros(num_hidden_states))
        self.instance_norm = nn.InstanceNorm1d(feat_dim)
        self.layer1 = Conv1dReluBn(feat_dim, channels, kernel_size=5, padding=2)
        self.layer2 = SERes2Block(channels, kernel_size=3, dilation=2, scale=scale, se_bottleneck=se_bottleneck)
        self.layer3 = SERes2Block(channels, kernel_size=3, dilation=3, scale=scale, se_bottleneck=se_bottleneck)
        self.layer4 = SERes2Block(channels, kernel_size=3, dilation=4, scale=scale, se_bottleneck=se_bottleneck)
        self.conv = nn.Conv1d(3 * channels, pooled_channels, kernel_size=1)
        self.pooling = AttentiveStatsPool(pooled_channels, attention_channels)
        self.bn = nn.BatchNorm1d(2 * pooled_channels)
        self.linear = nn.Linear(2 * pooled_channels, emb_dim)

    def mix_layers(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """``(L+1, T, D)`` hidden states of one utterance → instance-normalised ``(1, D, T)`` features."""
        if hidden_states.dim() != 3 or hidden_states.shape[0] != self.feature_weight.shape[0]:
            raise ValueError(
                f"expected hidden states ({self.feature_weight.shape[0]}, frames, dim), "
                f"got {tuple(hidden_states.shape)}"
            )
        weights = torch.softmax(self.feature_weight, dim=0)
        mixed = torch.einsum("l,ltd->dt", weights, hidden_states).unsqueeze(0) + 1e-6
        return self.instance_norm(mixed)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """Embedding ``(emb_dim,)`` of one utterance from its ``(L+1, T, D)`` hidden states."""
        x = self.mix_layers(hidden_states)
        out1 = self.layer1(x)
        out2 = self.layer2(out1)
        out3 = self.layer3(out2)
        out4 = self.layer4(out3)
        pooled = self.pooling(F.relu(self.conv(torch.cat([out2, out3, out4], dim=1))))
        return self.linear(self.bn(pooled))[0]
