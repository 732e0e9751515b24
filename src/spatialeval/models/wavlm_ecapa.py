"""seed-tts-eval's SIM model (WavLM-Large + ECAPA-TDNN) loaded from ``wavlm_large_finetune.pth`` in plain torch.

The checkpoint (UniSpeech ``downstreams/speaker_verification``) stores ``{'model': state_dict}``
of the UniSpeech ``ECAPA_TDNN`` module: the s3prl WavLM upstream under
``feature_extract.model.*`` (fairseq-style names) and the ECAPA-TDNN head at the top level
(``feature_weight``, ``layer1.*`` ... ``linear.*``). Here the backbone is transformers'
:class:`~transformers.WavLMModel` — :func:`map_backbone_key` renames each fairseq tensor to
its transformers name — and the head is :class:`~spatialeval.models.ecapa_tdnn.ECAPAHead`.

Loading is strict: ``torch.load(weights_only=True)`` (no pickled code runs), then every
tensor the model needs must be present with its exact shape and every tensor in the file
must be used, except the training-only keys in :data:`IGNORED_PREFIXES`. The architecture
(layers, widths, heads) is read from the tensor shapes, so the same code loads the real
WavLM-Large file and the small stand-ins of :mod:`spatialeval.models.standins.wavlm_ecapa`;
values that no tensor records (conv strides, relative-position distance) are WavLM-Large's.

Embedding one utterance, as seed-tts-eval's ``verification.py`` does: 16 kHz mono float32
waveform normalised to zero mean and unit variance over the whole clip
(``F.layer_norm(wav, wav.shape)``: s3prl's WavLM-Large ``normalize=True``), WavLM hidden states
= the input of each of the L transformer layers plus the final layer-normed output (L+1,
s3prl's ``hidden_states``), then the ECAPA head. Batches are zero-padded with an attention
mask; the head runs on each utterance's own frames, so a batch gives the one-by-one result
up to float rounding.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from spatialeval.models.ecapa_tdnn import ECAPAHead

BACKBONE_PREFIX = "feature_extract.model."
# Training-only tensors the released file is reported to carry (the AAM-softmax projection of
# the speaker-classification loss); they take no part in the embedding.
IGNORED_PREFIXES = ("loss_calculator.",)
# Values no tensor records, from the WavLM-Large configuration that s3prl loads.
CONV_KERNELS = (10, 3, 3, 3, 3, 2, 2)
CONV_STRIDES = (5, 2, 2, 2, 2, 2, 2)
MAX_BUCKET_DISTANCE = 800
SAMPLE_RATE = 16000


class SVCheckpointError(ValueError):
    """A speaker-verification checkpoint that cannot be read or does not match the model."""


_LAYER = re.compile(r"encoder\.layers\.(\d+)\.(.+)")
_CONV = re.compile(r"feature_extractor\.conv_layers\.(\d+)\.(.+)")
_LAYER_PARTS = {
    "self_attn.q_proj.": "attention.q_proj.",
    "self_attn.k_proj.": "attention.k_proj.",
    "self_attn.v_proj.": "attention.v_proj.",
    "self_attn.out_proj.": "attention.out_proj.",
    "self_attn.grep_linear.": "attention.gru_rel_pos_linear.",
    "self_attn.grep_a": "attention.gru_rel_pos_const",
    "self_attn.relative_attention_bias.": "attention.rel_attn_embed.",
    "self_attn_layer_norm.": "layer_norm.",
    "fc1.": "feed_forward.intermediate_dense.",
    "fc2.": "feed_forward.output_dense.",
    "final_layer_norm.": "final_layer_norm.",
}
_TOP_PARTS = {
    "post_extract_proj.": "feature_projection.projection.",
    "layer_norm.": "feature_projection.layer_norm.",
    "encoder.layer_norm.": "encoder.layer_norm.",
    "encoder.pos_conv.0.bias": "encoder.pos_conv_embed.conv.bias",
    "encoder.pos_conv.0.weight_g": "encoder.pos_conv_embed.conv.parametrizations.weight.original0",
    "encoder.pos_conv.0.weight_v": "encoder.pos_conv_embed.conv.parametrizations.weight.original1",
    "mask_emb": "masked_spec_embed",
}


def map_backbone_key(name: str) -> str | None:
    """transformers ``WavLMModel`` name of a fairseq/UniSpeech WavLM tensor name, or None if unknown.

    ``name`` is relative to the WavLM module (the checkpoint's ``feature_extract.model.``
    prefix removed). The positional convolution's weight norm is named as
    ``torch.nn.utils.parametrizations.weight_norm`` stores it (``original0`` = g, ``original1`` = v).

    Example:
        >>> map_backbone_key("encoder.layers.3.self_attn.grep_a")
        'encoder.layers.3.attention.gru_rel_pos_const'
        >>> map_backbone_key("feature_extractor.conv_layers.0.2.1.weight")
        'feature_extractor.conv_layers.0.layer_norm.weight'
        >>> map_backbone_key("layer_norm.bias")
        'feature_projection.layer_norm.bias'
        >>> map_backbone_key("quantizer.vars") is None
        True
    """
    if match := _CONV.fullmatch(name):
        index, rest = match.groups()
        conv_parts = {
            "0.weight": "conv.weight",
            "0.bias": "conv.bias",
            "2.1.weight": "layer_norm.weight",
            "2.1.bias": "layer_norm.bias",  # layer_norm mode
            "2.weight": "layer_norm.weight",
            "2.bias": "layer_norm.bias",
        }  # group norm (layer 0)
        return f"feature_extractor.conv_layers.{index}.{conv_parts[rest]}" if rest in conv_parts else None
    if match := _LAYER.fullmatch(name):
        index, rest = match.groups()
        for old, new in _LAYER_PARTS.items():
            if rest.startswith(old) or rest == old:
                return f"encoder.layers.{index}.{new}{rest[len(old) :]}"
        return None
    for old, new in _TOP_PARTS.items():
        if name == old or (old.endswith(".") and name.startswith(old)):
            return new + name[len(old) :]
    return None


@dataclass(frozen=True)
class Architecture:
    """The widths and depths read from a checkpoint's tensor shapes."""

    layers: int
    hidden: int
    ffn: int
    heads: int
    conv_dims: tuple[int, ...]
    conv_bias: bool
    feat_extract_norm: str  # "layer" (WavLM-Large) or "group"
    pos_kernel: int
    pos_groups: int
    num_buckets: int
    ecapa_channels: int
    ecapa_pooled: int
    emb_dim: int

    def summary(self) -> str:
        return (
            f"WavLM {self.layers} layers x {self.hidden} (ffn {self.ffn}, {self.heads} heads) + "
            f"ECAPA-TDNN {self.ecapa_channels} channels -> {self.emb_dim}-d"
        )

    @property
    def is_wavlm_large(self) -> bool:
        return (self.layers, self.hidden, self.ffn, self.heads, self.ecapa_channels, self.emb_dim) == (
            24,
            1024,
            4096,
            16,
            512,
            256,
        )


