"""Tiny randomly initialised stand-ins of the third-party ASR / speaker models, built offline.

Each writer saves a model folder in the layout the real model ships in, so the backends in
:mod:`spatialeval.models.asr` and :mod:`spatialeval.models.speaker` load it through exactly
the code path the real model takes (local folder, ``local_files_only``, FunASR's folder
reader): loading, batching, language forcing and decoding all execute. The weights are
random, so the text they produce is garbage and their embeddings do not tell speakers
apart: tests built on them check mechanics (types, determinism, batch = one by one), never
accuracy. Sizes are a few layers of width 32–64: a folder is written in about a second.

* :func:`write_tiny_whisper` — ``WhisperForConditionalGeneration`` + ``WhisperProcessor``
  (a byte-level BPE tokenizer of the 256 byte symbols, a few merges and Whisper's special
  tokens, built with the ``tokenizers`` library; nothing is downloaded) + a generation
  config with the language and task tokens ``generate(language=..., task=...)`` needs.
* :func:`write_tiny_wavlm_xvector` — ``WavLMForXVector`` + its feature extractor.
* :func:`write_paraformer_standin` — a FunASR SeACo-Paraformer folder (``config.yaml``,
  ``model.pt``, ``tokens.json``, ``am.mvn``) with the released model's structure (SANM
  encoder, Paraformer SANM decoder, CIF predictor v3, LSTM bias encoder, SeACo decoder)
  shrunk to two blocks of width 64 and a 40-symbol vocabulary.
"""

from __future__ import annotations

import json
from pathlib import Path

WHISPER_SPECIALS = (
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
    "<|zh|>",
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nospeech|>",
    "<|notimestamps|>",
)


