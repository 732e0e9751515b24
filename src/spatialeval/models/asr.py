"""Speech recognisers for the CER metric, behind one small interface.

Every backend takes 16 kHz mono float audio and returns a plain transcript. Backends
are imported lazily and never download anything: a missing package or model raises
:class:`~spatialeval.errors.StageUnavailable` with the exact command that
fetches it, and the pipeline reports the CER stage as skipped with that message. Every
backend keeps the :class:`~spatialeval.models.backend.Backend` contract (``load`` from a
:class:`~spatialeval.pipeline.stages.cer.CERSettings`, ``describe``, ``one``/``batch``), declares
the ``languages`` it recognises, and sets ``supports_batch`` when its ``batch`` puts several clips
in one forward pass.

* ``pocketsphinx`` (default, English only): CMU PocketSphinx 5 with the en-us acoustic
  model, language model and dictionary shipped inside the wheel — fully offline and
  small. Every utterance is decoded by a *fresh* decoder: a reused PocketSphinx 5 decoder
  carries state from one utterance to the next (``cmn=batch`` and ``start_stream`` do not
  clear it all: the example pair ``spk1/utt004_pitch_up_30pct`` read differently after the
  clips before it), so a transcript would depend on what was decoded before. A fresh
  decoder costs one model load per clip (1.7 s measured on a heavily loaded 2-core machine).
  Audio is peak-normalised to −1 dBFS and fed as 16-bit PCM (so the transcript does not
  depend on the clip's playback level). It is a weak recogniser by modern standards:
  use it for relative comparisons, and Whisper for numbers comparable with papers.
* ``whisper``: a Hugging Face ``transformers`` Whisper checkpoint (the paper-side choice is
  ``openai/whisper-large-v3``, as in seed-tts-eval) from a local folder (``model_path``) or
  the local Hugging Face cache, loaded with ``local_files_only=True``.
* ``faster-whisper``: the same Whisper models converted to CTranslate2 (e.g.
  ``Systran/faster-whisper-large-v3``), from a local folder or the local Hugging Face
  cache: several times faster on CPU (int8) and GPU (float16).
* ``paraformer-zh``: FunASR's SeACo-Paraformer (the seed-tts-eval Mandarin recogniser) from
  a local model folder or the local ModelScope cache. Its text separates CJK characters by
  spaces; CER on Mandarin ignores whitespace.

Both Whisper backends decode the same way: greedy (``beam_size`` 1 unless set), no sampling
and no temperature fallback, language forced, no timestamps, each clip cut into 30-s windows
(Whisper's input length; seed-tts-eval only ever reads the first 30 s) whose texts are joined
with a space. Windows of several clips share a forward pass (``batch_size``).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from spatialeval.errors import StageUnavailable
from spatialeval.io.audio import as_mono_signal
from spatialeval.models.backend import Backend
from spatialeval.models.local_hf import batched, expand_model_path, from_local_pretrained

ASR_RATE = 16000
WINDOW_SECONDS = 30
WHISPER_DEFAULT = "openai/whisper-large-v3"
FASTER_WHISPER_DEFAULT = "large-v3"  # faster-whisper's name for Systran/faster-whisper-large-v3
PARAFORMER_DEFAULT = "iic/speech_seaco_paraformer_large_asr_nat-zh-cn-16k-common-vocab8404-pytorch"
WHISPER_LANGUAGES = {"en": "english", "zh": "chinese"}


class ASRBackend(Backend):
    """A speech recogniser (:class:`~spatialeval.models.backend.Backend`): ``one`` transcribes 16 kHz mono
    float audio in [-1, 1] to text; ``transcribe``/``transcribe_batch`` are its callers' names for one/batch."""

    label: ClassVar[str] = "CER"
    sample_rate: int = ASR_RATE
    languages: ClassVar[tuple[str, ...]] = ()

    def transcribe(self, audio_16k_mono: np.ndarray) -> str:
        """The transcript of one clip (:meth:`one`)."""
        return self.one(audio_16k_mono)

    def transcribe_batch(self, audios: Sequence[np.ndarray]) -> list[str]:
        """Transcripts of several clips, in order (:meth:`batch`)."""
        return self.batch(audios)


def _check(cls, settings, device: str) -> None:
    """StageUnavailable when ``cls`` cannot serve the configured language or device."""
    if settings.language not in cls.languages:
        raise StageUnavailable(
            f"CER backend {cls.name} recognises {'/'.join(cls.languages)}, not cer.language={settings.language!r}"
        )
    cls.check_device(device)


