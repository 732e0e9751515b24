"""Speech recognisers for the CER metric, behind one small interface.

Every backend takes 16 kHz mono float audio and returns a plain transcript. Backends
are imported lazily and never download anything: a missing package or model raises
:class:`~spatialeval.pipeline.stages.base.StageUnavailable` with the exact command that
fetches it, and the pipeline reports the CER stage as skipped with that message.

* ``pocketsphinx`` (default, English only): CMU PocketSphinx 5 with the en-us acoustic
  model, language model and dictionary shipped inside the wheel — fully offline and
  small. Deterministic: batch cepstral mean normalisation (``cmn=batch``) is computed
  from each utterance alone, so a result never depends on the clips decoded before it.
  Audio is peak-normalised to −1 dBFS and fed as 16-bit PCM (so the transcript does not
  depend on the clip's playback level). It is a weak recogniser by modern standards:
  use it for relative comparisons, and Whisper for numbers comparable with papers.
* ``whisper``: a Hugging Face ``transformers`` Whisper checkpoint from a local folder
  (``model_path``) or the local Hugging Face cache (``openai/whisper-large-v3``),
  loaded with ``local_files_only=True``; greedy decoding, language forced.
* ``paraformer-zh``: FunASR's Paraformer (the seed-tts-eval Mandarin recogniser) from
  a local model folder or the local ModelScope cache.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from spatialeval.io.audio import as_mono_signal
from spatialeval.models.local_hf import from_local_pretrained

from spatialeval.errors import StageUnavailable

ASR_RATE = 16000
WHISPER_DEFAULT = "openai/whisper-large-v3"
PARAFORMER_DEFAULT = "iic/speech_seaco_paraformer_large_asr_nat-zh-cn-16k-common-vocab8404-pytorch"


class ASRBackend:
    """A speech recogniser: ``transcribe`` 16 kHz mono float audio in [-1, 1] to text.

    Registered in :data:`spatialeval.models.registry.ASR_BACKENDS`; ``from_config`` builds it from
    the CER stage's settings (``backend``, ``language``, ``model_path``, ...).
    """

    name: str = ""
    sample_rate: int = ASR_RATE
    devices: tuple[str, ...] = ("cpu",)
    languages: tuple[str, ...] = ("en", "zh")

    @classmethod
    def from_config(cls, settings, device: str = "cpu") -> "ASRBackend":
        raise NotImplementedError

    @classmethod
    def check_language(cls, language: str) -> None:
        if language not in cls.languages:
            raise StageUnavailable(f"the {cls.name} recogniser handles {', '.join(cls.languages)}, not {language!r}; "
                                   "choose another --cer-backend or --language")

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name}

    def transcribe(self, audio_16k_mono: np.ndarray) -> str:
        raise NotImplementedError


def to_pcm16(audio: np.ndarray, peak: float = 10 ** (-1 / 20)) -> np.ndarray:
    """Peak-normalise float audio to ``peak`` (default −1 dBFS) and quantise to int16.

    Digital silence stays silence.

    Example:
        >>> to_pcm16(np.array([0.0, 0.25, -0.5])).tolist()
        [0, 14602, -29204]
    """
    audio = as_mono_signal(audio, "ASR")
    top = float(np.max(np.abs(audio)))
    if top > 0:
        audio = audio * (peak / top)
    return np.round(np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)


class PocketSphinxASR(ASRBackend):
    name = "pocketsphinx"
    languages = ("en",)

    @classmethod
    def from_config(cls, settings, device: str = "cpu") -> "PocketSphinxASR":
        if settings.language != "en":
            raise StageUnavailable("pocketsphinx ships only an English model; for Mandarin use "
                                   "--cer-backend paraformer-zh (or whisper) with --cer-model-path")
        if settings.model_path:
            raise StageUnavailable("the pocketsphinx backend uses the en-us model shipped in its wheel; "
                                   "cer.model_path is for whisper / paraformer-zh (unset it or change the backend)")
        return cls()

    def __init__(self) -> None:
        try:
            import pocketsphinx
        except ImportError:
            raise StageUnavailable(
                "CER backend pocketsphinx is not installed: pip install 'spatialeval[speech]' "
                "(or pip install pocketsphinx); its en-us model ships inside the wheel"
            ) from None
        self._version = getattr(pocketsphinx, "__version__", None) or _dist_version("pocketsphinx")
        self._model_dir = pocketsphinx.get_model_path()
        try:
            self._decoder = pocketsphinx.Decoder(loglevel="ERROR", cmn="batch", samprate=ASR_RATE)
        except Exception as exc:  # broken install: model files missing
            raise StageUnavailable(f"pocketsphinx cannot load its shipped en-us model from {self._model_dir}: {exc}") from exc

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "model": "CMU PocketSphinx en-us (acoustic model, en-us.lm.bin, cmudict-en-us.dict shipped in the wheel)",
            "version": self._version,
            "settings": "cmn=batch; input peak-normalised to -1 dBFS, 16-bit PCM at 16 kHz",
        }

    def transcribe(self, audio_16k_mono: np.ndarray) -> str:
        pcm = to_pcm16(audio_16k_mono)
        decoder = self._decoder
        decoder.start_utt()
        decoder.process_raw(pcm.tobytes(), no_search=False, full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        return hypothesis.hypstr.strip() if hypothesis is not None else ""


class WhisperASR(ASRBackend):
    name = "whisper"
    devices = ("cpu", "cuda")

    @classmethod
    def from_config(cls, settings, device: str = "cpu") -> "WhisperASR":
        cls.check_language(settings.language)
        return cls(settings.model_path, settings.language, device)

    def __init__(self, model_path: str | None, language: str, device: str = "cpu") -> None:
        source = model_path or WHISPER_DEFAULT
        fetch = (f"fetch it once with `huggingface-cli download {WHISPER_DEFAULT} --local-dir DIR` "
                 f"and pass --cer-model-path DIR (or set cer.model_path)")
        try:
            import torch
            from transformers import WhisperForConditionalGeneration, WhisperProcessor
        except ImportError:
            raise StageUnavailable(
                "CER backend whisper needs the transformers package: pip install 'spatialeval[whisper]'; "
                f"then {fetch}"
            ) from None
        self._processor, self._model = from_local_pretrained(
            (WhisperProcessor, WhisperForConditionalGeneration), source, model_path, "Whisper model", fetch)
        self._torch = torch
        self._device = device
        self._model.to(device).eval()
        self._language = {"en": "english", "zh": "chinese"}[language]
        self._source = source

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self._source,
                "settings": f"greedy decoding, language={self._language}, task=transcribe, 30-s windows"}

    def transcribe(self, audio_16k_mono: np.ndarray) -> str:
        audio = as_mono_signal(audio_16k_mono, "ASR").astype(np.float32)
        window = 30 * ASR_RATE  # Whisper's fixed input length; longer clips are cut in 30-s windows
        texts = []
        for start in range(0, audio.size, window):
            features = self._processor(audio[start:start + window], sampling_rate=ASR_RATE,
                                       return_tensors="pt").input_features.to(self._device)
            with self._torch.inference_mode():
                ids = self._model.generate(features, language=self._language, task="transcribe",
                                           num_beams=1, do_sample=False)
            texts.append(self._processor.batch_decode(ids, skip_special_tokens=True)[0].strip())
        return " ".join(t for t in texts if t)


def _modelscope_candidates(model_id: str) -> list[Path]:
    roots = [Path(os.environ["MODELSCOPE_CACHE"])] if os.environ.get("MODELSCOPE_CACHE") else []
    roots.append(Path.home() / ".cache" / "modelscope" / "hub")
    return [p for root in roots for p in (root / "models" / model_id, root / model_id)]


class ParaformerASR(ASRBackend):
    name = "paraformer-zh"
    devices = ("cpu", "cuda")
    languages = ("zh",)

    @classmethod
    def from_config(cls, settings, device: str = "cpu") -> "ParaformerASR":
        if settings.language != "zh":
            raise StageUnavailable("paraformer-zh recognises Mandarin only; set cer.language to zh, "
                                   "or use pocketsphinx / whisper for English")
        return cls(settings.model_path, device)

    def __init__(self, model_path: str | None, device: str = "cpu") -> None:
        fetch = (f"fetch it once with `modelscope download --model {PARAFORMER_DEFAULT} --local_dir DIR` "
                 f"and pass --cer-model-path DIR (or set cer.model_path)")
        try:
            from funasr import AutoModel
        except ImportError:
            raise StageUnavailable(
                f"CER backend paraformer-zh needs the funasr package: pip install 'spatialeval[paraformer]'; then {fetch}"
            ) from None
        if model_path:
            folder = Path(model_path)
            if not (folder / "model.pt").is_file():
                raise StageUnavailable(f"Paraformer model folder {model_path} has no model.pt; {fetch}")
        else:
            found = [p for p in _modelscope_candidates(PARAFORMER_DEFAULT) if (p / "model.pt").is_file()]
            if not found:
                raise StageUnavailable(f"Paraformer model {PARAFORMER_DEFAULT} not found in the local ModelScope cache; {fetch}")
            folder = found[0]
        try:
            # A local folder: FunASR loads it as is; disable_update stops its version check.
            self._model = AutoModel(model=str(folder), device=device, disable_update=True, disable_pbar=True, log_level="ERROR")
        except Exception as exc:
            raise StageUnavailable(f"FunASR cannot load the Paraformer model in {folder}: {exc}") from exc
        self._folder = str(folder)

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": f"{PARAFORMER_DEFAULT} ({self._folder})", "settings": "FunASR AutoModel.generate"}

    def transcribe(self, audio_16k_mono: np.ndarray) -> str:
        audio = as_mono_signal(audio_16k_mono, "ASR").astype(np.float32)
        result = self._model.generate(input=audio, batch_size_s=300)
        return "".join(r.get("text", "") for r in result).strip()


def _dist_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def load_asr(config, device: str = "cpu") -> ASRBackend:
    """Build the recogniser named by ``config.backend`` (the CER stage's settings, or an
    :class:`EvalConfig` whose ``.cer`` is used) from the backend registry. Raises StageUnavailable
    when it cannot run here (unknown name, missing package or model, unsupported language)."""
    from spatialeval.models.registry import ASR_BACKENDS

    config = getattr(config, "cer", config)
    if config.language not in ("en", "zh"):
        raise StageUnavailable(f"cer.language must be 'en' or 'zh', not {config.language!r}")
    return ASR_BACKENDS.build(config, device)
