"""Speaker encoders for the SIM metric, behind one small interface.

* ``resemblyzer`` (default): Resemblyzer's GE2E voice encoder (3-layer LSTM, 256-d
  embedding) whose weights ship inside the wheel. Input is 16 kHz mono; Resemblyzer's
  own preprocessing is applied: volume raised (never lowered) to −30 dBFS, then
  silences longer than its VAD window trimmed with webrtcvad (mode 3), so pauses and
  leading/trailing silence do not count. ``embed_utterance`` averages the embeddings of
  1.6-s partial windows (50 % overlap) and L2-normalises the mean. Deterministic on CPU.
* ``wavlm``: a Hugging Face ``WavLMForXVector`` speaker-verification checkpoint
  (e.g. ``microsoft/wavlm-base-plus-sv``) from a local folder or the local Hugging Face
  cache, ``local_files_only=True``. Note that ISDrama / seed-tts-eval report SIM with a
  WavLM-large model fine-tuned in the UniSpeech repository, which is a different
  checkpoint: numbers from either backend here are not directly comparable with theirs.

Nothing is ever downloaded: a missing package or checkpoint raises
:class:`~spatialeval.pipeline.stages.base.StageUnavailable` saying how to fetch it.
"""
from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from spatialeval.io.audio import as_mono_signal
from spatialeval.models.local_hf import from_local_pretrained

from spatialeval.errors import StageUnavailable



class NoSpeech(ValueError):
    """The clip holds no speech to embed (digital silence, or nothing left after voice-activity trimming)."""
WAVLM_DEFAULT = "microsoft/wavlm-base-plus-sv"


class SpeakerEncoder:
    """Maps mono audio at ``sample_rate`` to a speaker embedding (1-D float array).

    Registered in :data:`spatialeval.models.registry.SPEAKER_BACKENDS`; ``from_config`` builds it
    from the SIM stage's settings (``backend``, ``model_path``, ...).
    """

    name: str = ""
    sample_rate: int = 16000
    devices: tuple[str, ...] = ("cpu",)

    @classmethod
    def from_config(cls, settings, device: str = "cpu") -> "SpeakerEncoder":
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name}

    def embed(self, audio: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class ResemblyzerEncoder(SpeakerEncoder):
    name = "resemblyzer"

    @classmethod
    def from_config(cls, settings, device: str = "cpu") -> "ResemblyzerEncoder":
        if settings.model_path:
            raise StageUnavailable("the resemblyzer backend uses the weights shipped in its wheel; "
                                   "sim.model_path is for the wavlm backend (unset it or change the backend)")
        return cls(device)

    def __init__(self, device: str = "cpu") -> None:
        try:
            with warnings.catch_warnings():  # resemblyzer imports scipy.ndimage.morphology (deprecated)
                warnings.simplefilter("ignore", DeprecationWarning)
                import resemblyzer
                from resemblyzer import VoiceEncoder
                from resemblyzer.audio import normalize_volume, trim_long_silences
                from resemblyzer.hparams import audio_norm_target_dBFS, sampling_rate
        except ImportError as exc:
            raise StageUnavailable(
                f"SIM backend resemblyzer cannot be imported ({exc}): pip install 'spatialeval[speech]' "
                "(resemblyzer, webrtcvad-wheels; its weights ship inside the wheel)"
            ) from None
        weights = Path(resemblyzer.__file__).resolve().parent / "pretrained.pt"
        if not weights.is_file():
            raise StageUnavailable(f"resemblyzer's weights are missing from its install ({weights}); reinstall resemblyzer")
        self._encoder = VoiceEncoder(device, verbose=False)
        self._encoder.eval()
        self._normalize_volume, self._trim = normalize_volume, trim_long_silences
        self._target_dbfs = audio_norm_target_dBFS
        self.sample_rate = int(sampling_rate)
        self._weights_sha256 = hashlib.sha256(weights.read_bytes()).hexdigest()
        self._device = device

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "model": "Resemblyzer GE2E VoiceEncoder (pretrained.pt shipped in the wheel)",
            "weights_sha256": self._weights_sha256,
            "sample_rate": self.sample_rate,
            "preprocessing": (f"volume raised (never lowered) to {self._target_dbfs} dBFS, clipped to [-1, 1], "
                              "long silences trimmed with webrtcvad (resemblyzer.trim_long_silences)"),
            "embedding": "mean of 1.6-s partial embeddings, L2-normalised (embed_utterance defaults)",
        }

    def embed(self, audio: np.ndarray) -> np.ndarray:
        audio = as_mono_signal(audio, "speaker encoder")
        if not np.any(audio):
            raise NoSpeech("digital silence (all samples zero): no speech to embed")
        wav = self._normalize_volume(audio, self._target_dbfs, increase_only=True)
        wav = np.clip(wav, -1.0, 1.0)  # resemblyzer casts to int16 for the VAD; keep it from wrapping
        wav = self._trim(wav)
        if wav.size < self.sample_rate // 10:
            raise NoSpeech(f"less than 0.1 s of speech left after resemblyzer's VAD trimming "
                             f"({wav.size} samples at {self.sample_rate} Hz): silent or non-speech audio")
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

    @classmethod
    def from_config(cls, settings, device: str = "cpu") -> "WavLMEncoder":
        return cls(settings.model_path, device)

    def __init__(self, model_path: str | None, device: str = "cpu") -> None:
        source = model_path or WAVLM_DEFAULT
        fetch = (f"fetch one once with `huggingface-cli download {WAVLM_DEFAULT} --local-dir DIR` "
                 f"and pass --sim-model-path DIR (or set sim.model_path)")
        try:
            import torch
            from transformers import AutoFeatureExtractor, WavLMForXVector
        except ImportError:
            raise StageUnavailable(
                f"SIM backend wavlm needs the transformers package: pip install 'spatialeval[whisper]' "
                f"(or pip install transformers); then {fetch}"
            ) from None
        self._extractor, self._model = from_local_pretrained(
            (AutoFeatureExtractor, WavLMForXVector), source, model_path, "WavLM speaker-verification model", fetch)
        self._torch = torch
        self._device = device
        self._model.to(device).eval()
        self.sample_rate = int(getattr(self._extractor, "sampling_rate", 16000))
        self._source = source

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": f"WavLMForXVector {self._source}", "sample_rate": self.sample_rate,
                "preprocessing": "feature extractor defaults; no silence trimming",
                "embedding": "x-vector embeddings output"}

    def embed(self, audio: np.ndarray) -> np.ndarray:
        audio = as_mono_signal(audio, "speaker encoder").astype(np.float32)
        inputs = self._extractor(audio, sampling_rate=self.sample_rate, return_tensors="pt")
        inputs = {k: v.to(self._device) for k, v in inputs.items()}
        with self._torch.inference_mode():
            embedding = self._model(**inputs).embeddings[0]
        return embedding.detach().cpu().double().numpy()


def load_speaker_encoder(config, device: str = "cpu") -> SpeakerEncoder:
    """Build the encoder named by ``config.backend`` (the SIM stage's settings, or an :class:`EvalConfig`
    whose ``.sim`` is used) from the backend registry. Raises StageUnavailable when it cannot run."""
    from spatialeval.models.registry import SPEAKER_BACKENDS

    return SPEAKER_BACKENDS.build(getattr(config, "sim", config), device)