class _WhisperWindowedDecoding:
    """What both Whisper backends share: they are built from the same settings (model path, language,
    compute type, batch, beams), name their search the same way, and decode clips in 30-s windows,
    ``_batch_size`` windows per ``_decode`` call."""

    _batch_size: int
    _beam_size: int
    supports_batch = True

    @classmethod
    def from_config(cls, settings, device: str = "cpu"):
        _check(cls, settings, device)
        return cls(
            settings.model_path,
            settings.language,
            device,
            compute_type=settings.compute_type,
            batch_size=settings.batch_size,
            beam_size=settings.beam_size,
        )

    def _search(self) -> str:
        return "greedy decoding" if self._beam_size == 1 else f"beam search ({self._beam_size} beams)"

    def one(self, audio_16k_mono: np.ndarray) -> str:
        return self.batch([audio_16k_mono])[0]

    def batch(self, audios: Sequence[np.ndarray]) -> list[str]:
        return _windowed_batches(audios, self._batch_size, self._decode)


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


def windows(audio: np.ndarray, seconds: int = WINDOW_SECONDS, rate: int = ASR_RATE) -> list[np.ndarray]:
    """Consecutive ``seconds``-long float32 pieces of a mono clip (the last one shorter).

    Example:
        >>> [w.size for w in windows(np.zeros(70), seconds=3, rate=10)]
        [30, 30, 10]
    """
    audio = as_mono_signal(audio, "ASR").astype(np.float32)
    step = seconds * rate
    return [audio[start : start + step] for start in range(0, audio.size, step)]


def _windowed_batches(audios: Sequence[np.ndarray], batch_size: int, decode) -> list[str]:
    """Cut every clip into 30-s windows, ``decode`` windows ``batch_size`` at a time, join per clip."""
    pieces = [(index, piece) for index, audio in enumerate(audios) for piece in windows(audio)]
    texts: list[list[str]] = [[] for _ in audios]
    for chunk in batched(pieces, batch_size):
        for (index, _), text in zip(chunk, decode([piece for _, piece in chunk])):
            if text:
                texts[index].append(text)
    return [" ".join(parts) for parts in texts]


class PocketSphinxASR(ASRBackend):
    name = "pocketsphinx"
    languages = ("en",)

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
        self._pocketsphinx = pocketsphinx
        try:
            self._new_decoder()  # fails here, at setup, on a broken install rather than on the first clip
        except Exception as exc:  # broken install: model files missing
            raise StageUnavailable(
                f"pocketsphinx cannot load its shipped en-us model from {self._model_dir}: {exc}"
            ) from exc

    def _new_decoder(self):
        return self._pocketsphinx.Decoder(loglevel="ERROR", cmn="batch", samprate=ASR_RATE)

    @classmethod
    def from_config(cls, settings, device: str = "cpu") -> "PocketSphinxASR":
        if settings.language != "en":
            raise StageUnavailable(
                "pocketsphinx ships only an English model; for Mandarin use "
                "--cer-backend paraformer-zh (or whisper / faster-whisper) with --cer-model-path"
            )
        if settings.model_path:
            raise StageUnavailable(
                "the pocketsphinx backend uses the en-us model shipped in its wheel; cer.model_path is "
                "for whisper / faster-whisper / paraformer-zh (unset it or change the backend)"
            )
        _check(cls, settings, device)
        return cls()

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "model": "CMU PocketSphinx en-us (acoustic model, en-us.lm.bin, cmudict-en-us.dict shipped in the wheel)",
            "version": self._version,
            "settings": "cmn=batch; a fresh decoder per utterance; input peak-normalised to -1 dBFS, 16-bit PCM at 16 kHz",
        }

    def one(self, audio_16k_mono: np.ndarray) -> str:
        pcm = to_pcm16(audio_16k_mono)
        decoder = self._new_decoder()  # never one that has heard another clip (see the module docstring)
        decoder.start_utt()
        decoder.process_raw(pcm.tobytes(), no_search=False, full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        return hypothesis.hypstr.strip() if hypothesis is not None else ""


def _torch_dtype(torch, compute_type: str, device: str):
    """float32 on CPU and float16 on CUDA for ``auto``; else the named dtype."""
    if compute_type == "auto":
        return torch.float16 if device.startswith("cuda") else torch.float32
    dtypes = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    if compute_type not in dtypes:
        raise StageUnavailable(
            f"cer.compute_type {compute_type!r} is not one the whisper backend takes: auto, {', '.join(dtypes)}"
        )
    return dtypes[compute_type]


class WhisperASR(_WhisperWindowedDecoding, ASRBackend):
    name = "whisper"
    devices = ("cpu", "cuda")
    languages = tuple(WHISPER_LANGUAGES)

    def __init__(
        self,
        model_path: str | None,
        language: str,
        device: str = "cpu",
        *,
        compute_type: str = "auto",
        batch_size: int = 8,
        beam_size: int = 1,
    ) -> None:
        model_path = expand_model_path(model_path)
        source = model_path or WHISPER_DEFAULT
        fetch = (
            f"fetch it once with `huggingface-cli download {WHISPER_DEFAULT} --local-dir DIR` "
            f"and pass --cer-model-path DIR (or set cer.model_path)"
        )
        try:
            import torch
            from transformers import WhisperForConditionalGeneration, WhisperProcessor
        except ImportError:
            raise StageUnavailable(
                f"CER backend whisper needs the transformers package: pip install 'spatialeval[whisper]'; then {fetch}"
            ) from None
        self._processor, self._model = from_local_pretrained(
            (WhisperProcessor, WhisperForConditionalGeneration), source, model_path, "Whisper model", fetch
        )
        self._torch = torch
        self._device = device
        self._dtype = _torch_dtype(torch, compute_type, device)
        self._model.to(device=device, dtype=self._dtype).eval()
        self._language = WHISPER_LANGUAGES[language]
        self._source = source
        self._batch_size = int(batch_size)
        self._beam_size = int(beam_size)

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "model": self._source,
            "settings": (
                f"{self._search()}, no sampling, language={self._language}, task=transcribe, "
                f"no timestamps, 30-s windows, dtype={str(self._dtype).replace('torch.', '')}, "
                f"up to {self._batch_size} windows per forward pass"
            ),
        }

    def _decode(self, pieces: list[np.ndarray]) -> list[str]:
        inputs = self._processor(pieces, sampling_rate=ASR_RATE, return_tensors="pt", return_attention_mask=True)
        features = inputs.input_features.to(device=self._device, dtype=self._dtype)
        with self._torch.inference_mode():
            ids = self._model.generate(
                features,
                attention_mask=inputs.attention_mask.to(self._device),
                language=self._language,
                task="transcribe",
                num_beams=self._beam_size,
                do_sample=False,
            )
        return [text.strip() for text in self._processor.batch_decode(ids, skip_special_tokens=True)]


