"""A test-only speech recogniser in one module: it "hears" a fixed sentence (set by the test).

Registered with ``ASR_BACKENDS.register("echo", EchoASR)`` — nothing else.
"""

from __future__ import annotations

from spatialeval.models.asr import ASRBackend


class EchoASR(ASRBackend):
    name = "echo"
    languages = ("en", "zh")
    devices = ("cpu",)
    heard = "hello world"

    @classmethod
    def from_config(cls, settings, device: str = "cpu") -> "EchoASR":
        return cls()

    def describe(self):
        return {"backend": self.name, "model": "test-only echo recogniser"}

    def one(self, audio_16k_mono) -> str:
        return self.heard
