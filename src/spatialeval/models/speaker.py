"""Speaker encoders for the SIM metric, behind one small interface.

Input rule, the same for every backend: the clip is downmixed to mono (mean of channels)
and resampled to 16 kHz (``scipy.signal.resample_poly``) by the caller, then
:func:`normalise_level` scales it to −30 dBFS RMS — up *or down* — so SIM does not depend
on playback level. Each backend then applies its own preprocessing:

* ``resemblyzer`` (default): Resemblyzer's GE2E voice encoder (3-layer LSTM, 256-d
  embedding) whose weights ship inside the wheel. Silences longer than its VAD window are
  trimmed with webrtcvad (mode 3) and the remaining speech is scaled to −30 dBFS RMS again
  (the LSTM reads a linear-power mel spectrogram, so the level of the speech itself must
  be fixed, not that of speech plus pauses). ``embed_utterance`` averages the embeddings of
  1.6-s partial windows (50 % overlap) and L2-normalises the mean. Resemblyzer's own
  volume step only ever raises the level, which made SIM move by 0.02–0.04 per 6 dB before
  this rule. Deterministic on CPU.
* ``wavlm``: a Hugging Face ``WavLMForXVector`` speaker-verification checkpoint
  (e.g. ``microsoft/wavlm-base-plus-sv``) from a local folder or the local Hugging Face
  cache, ``local_files_only=True``; its x-vector ``embeddings`` output.
* ``wavlm-ecapa``: the model seed-tts-eval (and so ISDrama) reports SIM with — WavLM-Large
  fine-tuned for speaker verification with an ECAPA-TDNN head, UniSpeech's
  ``wavlm_large_finetune.pth`` — loaded in plain torch by
  :mod:`spatialeval.models.wavlm_ecapa` (transformers' WavLM backbone, the head written
  here). Its input is further normalised to zero mean and unit variance, as in seed-tts-eval.
  seed-tts-eval itself reads the first channel of a multichannel file and resamples with
  torchaudio; here the mean of channels and ``resample_poly`` are used, as for the other backends.

Nothing is ever downloaded: a missing package or checkpoint raises
:class:`~spatialeval.errors.StageUnavailable` saying how to fetch it.
Every backend keeps the :class:`~spatialeval.models.backend.Backend` contract (``load`` from a
:class:`~spatialeval.pipeline.stages.sim.SIMSettings`, ``describe``, ``one``/``batch``);
``supports_batch`` is set where ``batch`` embeds several clips in one padded forward pass.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

# NoSpeech lives in spatialeval.errors (the SIM stage catches it without importing this module); importable from here too.
from spatialeval.errors import NoSpeech, StageUnavailable
from spatialeval.io.audio import as_mono_signal, as_time_channels
from spatialeval.models.backend import Backend
from spatialeval.models.local_hf import batched, expand_model_path, from_local_pretrained

WAVLM_DEFAULT = "microsoft/wavlm-base-plus-sv"
LEVEL_DBFS = -30.0
SEED_TTS_SV_URL = "https://drive.google.com/file/d/1-aE1NfzpRCLxA4GUxX9ITI3F9LlbtEGP/view"


def normalise_level(audio: np.ndarray, target_dbfs: float = LEVEL_DBFS) -> np.ndarray:
    """``audio`` scaled so its RMS is ``target_dbfs`` (raised or lowered), clipped to [-1, 1].

    Raises :class:`NoSpeech` for digital silence (nothing to scale).

    Example:
        >>> x = normalise_level(np.array([0.5, -0.5, 0.5, -0.5]), -20.0)
        >>> round(float(20 * np.log10(np.sqrt(np.mean(x ** 2)))), 6)
        -20.0
        >>> bool(np.allclose(normalise_level(0.01 * x), normalise_level(x)))
        True
    """
    audio = as_mono_signal(audio, "speaker encoder")
    rms = float(np.sqrt(np.mean(audio * audio)))
    if rms == 0.0:
        raise NoSpeech("digital silence (all samples zero): no speech to embed")
    return np.clip(audio * (10.0 ** (target_dbfs / 20.0) / rms), -1.0, 1.0)


class SpeakerEncoder(Backend):
    """A speaker encoder (:class:`~spatialeval.models.backend.Backend`): ``one`` maps mono audio at
    ``sample_rate`` to a speaker embedding (1-D float array); ``embed``/``embed_batch`` are its callers'
    names for one/batch."""

    label: ClassVar[str] = "SIM"

    def embed(self, audio: np.ndarray) -> np.ndarray:
        """The embedding of one clip (:meth:`one`)."""
        return self.one(audio)

    def embed_batch(self, audios: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Embeddings of several clips, in order (:meth:`batch`)."""
        return self.batch(audios)


