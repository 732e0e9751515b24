"""BAT's Spatial-AST binaural encoder (Zheng et al., arXiv 2402.01591), in plain torch.

Parameter names and shapes follow the ``finetuned.pth`` state dict exactly
(``blocks.N.attn.qkv``, ``logmel_extractor.melW``, ...), so the released
checkpoint loads with ``strict=True`` and no timm import.

Forward pass for a batch of (2, 320000) waveforms at 32 kHz:

1. STFT (n_fft 1024, hop 320, periodic Hann, centred, reflect) of both ears;
2. log-mel of the magnitude through ``melW`` (10·log10, floor 1e-10), then
   BatchNorm2d(2, affine=False);
3. IPD = ∠X_R − ∠X_L; cos(IPD) and sin(IPD), each projected by ``melW``;
4. the four (T=1001, 128) maps, bicubically stretched to 1024 frames,
   → conv3x3(4→1) + BatchNorm + GELU → 16×16 patches (64×8 = 512 tokens)
   + positional embedding → three learned class tokens prepended → 12 ViT blocks;
5. token 0 → ``dis_norm`` (distance embedding), token 1 → ``doa_norm``
   (direction embedding), token 2 → ``fc_norm`` (sound-event embedding).

The trained heads sit on those normalised tokens exactly as in Spatial-AST's
``SpatialAST.forward`` (zszheng147/Spatial-AST ``spatial_ast.py``): ``distance_head``
on the distance token, ``azimuth_head`` and ``elevation_head`` both on the direction
token. Being linear, they can be applied to saved embeddings after the fact
(:meth:`SpatialAST.head_logits`); :mod:`spatialeval.metrics.bat_heads` decodes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

EMBED_DIM = 768
DEPTH = 12
HEADS = 12
N_FFT = 1024
HOP = 320
N_MELS = 128
SAMPLE_RATE = 32000
CLIP_SAMPLES = 10 * SAMPLE_RATE
TARGET_FRAMES = 1024
PATCH = 16


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, dim = x.shape
        q, k, v = self.qkv(x).reshape(batch, tokens, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)  # scale 1/sqrt(head_dim), as in the original ViT
        return self.proj(out.transpose(1, 2).reshape(batch, tokens, dim))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: int = 4):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, dim * mlp_ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(1, dim, kernel_size=PATCH, stride=PATCH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, 64*8 tokens, dim), time-major


class STFTKernels(nn.Module):
    """Holds the checkpoint's frozen Conv1d STFT kernels (windowed DFT rows).

    The forward pass computes the same transform with ``torch.stft`` (an FFT);
    :meth:`max_deviation_from_dft` checks that a loaded checkpoint's kernels are the
    transform we compute, so a checkpoint with a different frontend is caught.
    """

    def __init__(self):
        super().__init__()
        self.conv_real = nn.Conv1d(1, N_FFT // 2 + 1, N_FFT, stride=HOP, bias=False)
        self.conv_imag = nn.Conv1d(1, N_FFT // 2 + 1, N_FFT, stride=HOP, bias=False)
        for parameter in self.parameters():
            parameter.requires_grad_(False)

    def max_deviation_from_dft(self) -> float:
        n = torch.arange(N_FFT, dtype=torch.float64)
        k = torch.arange(N_FFT // 2 + 1, dtype=torch.float64)
        window = torch.hann_window(N_FFT, periodic=True, dtype=torch.float64)
        angle = -2.0 * torch.pi * torch.outer(k, n) / N_FFT
        real, imag = torch.cos(angle) * window, torch.sin(angle) * window
        return max(
            float((self.conv_real.weight[:, 0].double() - real).abs().max()),
            float((self.conv_imag.weight[:, 0].double() - imag).abs().max()),
        )


class MelProjection(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("melW", torch.zeros(N_FFT // 2 + 1, N_MELS))


@dataclass(frozen=True)
class BATHeadLogits:
    """Raw outputs of the trained heads (decode with :func:`spatialeval.metrics.bat_heads.decode_heads`)."""

    azimuth: torch.Tensor  # (B, 360): azimuth_head(direction embedding), class k = k degrees (BAT convention)
    elevation: torch.Tensor  # (B, 180): elevation_head(direction embedding), class k = (k - 90) degrees
    distance: torch.Tensor  # (B, 21): distance_head(distance embedding), class k = 0.5·k metres


@dataclass(frozen=True)
class BATEmbeddings:
    distance: torch.Tensor  # (B, 768): token 0 after dis_norm
    direction: torch.Tensor  # (B, 768): token 1 after doa_norm
    heads: BATHeadLogits | None = None  # filled only by forward(..., with_heads=True)


class SpatialAST(nn.Module):
    """The BAT encoder with its classification heads (kept so the checkpoint loads strictly)."""

    def __init__(self, num_classes: int = 355, num_cls_tokens: int = 3):
        super().__init__()
        n_patches = (TARGET_FRAMES // PATCH) * (N_MELS // PATCH)
        self.pos_embed = nn.Parameter(torch.zeros(1, n_patches + 1, EMBED_DIM), requires_grad=False)
        self.cls_tokens = nn.Parameter(torch.zeros(1, num_cls_tokens, EMBED_DIM))
        self.patch_embed = PatchEmbed(EMBED_DIM)
        self.blocks = nn.ModuleList(Block(EMBED_DIM, HEADS) for _ in range(DEPTH))
        self.head = nn.Linear(EMBED_DIM, num_classes)
        self.spectrogram_extractor = STFTKernels()
        self.logmel_extractor = MelProjection()
        self.conv_downsample = nn.Sequential(nn.Conv2d(4, 1, 3, padding=1, bias=False), nn.BatchNorm2d(1), nn.GELU())
        self.bn = nn.BatchNorm2d(2, affine=False)
        self.dis_norm = nn.LayerNorm(EMBED_DIM, eps=1e-6)
        self.doa_norm = nn.LayerNorm(EMBED_DIM, eps=1e-6)
        self.fc_norm = nn.LayerNorm(EMBED_DIM, eps=1e-6)
        self.distance_head = nn.Linear(EMBED_DIM, 21)  # 0–10 m in 0.5 m classes
        self.azimuth_head = nn.Linear(EMBED_DIM, 360)  # degrees
        self.elevation_head = nn.Linear(EMBED_DIM, 180)  # degrees + 90
        self.eval()

    def spatial_features(self, waveforms: torch.Tensor) -> torch.Tensor:
        """(B, 2, samples) → (B, 4, frames, 128): normalised log-mels of both ears, mel-projected cos/sin IPD."""
        batch, channels, samples = waveforms.shape
        window = torch.hann_window(N_FFT, periodic=True, dtype=waveforms.dtype, device=waveforms.device)
        spec = torch.stft(
            waveforms.reshape(batch * channels, samples),
            N_FFT,
            HOP,
            N_FFT,
            window,
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )
        spec = spec.transpose(1, 2).reshape(batch, channels, -1, N_FFT // 2 + 1)  # (B, 2, T, bins)
        mel = self.logmel_extractor.melW
        log_mel = 10.0 * torch.log10(torch.clamp(spec.abs() @ mel, min=1e-10))
        log_mel = self.bn(log_mel)
        ipd = torch.angle(spec[:, 1]) - torch.angle(spec[:, 0])
        ipd_maps = torch.stack([torch.cos(ipd), torch.sin(ipd)], dim=1) @ mel
        return torch.cat([log_mel, ipd_maps], dim=1)

    def head_logits(self, direction: torch.Tensor, distance: torch.Tensor) -> BATHeadLogits:
        """The azimuth/elevation heads on direction embeddings and the distance head on distance embeddings.

        Accepts the embeddings :meth:`forward` returns (or saved ones, as tensors), shape (B, 768).
        """
        return BATHeadLogits(
            azimuth=self.azimuth_head(direction),
            elevation=self.elevation_head(direction),
            distance=self.distance_head(distance),
        )

    def forward(self, waveforms: torch.Tensor, with_heads: bool = False) -> BATEmbeddings:
        """(B, 2, 320000) 32-kHz waveforms → embeddings (and the heads' logits when ``with_heads``)."""
        x = self.spatial_features(waveforms)
        if x.shape[2] < TARGET_FRAMES:
            x = F.interpolate(x, (TARGET_FRAMES, x.shape[3]), mode="bicubic", align_corners=True)
        x = self.patch_embed(self.conv_downsample(x)) + self.pos_embed[:, 1:, :]
        x = torch.cat([self.cls_tokens.expand(x.shape[0], -1, -1), x], dim=1)
        for block in self.blocks:
            x = block(x)
        distance, direction = self.dis_norm(x[:, 0]), self.doa_norm(x[:, 1])
        heads = self.head_logits(direction, distance) if with_heads else None
        return BATEmbeddings(distance=distance, direction=direction, heads=heads)
