"""Stand-ins for seed-tts-eval's ``wavlm_large_finetune.pth``, for tests and offline demos.

:func:`checkpoint_shapes` lists the tensor names and shapes of the UniSpeech
``ECAPA_TDNN_SMALL(feat_dim=1024, feat_type='wavlm_large')`` state dict as its public model
definition lays them out (UniSpeech ``downstreams/speaker_verification/models/ecapa_tdnn.py``
around the s3prl WavLM upstream, itself UniSpeech ``WavLM/WavLM.py`` with the WavLM-Large
configuration): the WavLM module under ``feature_extract.model.`` with fairseq-style names, the
ECAPA-TDNN head at the top level. It is written from that definition alone, independently of the
renaming in :mod:`spatialeval.models.wavlm_ecapa`, so a test that loads a stand-in built from it
checks the renaming against the layout the real file has.

``small=True`` shrinks the WavLM backbone (2 layers, width 64) so a forward pass is fast; the
ECAPA head keeps its released widths. Weights are pseudo-random: a stand-in exercises loading
and the forward pass, it does not tell speakers apart.

Fill rule: one ``numpy.random.default_rng(seed)`` stream, keys in sorted order, float64 draws
cast to float32; ``num_batches_tracked`` = 0 without a draw; norm-layer weights and the weight
norm's ``weight_g`` ~ 1 + N(0, 0.02); BatchNorm running means ~ N(0, 0.1), running variances
~ 1 + U(0, 0.5); everything else ~ N(0, 0.02).

Command line: ``python -m spatialeval.models.standins.wavlm_ecapa OUT.pth [--small] [--seed N]``.
"""

from __future__ import annotations

import argparse
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

# WavLM-Large as s3prl configures it, and the released ECAPA-TDNN head.
LARGE = dict(layers=24, dim=1024, ffn=4096, heads=16, conv_dim=512)
SMALL = dict(layers=2, dim=64, ffn=128, heads=4, conv_dim=32)
CONV_LAYERS = ((10, 5),) + ((3, 2),) * 4 + ((2, 2),) * 2  # (kernel, stride) of the 7 feature-extractor convs
POS_CONV_KERNEL, POS_CONV_GROUPS, NUM_BUCKETS, GRU_REL_POS_DIM = 128, 16, 320, 8
ECAPA_CHANNELS, ECAPA_POOLED, ECAPA_ATTENTION, SE_BOTTLENECK, RES2_SCALE, EMB_DIM = 512, 1536, 128, 128, 8, 256