def _shape(state: dict[str, torch.Tensor], key: str) -> tuple[int, ...]:
    if key not in state:
        raise SVCheckpointError(
            f"missing tensor {key!r}: not a UniSpeech WavLM + ECAPA-TDNN speaker-verification checkpoint"
        )
    return tuple(state[key].shape)


def infer_architecture(state: dict[str, torch.Tensor]) -> Architecture:
    """Read the model's sizes from the tensor shapes of a checkpoint's ``model`` state dict."""
    p = BACKBONE_PREFIX
    layer_ids = {int(m.group(1)) for k in state if (m := _LAYER.fullmatch(k[len(p) :]) if k.startswith(p) else None)}
    if not layer_ids:
        raise SVCheckpointError(f"no '{p}encoder.layers.N.*' tensors: not a UniSpeech WavLM + ECAPA-TDNN checkpoint")
    conv_ids = sorted(
        {int(m.group(1)) for k in state if (m := _CONV.fullmatch(k[len(p) :]) if k.startswith(p) else None)}
    )
    conv_shapes = [_shape(state, f"{p}feature_extractor.conv_layers.{i}.0.weight") for i in conv_ids]
    kernels = tuple(s[2] for s in conv_shapes)
    if kernels != CONV_KERNELS:
        raise SVCheckpointError(f"feature-extractor conv kernels {kernels} differ from WavLM's {CONV_KERNELS}")
    hidden = _shape(state, f"{p}encoder.layer_norm.weight")[0]
    heads = _shape(state, f"{p}encoder.layers.0.self_attn.grep_a")[1]
    pos_v = _shape(state, f"{p}encoder.pos_conv.0.weight_v")
    layer_norm_mode = f"{p}feature_extractor.conv_layers.0.2.1.weight" in state
    return Architecture(
        layers=max(layer_ids) + 1,
        hidden=hidden,
        ffn=_shape(state, f"{p}encoder.layers.0.fc1.weight")[0],
        heads=heads,
        conv_dims=tuple(s[0] for s in conv_shapes),
        conv_bias=f"{p}feature_extractor.conv_layers.0.0.bias" in state,
        feat_extract_norm="layer" if layer_norm_mode else "group",
        pos_kernel=pos_v[2],
        pos_groups=hidden // pos_v[1],
        num_buckets=_shape(state, f"{p}encoder.layers.0.self_attn.relative_attention_bias.weight")[0],
        ecapa_channels=_shape(state, "layer1.conv.weight")[0],
        ecapa_pooled=_shape(state, "conv.weight")[0],
        emb_dim=_shape(state, "linear.weight")[0],
    )