class ResemblyzerEncoder(SpeakerEncoder):
    name = "resemblyzer"
    devices = ("cpu",)  # a small LSTM: the SIM stage always runs it on the CPU

    def __init__(self, device: str = "cpu") -> None:
        try:
            with warnings.catch_warnings():  # resemblyzer imports scipy.ndimage.morphology (deprecated)
                warnings.simplefilter("ignore", DeprecationWarning)
                import resemblyzer
                from resemblyzer import VoiceEncoder
                from resemblyzer.audio import trim_long_silences
                from resemblyzer.hparams import sampling_rate
        except ImportError as exc:
            raise StageUnavailable(
                f"SIM backend resemblyzer cannot be imported ({exc}): pip install 'spatialeval[speech]' "
                "(resemblyzer, webrtcvad-wheels; its weights ship inside the wheel)"
            ) from None
        weights = Path(resemblyzer.__file__).resolve().parent / "pretrained.pt"
        if not weights.is_file():
            raise StageUnavailable(
                f"resemblyzer's weights are missing from its install ({weights}); reinstall resemblyzer"
            )
        self._encoder = VoiceEncoder(device, verbose=False)
        self._encoder.eval()
        self._trim = trim_long_silences
        self.sample_rate = int(sampling_rate)
        self._weights_sha256 = hashlib.sha256(weights.read_bytes()).hexdigest()
        self._device = device

    @classmethod
    def from_config(cls, settings, device: str = "cpu") -> "ResemblyzerEncoder":
        if settings.model_path:
            raise StageUnavailable(
                "the resemblyzer backend uses the weights shipped in its wheel; "
                "sim.model_path is for the wavlm / wavlm-ecapa backends (unset it or change the backend)"
            )
        cls.check_device(device)
        return cls(device)

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "model": "Resemblyzer GE2E VoiceEncoder (pretrained.pt shipped in the wheel)",
            "weights_sha256": self._weights_sha256,
            "sample_rate": self.sample_rate,
            "preprocessing": (
                f"scaled to {LEVEL_DBFS:g} dBFS RMS, long silences trimmed with webrtcvad "
                f"(resemblyzer.trim_long_silences), the remaining speech scaled to {LEVEL_DBFS:g} dBFS RMS"
            ),
            "embedding": "mean of 1.6-s partial embeddings, L2-normalised (embed_utterance defaults)",
        }

    def one(self, audio: np.ndarray) -> np.ndarray:
        # Fixing the level before the VAD makes its int16 input, and so its decisions, level-independent.
        wav = self._trim(normalise_level(audio))
        if wav.size < self.sample_rate // 10:
            raise NoSpeech(
                f"less than 0.1 s of speech left after resemblyzer's VAD trimming "
                f"({wav.size} samples at {self.sample_rate} Hz): silent or non-speech audio"
            )
        wav = normalise_level(wav)
        import torch

        # The 3-layer LSTM is small: one intra-op thread is as fast as several on an idle
        # machine and avoids stalls of seconds when other processes share the cores.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                embedding = self._encoder.embed_utterance(wav.astype(np.float32))
        finally:
            torch.set_num_threads(threads)
        return np.asarray(embedding, dtype=np.float64)