class FasterWhisperASR(_WhisperWindowedDecoding, ASRBackend):
    """Whisper in CTranslate2 via faster-whisper: log-mel features and tokenizer from faster-whisper,
    greedy decoding of a batch of 30-s windows with ``ctranslate2.models.Whisper.generate``."""

    name = "faster-whisper"
    devices = ("cpu", "cuda")
    languages = tuple(WHISPER_LANGUAGES)

    def __init__(
        self,
        model_path: str | None,
        language: str,
        device: str = "cpu",
        *,
        compute_type: str = "auto",
        batch_size: int = 8,
        beam_size: int = 1,
        cpu_threads: int = 0,
    ) -> None:
        model_path = expand_model_path(model_path)
        fetch = (
            f"convert or fetch one once, e.g. `huggingface-cli download Systran/faster-whisper-{FASTER_WHISPER_DEFAULT} "
            f"--local-dir DIR`, and pass --cer-model-path DIR (or set cer.model_path)"
        )
        try:
            from faster_whisper import WhisperModel
            from faster_whisper.tokenizer import Tokenizer
            from faster_whisper.transcribe import get_suppressed_tokens
        except ImportError:
            raise StageUnavailable(
                f"CER backend faster-whisper needs the faster-whisper package: "
                f"pip install 'spatialeval[faster-whisper]'; then {fetch}"
            ) from None
        if model_path and not Path(model_path).is_dir():
            raise StageUnavailable(f"faster-whisper model folder {model_path} does not exist; {fetch}")
        if model_path and not (Path(model_path) / "model.bin").is_file():
            raise StageUnavailable(f"{model_path} holds no CTranslate2 model.bin; {fetch}")
        if compute_type == "auto":
            compute_type = "float16" if device.startswith("cuda") else "int8"
        kind, _, index = device.partition(":")
        try:
            # local_files_only: a model name is looked up in the local Hugging Face cache, never downloaded.
            self._model = WhisperModel(
                model_path or FASTER_WHISPER_DEFAULT,
                device=kind,
                device_index=int(index or 0),
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                local_files_only=True,
            )
        except Exception as exc:  # huggingface_hub's not-in-cache error, or CTranslate2 refusing the model
            where = model_path or f"Systran/faster-whisper-{FASTER_WHISPER_DEFAULT} in the local Hugging Face cache"
            raise StageUnavailable(
                f"faster-whisper cannot load {where} ({type(exc).__name__}: {exc}); {fetch}"
            ) from exc
        multilingual = bool(self._model.model.is_multilingual)
        if not multilingual and language != "en":
            raise StageUnavailable(
                f"the faster-whisper model in {model_path} is English-only (*.en); "
                f"cer.language={language!r} needs a multilingual Whisper model"
            )
        self._tokenizer = Tokenizer(self._model.hf_tokenizer, multilingual, task="transcribe", language=language)
        self._prompt = self._model.get_prompt(self._tokenizer, [], without_timestamps=True)
        self._suppress = list(get_suppressed_tokens(self._tokenizer, [-1]))
        self._source = str(model_path or f"Systran/faster-whisper-{FASTER_WHISPER_DEFAULT}")
        self._language, self._compute_type, self._device = language, compute_type, device
        self._batch_size, self._beam_size = int(batch_size), int(beam_size)
        self._version = _dist_version("faster-whisper")

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "model": self._source,
            "version": self._version,
            "settings": (
                f"{self._search()}, no sampling or temperature fallback, language={self._language}, "
                f"task=transcribe, no timestamps, 30-s windows, compute_type={self._compute_type}, "
                f"up to {self._batch_size} windows per forward pass"
            ),
        }

    def _decode(self, pieces: list[np.ndarray]) -> list[str]:
        from faster_whisper.audio import pad_or_trim

        extractor = self._model.feature_extractor
        # As faster-whisper's batched pipeline does: per window, drop the last frame, pad to 3000 frames.
        features = np.stack([pad_or_trim(extractor(piece)[..., :-1]) for piece in pieces]).astype(np.float32)
        encoded = self._model.encode(features)
        results = self._model.model.generate(
            encoded,
            [list(self._prompt) for _ in pieces],
            beam_size=self._beam_size,
            max_length=self._model.max_length,
            suppress_blank=True,
            suppress_tokens=self._suppress,
            sampling_topk=1,
        )
        return [self._tokenizer.decode(result.sequences_ids[0]).strip() for result in results]