def wavlm_config(arch: Architecture):
    """A transformers ``WavLMConfig`` for ``arch`` (dropouts are irrelevant: the model runs in eval mode)."""
    from transformers import WavLMConfig

    return WavLMConfig(
        hidden_size=arch.hidden,
        num_hidden_layers=arch.layers,
        num_attention_heads=arch.heads,
        intermediate_size=arch.ffn,
        hidden_act="gelu",
        layer_norm_eps=1e-5,
        conv_dim=arch.conv_dims,
        conv_kernel=CONV_KERNELS,
        conv_stride=CONV_STRIDES,
        conv_bias=arch.conv_bias,
        feat_extract_norm=arch.feat_extract_norm,
        feat_extract_activation="gelu",
        do_stable_layer_norm=True,  # WavLM-Large is pre-LN (layer_norm_first)
        num_conv_pos_embeddings=arch.pos_kernel,
        num_conv_pos_embedding_groups=arch.pos_groups,
        num_buckets=arch.num_buckets,
        max_bucket_distance=MAX_BUCKET_DISTANCE,
        mask_time_prob=0.05,  # keeps masked_spec_embed (the checkpoint's mask_emb); never applied in eval mode
    )


def build_modules(arch: Architecture):
    """Untrained ``(WavLMModel, ECAPAHead)`` of ``arch`` on the current default device."""
    from transformers import WavLMModel

    backbone = WavLMModel(wavlm_config(arch))
    head = ECAPAHead(
        feat_dim=arch.hidden,
        num_hidden_states=arch.layers + 1,
        channels=arch.ecapa_channels,
        emb_dim=arch.emb_dim,
        pooled_channels=arch.ecapa_pooled,
    )
    return backbone, head


def split_state_dict(state: dict[str, torch.Tensor], backbone_keys, head_keys) -> tuple[dict, dict]:
    """Rename and split a checkpoint state dict into (backbone, head) dicts, strictly.

    Raises SVCheckpointError naming the missing and the unexpected keys (checkpoint names).
    """
    backbone, head, unknown = {}, {}, []
    for key, tensor in state.items():
        if key.startswith(IGNORED_PREFIXES):
            continue
        if key.startswith(BACKBONE_PREFIX):
            target = map_backbone_key(key[len(BACKBONE_PREFIX) :])
            if target is None or target not in backbone_keys:
                unknown.append(key)
            else:
                backbone[target] = tensor
        elif key in head_keys:
            head[key] = tensor
        else:
            unknown.append(key)
    missing = sorted(
        {f"(backbone) {k}" for k in set(backbone_keys) - set(backbone)} | {k for k in set(head_keys) - set(head)}
    )
    if missing or unknown:

        def listing(keys):
            return f"{keys[:8]}{' ...' if len(keys) > 8 else ''} ({len(keys)} in all)"

        raise SVCheckpointError(
            f"tensors do not match WavLM + ECAPA-TDNN: missing {listing(missing) if missing else 'none'}; "
            f"unexpected {listing(sorted(unknown)) if unknown else 'none'}"
        )
    return backbone, head