class WavLMEncoder(SpeakerEncoder):
    name = "wavlm"
    devices = ("cpu", "cuda")

    def __init__(self, model_path: str | None, device: str = "cpu", batch_size: int = 8) -> None:
        model_path = expand_model_path(model_path)
        source = model_path or WAVLM_DEFAULT
        fetch = (
            f"fetch one once with `huggingface-cli download {WAVLM_DEFAULT} --local-dir DIR` "
            f"and pass --sim-model-path DIR (or set sim.model_path)"
        )
        try:
            import torch
            from transformers import AutoFeatureExtractor, WavLMForXVector
        except ImportError:
            raise StageUnavailable(
                f"SIM backend wavlm needs the transformers package: pip install 'spatialeval[whisper]' "
                f"(or pip install transformers); then {fetch}"
            ) from None
        self._extractor, self._model = from_local_pretrained(
            (AutoFeatureExtractor, WavLMForXVector), source, model_path, "WavLM speaker-verification model", fetch
        )
        self._torch = torch
        self._device = device
        self._model.to(device).eval()
        self.sample_rate = int(getattr(self._extractor, "sampling_rate", 16000))
        self._source = source
        self._batch_size = int(batch_size)
        # Zero padding changes a group-norm feature extractor's statistics (the WavLM Base models use
        # one): such models embed one clip per forward pass; layer-norm ones batch with an attention mask.
        self.supports_batch = getattr(self._model.config, "feat_extract_norm", "group") == "layer"

    @classmethod
    def from_config(cls, settings, device: str = "cpu") -> "WavLMEncoder":
        cls.check_device(device)
        return cls(settings.model_path, device, batch_size=settings.batch_size)

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "model": f"WavLMForXVector {self._source}",
            "sample_rate": self.sample_rate,
            "preprocessing": f"scaled to {LEVEL_DBFS:g} dBFS RMS, then the feature extractor's defaults; no silence trimming",
            "embedding": "x-vector embeddings output",
            "batching": (
                f"up to {self._batch_size} clips per forward pass (zero-padded, attention mask)"
                if self.supports_batch
                else "one clip per forward pass (group-norm feature extractor)"
            ),
        }

    def _inputs(self, clips: list[np.ndarray]) -> dict:
        arrays = [normalise_level(a).astype(np.float32) for a in clips]
        if len(arrays) == 1:
            inputs = self._extractor(arrays[0], sampling_rate=self.sample_rate, return_tensors="pt")
        else:
            inputs = self._extractor(
                arrays, sampling_rate=self.sample_rate, return_tensors="pt", padding=True, return_attention_mask=True
            )
        return {k: v.to(self._device) for k, v in inputs.items()}

    def one(self, audio: np.ndarray) -> np.ndarray:
        with self._torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch's MHA on transformers' mixed mask types
            embedding = self._model(**self._inputs([audio])).embeddings[0]
        return embedding.detach().cpu().double().numpy()

    def _embed_padded(self, clips: list[np.ndarray]) -> list[np.ndarray]:
        """One backbone forward for the padded batch, then the x-vector head on each clip's own frames.

        transformers' batched ``WavLMForXVector`` pools over a TDNN output length computed without
        the TDNN dilations, so a padded clip's statistics include frames that saw the padding; running
        the head per clip gives exactly the one-clip result.
        """
        torch, model = self._torch, self._model
        inputs = self._inputs(clips)
        weighted = bool(model.config.use_weighted_layer_sum)
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch's MHA on transformers' mixed mask types
            outputs = model.wavlm(
                inputs["input_values"], attention_mask=inputs["attention_mask"], output_hidden_states=weighted
            )
            if weighted:
                weights = torch.softmax(model.layer_weights, dim=-1)
                hidden = (torch.stack(outputs.hidden_states, dim=1) * weights.view(-1, 1, 1)).sum(dim=1)
            else:
                hidden = outputs.last_hidden_state
            frames = model._get_feat_extract_output_lengths(inputs["attention_mask"].sum(dim=1)).tolist()
            embeddings = []
            for row, count in enumerate(frames):
                x = model.projector(hidden[row : row + 1, : int(count)])
                for layer in model.tdnn:
                    x = layer(x)
                pooled = torch.cat([x[0].mean(dim=0), x[0].std(dim=0)])[None]
                embeddings.append(model.feature_extractor(pooled)[0].detach().cpu().double().numpy())
        return embeddings

    def batch(self, audios: Sequence[np.ndarray]) -> list[np.ndarray]:
        if not self.supports_batch:
            return [self.one(a) for a in audios]
        return [
            e
            for chunk in batched(list(audios), self._batch_size)
            for e in (self._embed_padded(chunk) if len(chunk) > 1 else [self.one(chunk[0])])
        ]