def _randomise(model, seed: int, scale: float) -> None:
    """Overwrite every parameter with N(0, scale²) (matrices) or N(0, (scale/3)²) (vectors): the default
    initialisation (std 0.02) gives near-constant outputs, which would make batch-vs-single tests vacuous."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, parameter in sorted(model.named_parameters()):
            std = scale if parameter.dim() > 1 else scale / 3
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * std)


def write_tiny_whisper(folder: str | Path, seed: int = 0) -> Path:
    """Save a 1-layer, 32-wide random Whisper (model, processor, generation config) to ``folder``."""
    from tokenizers import pre_tokenizers
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )

    folder = Path(folder)
    vocab = {symbol: i for i, symbol in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a")]
    for left, right in merges:
        vocab[left + right] = len(vocab)
    tokenizer = WhisperTokenizer(vocab=vocab, merges=merges, additional_special_tokens=list(WHISPER_SPECIALS[1:]))
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in WHISPER_SPECIALS}
    processor = WhisperProcessor(feature_extractor=WhisperFeatureExtractor(feature_size=80), tokenizer=tokenizer)
    eot, sot = ids["<|endoftext|>"], ids["<|startoftranscript|>"]
    config = WhisperConfig(
        vocab_size=len(tokenizer),
        num_mel_bins=80,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_source_positions=1500,
        max_target_positions=64,
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        decoder_start_token_id=sot,
        suppress_tokens=[],
        begin_suppress_tokens=[],
    )
    model = WhisperForConditionalGeneration(config)
    _randomise(model, seed, scale=0.3)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=sot,
        eos_token_id=eot,
        pad_token_id=eot,
        bos_token_id=eot,
        max_length=24,
        is_multilingual=True,
        lang_to_id={"<|en|>": ids["<|en|>"], "<|zh|>": ids["<|zh|>"]},
        task_to_id={"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]},
        no_timestamps_token_id=ids["<|notimestamps|>"],
        suppress_tokens=[],
        begin_suppress_tokens=[],
    )
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def write_tiny_wavlm_xvector(folder: str | Path, seed: int = 0, feat_extract_norm: str = "layer") -> Path:
    """Save a 2-layer, 32-wide random ``WavLMForXVector`` and its feature extractor to ``folder``.

    ``feat_extract_norm="layer"`` also mixes the hidden states with learned layer weights.
    """
    from transformers import Wav2Vec2FeatureExtractor, WavLMConfig, WavLMForXVector

    folder = Path(folder)
    config = WavLMConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16,) * 7,
        conv_bias=False,
        feat_extract_norm=feat_extract_norm,
        do_stable_layer_norm=feat_extract_norm == "layer",
        tdnn_dim=(32, 32, 32, 32, 64),
        xvector_output_dim=16,
        num_buckets=32,
        max_bucket_distance=100,
        use_weighted_layer_sum=feat_extract_norm == "layer",
    )  # both head variants get exercised
    model = WavLMForXVector(config)
    _randomise(model, seed, scale=0.2)
    model.save_pretrained(folder)
    Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=16000,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=feat_extract_norm == "layer",
    ).save_pretrained(folder)
    return folder


PARAFORMER_TOKENS = [
    "<blank>",
    "<s>",
    "</s>",
    *"的一是不了人我在有他这中大来上个国和也子时道说们为到今天气很好语音合成",
    "<unk>",
]


def paraformer_config(vocab_size: int) -> dict:
    """FunASR config of the SeACo-Paraformer stand-in (the released model's blocks, shrunk)."""
    width, ffn = 64, 128
    attention = {
        "attention_heads": 4,
        "linear_units": ffn,
        "dropout_rate": 0.1,
        "positional_dropout_rate": 0.1,
        "self_attention_dropout_rate": 0.1,
        "src_attention_dropout_rate": 0.1,
        "sanm_shfit": 0,
    }
    return {
        "model": "SeacoParaformer",
        "model_conf": {
            "ctc_weight": 0.0,
            "lsm_weight": 0.1,
            "length_normalized_loss": True,
            "predictor_weight": 1.0,
            "predictor_bias": 1,
            "sampling_ratio": 0.75,
            "inner_dim": width,
            "bias_encoder_type": "lstm",
            "bias_encoder_bid": False,
            "seaco_lsm_weight": 0.1,
            "seaco_length_normal": True,
            "train_decoder": True,
            "NO_BIAS": vocab_size - 2,
        },
        "encoder": "SANMEncoder",
        "encoder_conf": {
            "output_size": width,
            "attention_heads": 4,
            "linear_units": ffn,
            "num_blocks": 2,
            "dropout_rate": 0.1,
            "positional_dropout_rate": 0.1,
            "attention_dropout_rate": 0.1,
            "input_layer": "pe",
            "pos_enc_class": "SinusoidalPositionEncoder",
            "normalize_before": True,
            "kernel_size": 11,
            "sanm_shfit": 0,
            "selfattention_layer_type": "sanm",
        },
        "decoder": "ParaformerSANMDecoder",
        "decoder_conf": {**attention, "num_blocks": 2, "att_layer_num": 2, "kernel_size": 11},
        "seaco_decoder": "ParaformerSANMDecoder",
        "seaco_decoder_conf": {
            **attention,
            "num_blocks": 1,
            "kernel_size": 21,
            "use_output_layer": False,
            "wo_input_layer": True,
        },
        "predictor": "CifPredictorV3",
        "predictor_conf": {
            "idim": width,
            "threshold": 1.0,
            "l_order": 1,
            "r_order": 1,
            "tail_threshold": 0.45,
            "smooth_factor2": 0.25,
            "noise_threshold2": 0.01,
            "upsample_times": 3,
            "use_cif1_cnn": False,
            "upsample_type": "cnn_blstm",
        },
        "frontend": "WavFrontend",
        "frontend_conf": {
            "fs": 16000,
            "window": "hamming",
            "n_mels": 80,
            "frame_length": 25,
            "frame_shift": 10,
            "lfr_m": 7,
            "lfr_n": 6,
            "dither": 0.0,
        },
        "tokenizer": "CharTokenizer",
        "tokenizer_conf": {"unk_symbol": "<unk>", "split_with_space": True},
    }


def write_paraformer_standin(folder: str | Path, seed: int = 0) -> Path:
    """Save a random SeACo-Paraformer in FunASR's folder layout to ``folder`` (needs funasr)."""
    import funasr.models  # noqa: F401  (fills FunASR's registry)
    import torch
    import yaml
    from funasr.register import tables

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = paraformer_config(len(PARAFORMER_TOKENS))
    features = config["frontend_conf"]["n_mels"] * config["frontend_conf"]["lfr_m"]  # 80 mels x 7 stacked frames
    (folder / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (folder / "tokens.json").write_text(json.dumps(PARAFORMER_TOKENS, ensure_ascii=False), encoding="utf-8")
    # Kaldi nnet-style global CMVN: shift 0, scale 1 (identity), the format FunASR's WavFrontend reads.
    zeros, ones = " ".join(["0"] * features), " ".join(["1"] * features)
    (folder / "am.mvn").write_text(
        f"<Nnet>\n<Splice> {features} {features}\n[ 0 ]\n<AddShift> {features} {features}\n<LearnRateCoef> 0 [ {zeros} ]\n"
        f"<Rescale> {features} {features}\n<LearnRateCoef> 0 [ {ones} ]\n</Nnet>\n",
        encoding="utf-8",
    )
    arguments = {**config, **config["model_conf"], "vocab_size": len(PARAFORMER_TOKENS), "input_size": features}
    model = tables.model_classes["SeacoParaformer"](**arguments)
    _randomise(model, seed, scale=0.2)
    torch.save(model.state_dict(), folder / "model.pt")
    return folder