def _modelscope_candidates(model_id: str) -> list[Path]:
    roots = [Path(os.environ["MODELSCOPE_CACHE"])] if os.environ.get("MODELSCOPE_CACHE") else []
    roots.append(Path.home() / ".cache" / "modelscope" / "hub")
    return [p for root in roots for p in (root / "models" / model_id, root / model_id)]


@contextlib.contextmanager
def _quiet_funasr() -> Iterator[None]:
    """FunASR logs every load and call at INFO level through the root logger: hold that back."""
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(previous)


class ParaformerASR(ASRBackend):
    name = "paraformer-zh"
    devices = ("cpu", "cuda")
    languages = ("zh",)
    supports_batch = True

    def __init__(self, model_path: str | None, device: str = "cpu", batch_size: int = 8) -> None:
        model_path = expand_model_path(model_path)
        fetch = (
            f"fetch it once with `modelscope download --model {PARAFORMER_DEFAULT} --local_dir DIR` "
            f"and pass --cer-model-path DIR (or set cer.model_path)"
        )
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
                raise StageUnavailable(
                    f"Paraformer model {PARAFORMER_DEFAULT} not found in the local ModelScope cache; {fetch}"
                )
            folder = found[0]
        import torch

        try:
            # A local folder: FunASR loads it as is; disable_update stops its version check; ncpu keeps
            # FunASR from resetting the process-wide torch thread count.
            with _quiet_funasr():
                self._model = AutoModel(
                    model=str(folder),
                    device=device,
                    disable_update=True,
                    disable_pbar=True,
                    log_level="ERROR",
                    ncpu=torch.get_num_threads(),
                )
        except Exception as exc:
            raise StageUnavailable(f"FunASR cannot load the Paraformer model in {folder}: {exc}") from exc
        self._folder = str(folder)
        self._batch_size = int(batch_size)

    @classmethod
    def from_config(cls, settings, device: str = "cpu") -> "ParaformerASR":
        if settings.language != "zh":
            raise StageUnavailable(
                "paraformer-zh recognises Mandarin only; set cer.language to zh, "
                "or use pocketsphinx / whisper / faster-whisper for English"
            )
        _check(cls, settings, device)
        return cls(settings.model_path, device, batch_size=settings.batch_size)

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "model": f"{PARAFORMER_DEFAULT} ({self._folder})",
            "settings": f"FunASR AutoModel.generate, up to {self._batch_size} clips per call; CJK characters space-separated",
        }

    def one(self, audio_16k_mono: np.ndarray) -> str:
        return self.batch([audio_16k_mono])[0]

    def batch(self, audios: Sequence[np.ndarray]) -> list[str]:
        clips = [as_mono_signal(a, "ASR").astype(np.float32) for a in audios]
        texts: list[str] = []
        for chunk in batched(clips, self._batch_size):
            with _quiet_funasr():
                results = self._model.generate(input=chunk, batch_size=len(chunk), disable_pbar=True)
            if len(results) != len(chunk):
                raise RuntimeError(f"FunASR returned {len(results)} results for {len(chunk)} clips")
            texts.extend(str(r.get("text", "")).strip() for r in results)
        return texts


def _dist_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None
