"""Reading audio and pairing ground-truth with generated files."""

from spatialeval.io.audio import AudioClip, AudioError, load_audio
from spatialeval.io.pairing import Pair, PairingError, PairingResult, find_pairs, pair_directories, pair_from_manifest

__all__ = [
    "AudioClip",
    "AudioError",
    "load_audio",
    "Pair",
    "PairingError",
    "PairingResult",
    "pair_directories",
    "pair_from_manifest",
    "find_pairs",
]