def checkpoint_shapes(small: bool = False) -> "OrderedDict[str, tuple[int, ...]]":
    """Names and shapes of the checkpoint's ``model`` state dict (see the module docstring).

    Example:
        >>> shapes = checkpoint_shapes()
        >>> shapes["feature_weight"], shapes["linear.weight"]
        ((25,), (256, 3072))
        >>> shapes["feature_extract.model.encoder.layers.0.self_attn.relative_attention_bias.weight"]
        (320, 16)
    """
    size = SMALL if small else LARGE
    dim, heads, ffn, conv_dim = size["dim"], size["heads"], size["ffn"], size["conv_dim"]
    shapes: OrderedDict[str, tuple[int, ...]] = OrderedDict()
    w = "feature_extract.model."
    shapes[w + "mask_emb"] = (dim,)
    channels_in = 1
    for index, (kernel, _stride) in enumerate(CONV_LAYERS):
        # extractor_mode="layer_norm": Sequential(conv (no bias), dropout, Sequential(transpose, LayerNorm, transpose), GELU)
        shapes[f"{w}feature_extractor.conv_layers.{index}.0.weight"] = (conv_dim, channels_in, kernel)
        shapes[f"{w}feature_extractor.conv_layers.{index}.2.1.weight"] = (conv_dim,)
        shapes[f"{w}feature_extractor.conv_layers.{index}.2.1.bias"] = (conv_dim,)
        channels_in = conv_dim
    shapes[w + "post_extract_proj.weight"] = (dim, conv_dim)
    shapes[w + "post_extract_proj.bias"] = (dim,)
    shapes[w + "encoder.pos_conv.0.bias"] = (dim,)
    shapes[w + "encoder.pos_conv.0.weight_g"] = (1, 1, POS_CONV_KERNEL)  # weight_norm over dim=2
    shapes[w + "encoder.pos_conv.0.weight_v"] = (dim, dim // POS_CONV_GROUPS, POS_CONV_KERNEL)
    for layer in range(size["layers"]):
        a = f"{w}encoder.layers.{layer}."
        for proj in ("k_proj", "v_proj", "q_proj"):
            shapes[f"{a}self_attn.{proj}.weight"] = (dim, dim)
            shapes[f"{a}self_attn.{proj}.bias"] = (dim,)
        shapes[a + "self_attn.out_proj.weight"] = (dim, dim)
        shapes[a + "self_attn.out_proj.bias"] = (dim,)
        if layer == 0:  # relative position bias lives in the first layer only
            shapes[a + "self_attn.relative_attention_bias.weight"] = (NUM_BUCKETS, heads)
        shapes[a + "self_attn.grep_linear.weight"] = (GRU_REL_POS_DIM, dim // heads)
        shapes[a + "self_attn.grep_linear.bias"] = (GRU_REL_POS_DIM,)
        shapes[a + "self_attn.grep_a"] = (1, heads, 1, 1)
        shapes[a + "self_attn_layer_norm.weight"] = (dim,)
        shapes[a + "self_attn_layer_norm.bias"] = (dim,)
        shapes[a + "fc1.weight"] = (ffn, dim)
        shapes[a + "fc1.bias"] = (ffn,)
        shapes[a + "fc2.weight"] = (dim, ffn)
        shapes[a + "fc2.bias"] = (dim,)
        shapes[a + "final_layer_norm.weight"] = (dim,)
        shapes[a + "final_layer_norm.bias"] = (dim,)
    shapes[w + "encoder.layer_norm.weight"] = (dim,)
    shapes[w + "encoder.layer_norm.bias"] = (dim,)
    shapes[w + "layer_norm.weight"] = (conv_dim,)  # WavLM.layer_norm over the conv features
    shapes[w + "layer_norm.bias"] = (conv_dim,)

    def batch_norm(prefix: str, width: int) -> None:
        for leaf in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{prefix}.{leaf}"] = (width,)
        shapes[f"{prefix}.num_batches_tracked"] = ()

    c = ECAPA_CHANNELS
    shapes["feature_weight"] = (size["layers"] + 1,)
    shapes["layer1.conv.weight"] = (c, dim, 5)
    shapes["layer1.conv.bias"] = (c,)
    batch_norm("layer1.bn", c)
    for block in ("layer2", "layer3", "layer4"):
        for conv in ("Conv1dReluBn1", "Conv1dReluBn2"):
            shapes[f"{block}.{conv}.conv.weight"] = (c, c, 1)
            shapes[f"{block}.{conv}.conv.bias"] = (c,)
            batch_norm(f"{block}.{conv}.bn", c)
        width = c // RES2_SCALE
        for branch in range(RES2_SCALE - 1):
            shapes[f"{block}.Res2Conv1dReluBn.convs.{branch}.weight"] = (width, width, 3)
            shapes[f"{block}.Res2Conv1dReluBn.convs.{branch}.bias"] = (width,)
            batch_norm(f"{block}.Res2Conv1dReluBn.bns.{branch}", width)
        shapes[f"{block}.SE_Connect.linear1.weight"] = (SE_BOTTLENECK, c)
        shapes[f"{block}.SE_Connect.linear1.bias"] = (SE_BOTTLENECK,)
        shapes[f"{block}.SE_Connect.linear2.weight"] = (c, SE_BOTTLENECK)
        shapes[f"{block}.SE_Connect.linear2.bias"] = (c,)
    shapes["conv.weight"] = (ECAPA_POOLED, 3 * c, 1)
    shapes["conv.bias"] = (ECAPA_POOLED,)
    shapes["pooling.linear1.weight"] = (ECAPA_ATTENTION, ECAPA_POOLED, 1)
    shapes["pooling.linear1.bias"] = (ECAPA_ATTENTION,)
    shapes["pooling.linear2.weight"] = (ECAPA_POOLED, ECAPA_ATTENTION, 1)
    shapes["pooling.linear2.bias"] = (ECAPA_POOLED,)
    batch_norm("bn", 2 * ECAPA_POOLED)
    shapes["linear.weight"] = (EMB_DIM, 2 * ECAPA_POOLED)
    shapes["linear.bias"] = (EMB_DIM,)
    return shapes


_NORM_WEIGHTS = ("layer_norm.weight", ".2.1.weight", "bn.weight", ".weight_g")


def _draw(key: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    if key.endswith("running_mean"):
        return rng.normal(0.0, 0.1, size=shape)
    if key.endswith("running_var"):
        return 1.0 + rng.uniform(0.0, 0.5, size=shape)
    if key.endswith(_NORM_WEIGHTS) or (".bns." in key and key.endswith(".weight")):
        return 1.0 + rng.normal(0.0, 0.02, size=shape)
    return rng.normal(0.0, 0.02, size=shape)


def build_sv_test_state_dict(seed: int = 0, small: bool = True) -> "OrderedDict[str, torch.Tensor]":
    """The seed's stand-in state dict (float32; ``num_batches_tracked`` int64)."""
    shapes = checkpoint_shapes(small)
    rng = np.random.default_rng(seed)
    values = {}
    for key in sorted(shapes):
        if key.endswith("num_batches_tracked"):
            values[key] = torch.zeros(shapes[key], dtype=torch.int64)
        else:
            values[key] = torch.from_numpy(_draw(key, shapes[key], rng).astype(np.float32))
    return OrderedDict((key, values[key]) for key in shapes)


def write_sv_test_checkpoint(path: str | Path, seed: int = 0, small: bool = True) -> Path:
    """Write ``{'model': state_dict}`` to ``path`` (small: about 25 MB; full size: about 1.3 GB)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": build_sv_test_state_dict(seed, small)}, str(path))
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", help="where to write the .pth")
    parser.add_argument(
        "--small", action="store_true", help="2-layer, 64-wide WavLM (fast); default: full WavLM-Large shapes"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(write_sv_test_checkpoint(args.out, seed=args.seed, small=args.small))


if __name__ == "__main__":
    main()