def read_sv_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The ``model`` state dict of a speaker-verification checkpoint, loaded without running pickled code."""
    try:
        payload = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt or unsafe files
        raise SVCheckpointError(f"{path}: cannot load as a weights-only torch checkpoint ({exc})") from exc
    state = payload.get("model", payload) if isinstance(payload, dict) else None
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise SVCheckpointError(f"{path}: no state dict of tensors found (expected {{'model': state_dict}})")
    return state


class WavLMECAPA:
    """The loaded model: :meth:`embed_batch` maps 16 kHz mono clips to 256-d embeddings."""

    def __init__(self, state: dict[str, torch.Tensor], device: str = "cpu"):
        self.arch = infer_architecture(state)
        backbone, head = build_modules(self.arch)
        backbone_state, head_state = split_state_dict(state, backbone.state_dict().keys(), head.state_dict().keys())
        try:
            backbone.load_state_dict(
                {k: v.float() if v.is_floating_point() else v for k, v in backbone_state.items()}, strict=True
            )
            head.load_state_dict(
                {k: v.float() if v.is_floating_point() else v for k, v in head_state.items()}, strict=True
            )
        except RuntimeError as exc:
            raise SVCheckpointError(f"tensor shapes do not match WavLM + ECAPA-TDNN ({exc})") from exc
        self.device = torch.device(device)
        self.backbone = backbone.to(self.device).eval()
        self.head = head.to(self.device).eval()
        for module in (self.backbone, self.head):
            for parameter in module.parameters():
                parameter.requires_grad_(False)
        # s3prl's hidden_states: the input of every transformer layer, then the encoder's output.
        self._captured: list[torch.Tensor] = []
        for layer in self.backbone.encoder.layers:
            layer.register_forward_pre_hook(self._capture_layer_input, with_kwargs=True)

    def _capture_layer_input(self, module, args, kwargs):
        self._captured.append(args[0] if args else kwargs["hidden_states"])

    @torch.inference_mode()
    def hidden_states(self, waveforms: Sequence[np.ndarray]) -> list[torch.Tensor]:
        """Per clip, its ``(L+1, frames, hidden)`` hidden states (one padded forward for all clips)."""
        tensors = [torch.as_tensor(np.asarray(w, dtype=np.float32)) for w in waveforms]
        tensors = [F.layer_norm(t, t.shape) for t in tensors]  # s3prl normalize=True: zero mean, unit variance
        lengths = torch.tensor([t.numel() for t in tensors])
        batch = torch.zeros(len(tensors), int(lengths.max()))
        for row, t in enumerate(tensors):
            batch[row, : t.numel()] = t
        mask = (torch.arange(batch.shape[1])[None, :] < lengths[:, None]).long()
        self._captured = []
        with warnings.catch_warnings():  # torch's MHA warns about mixing a bool padding mask with a float bias
            warnings.simplefilter("ignore", UserWarning)
            output = self.backbone(batch.to(self.device), attention_mask=mask.to(self.device))
        layers = self._captured + [output.last_hidden_state]
        self._captured = []
        if len(layers) != self.arch.layers + 1:
            raise RuntimeError(f"captured {len(layers)} hidden states, expected {self.arch.layers + 1}")
        frames = self.backbone._get_feat_extract_output_lengths(lengths).tolist()
        stacked = torch.stack(layers)  # (L+1, B, T, D)
        return [stacked[:, row, : int(n)] for row, n in enumerate(frames)]

    @torch.inference_mode()
    def embed_batch(self, waveforms: Sequence[np.ndarray]) -> list[np.ndarray]:
        """256-d float64 embeddings of 16 kHz mono clips, in order."""
        return [self.head(h).double().cpu().numpy() for h in self.hidden_states(waveforms)]


def min_samples() -> int:
    """Shortest input (samples) for which WavLM's feature extractor yields a frame: 400 (25 ms)."""
    length = 1
    for kernel, stride in reversed(list(zip(CONV_KERNELS, CONV_STRIDES))):
        length = (length - 1) * stride + kernel
    return length