class WavLMECAPAEncoder(SpeakerEncoder):
    """seed-tts-eval's SIM model from a local ``wavlm_large_finetune.pth`` (see :mod:`spatialeval.models.wavlm_ecapa`)."""

    name = "wavlm-ecapa"
    devices = ("cpu", "cuda")
    supports_batch = True

    def __init__(self, checkpoint: str | None, device: str = "cpu", batch_size: int = 8) -> None:
        fetch = (
            f"download wavlm_large_finetune.pth once (the seed-tts-eval README links it: {SEED_TTS_SV_URL}) "
            "and pass --sim-model-path /path/to/wavlm_large_finetune.pth (or set sim.model_path)"
        )
        if not checkpoint:
            raise StageUnavailable(f"SIM backend wavlm-ecapa needs its checkpoint file: {fetch}")
        path = Path(checkpoint).expanduser()
        if not path.is_file():
            raise StageUnavailable(f"wavlm-ecapa checkpoint {path} does not exist; {fetch}")
        try:
            import transformers  # noqa: F401  (the WavLM backbone)
        except ImportError:
            raise StageUnavailable(
                "SIM backend wavlm-ecapa needs the transformers package for its WavLM backbone: "
                "pip install 'spatialeval[whisper]' (or pip install transformers)"
            ) from None
        from spatialeval.models.checkpoint import checkpoint_sha256
        from spatialeval.models.wavlm_ecapa import SVCheckpointError, WavLMECAPA, read_sv_state_dict

        try:
            self._model = WavLMECAPA(read_sv_state_dict(path), device)
        except SVCheckpointError as exc:
            raise StageUnavailable(f"wavlm-ecapa cannot use {path}: {exc}") from exc
        self._path = str(path)
        self._sha256 = checkpoint_sha256(path)
        self._batch_size = int(batch_size)

    @classmethod
    def from_config(cls, settings, device: str = "cpu") -> "WavLMECAPAEncoder":
        cls.check_device(device)
        return cls(settings.model_path, device, batch_size=settings.batch_size)

    def describe(self) -> dict[str, Any]:
        arch = self._model.arch
        return {
            "backend": self.name,
            "model": (
                "UniSpeech WavLM-Large + ECAPA-TDNN speaker verification (seed-tts-eval SIM)"
                if arch.is_wavlm_large
                else f"NOT WavLM-Large: {arch.summary()} (a stand-in?)"
            ),
            "architecture": arch.summary(),
            "checkpoint": self._path,
            "checkpoint_sha256": self._sha256,
            "sample_rate": self.sample_rate,
            "preprocessing": (
                f"scaled to {LEVEL_DBFS:g} dBFS RMS, then zero mean / unit variance over the clip "
                "(F.layer_norm, s3prl normalize=True); no silence trimming"
            ),
            "embedding": "softmax-weighted sum of the L+1 WavLM hidden states -> ECAPA-TDNN -> 256-d",
            "batching": f"up to {self._batch_size} clips per WavLM forward pass (zero-padded, attention mask)",
        }

    def one(self, audio: np.ndarray) -> np.ndarray:
        return self.batch([audio])[0]

    def batch(self, audios: Sequence[np.ndarray]) -> list[np.ndarray]:
        from spatialeval.models.wavlm_ecapa import min_samples

        clips = [normalise_level(a) for a in audios]
        for clip in clips:
            if clip.size < min_samples():
                raise ValueError(
                    f"clip of {clip.size} samples is shorter than WavLM's {min_samples()}-sample receptive field"
                )
        # Similar lengths together: less padding per forward pass.
        order = sorted(range(len(clips)), key=lambda i: clips[i].size)
        out: list[np.ndarray | None] = [None] * len(clips)
        for chunk in batched(order, self._batch_size):
            for index, embedding in zip(chunk, self._model.embed_batch([clips[i] for i in chunk])):
                out[index] = embedding
        return out  # type: ignore[return-value]


def sim(gt: np.ndarray, gen: np.ndarray, sample_rate: int, gen_sample_rate: int | None = None, encoder=None) -> float:
    """Speaker similarity of two clips (numpy or torch, shaped (time,) or (time, channels)): cosine of resemblyzer embeddings.

    A (channels, time) array is refused with a message (see :func:`spatialeval.io.audio.as_time_channels`);
    a clip without speech raises :class:`NoSpeech`. (The metric itself, the cosine of two embeddings,
    is :func:`spatialeval.metrics.sim.speaker_similarity`.)

    Both clips are downmixed (mean of channels) and resampled to the encoder's rate. Pass a
    loaded ``encoder`` to reuse it, or to use another backend: built by name from the SIM stage's
    settings with ``SPEAKER_BACKENDS.build(SIMSettings(backend="wavlm-ecapa", model_path=...))``
    (:data:`spatialeval.models.registry.SPEAKER_BACKENDS`, the loader the SIM stage uses).

    Example:
        >>> import numpy as np
        >>> from spatialeval.synth import speech_like
        >>> voice = speech_like(2.0, 16000, seed=1)
        >>> round(sim(voice, voice, 16000), 3)
        1.0
    """
    from spatialeval.features.resample import downmix_resample
    from spatialeval.metrics.sim import speaker_similarity

    if encoder is None:
        encoder = _default_encoder(ResemblyzerEncoder)
    rate = encoder.sample_rate
    embeddings = [
        encoder.embed(downmix_resample(as_time_channels(audio, "sim"), sr, rate))
        for audio, sr in ((gen, gen_sample_rate or sample_rate), (gt, sample_rate))
    ]
    return speaker_similarity(*embeddings)


_ENCODERS: dict = {}


def _default_encoder(cls):
    # One model per process: loading resemblyzer's weights costs more than embedding a clip.
    if cls not in _ENCODERS:
        _ENCODERS[cls] = cls("cpu")
    return _ENCODERS[cls]
