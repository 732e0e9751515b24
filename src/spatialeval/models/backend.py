"""The contract every model backend keeps: speech recognisers, speaker encoders and spatial encoders.

A backend is built by its registry (:mod:`spatialeval.models.registry`) from the settings of the stage
that uses it, and then only ever asked three things:

* **load** — :meth:`Backend.load` ``(settings, device)``: the one way to build a backend. It moves to
  the CPU when the backend cannot use ``device`` and calls the subclass's :meth:`Backend.from_config`,
  which loads from local paths only (never downloads) and raises
  :class:`~spatialeval.errors.StageUnavailable` saying how to get what is missing.
* **describe** — :meth:`Backend.describe`: the model, its weights (a hash or a version) and every setting
  that changes its output. Stages put it in the run summary and in the run identity that ``resume`` and
  ``check`` compare, so it holds nothing that only changes speed.
* **one / batch** — :meth:`Backend.one` runs the model on one input; :meth:`Backend.batch` on several, in
  order, with the same result per input. The default ``batch`` loops over ``one``; a backend whose
  ``batch`` does more (several inputs per forward pass) sets ``supports_batch``, and callers gather a
  chunk's inputs for it only then.

Each family names ``one``/``batch`` in its own words for its callers (``transcribe``/``transcribe_batch``,
``embed``/``embed_batch``, ``embed`` over windows); a new backend implements ``from_config``, ``one``
(and ``batch`` when it batches), and ``describe``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from spatialeval.errors import StageUnavailable


class Backend:
    """A model behind one of the backend registries (see the module docstring for the contract).

    Example:
        >>> class Doubler(Backend):
        ...     name, label = "doubler", "test"
        ...     @classmethod
        ...     def from_config(cls, settings, device="cpu"):
        ...         return cls()
        ...     def one(self, x):
        ...         return 2 * x
        >>> backend = Doubler.load(None, "cuda:0")  # CPU-only: built for the CPU
        >>> backend.batch([1, 2]), backend.supports_batch, backend.describe()
        ([2, 4], False, {'backend': 'doubler'})
    """

    #: The name it is registered under (``--cer-backend``, ``--sim-backend``, ``bat.encoder``).
    name: ClassVar[str] = ""
    #: What its messages call the family ("CER", "SIM", "spatial encoder").
    label: ClassVar[str] = ""
    #: The sample rate of the audio it takes (Hz).
    sample_rate: int = 16000
    #: Device types it can run on ("cpu", "cuda"); :meth:`load` moves it to the CPU otherwise.
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    #: True when :meth:`batch` runs several inputs per forward pass (else it loops over :meth:`one`).
    supports_batch: bool = False

    @classmethod
    def load(cls, settings, device: str = "cpu") -> Backend:
        """The backend built from its stage's ``settings`` on ``device`` (the CPU when it cannot use ``device``).

        Raises:
            StageUnavailable: a package, model or checkpoint is missing (the message says how to get it),
                or the settings ask for something this backend cannot do.
        """
        if device.split(":")[0] not in cls.devices:
            device = "cpu"
        return cls.from_config(settings, device)

    @classmethod
    def from_config(cls, settings, device: str = "cpu") -> Backend:
        """Build from the stage's settings on a device this backend supports (called by :meth:`load`)."""
        raise NotImplementedError

    @classmethod
    def check_device(cls, device: str) -> None:
        """Raise StageUnavailable when ``device`` is not one this backend runs on."""
        if device.split(":")[0] not in cls.devices:
            raise StageUnavailable(f"{cls.label} backend {cls.name} runs on {' or '.join(cls.devices)}, not {device!r}")

    def describe(self) -> dict[str, Any]:
        """Provenance for the run summary and identity: the model, its weights, settings that change outputs."""
        return {"backend": self.name}

    def one(self, item: Any) -> Any:
        """The model's output for one input."""
        raise NotImplementedError

    def batch(self, items: Sequence[Any]) -> list[Any]:
        """The outputs for several inputs, in order, each equal to :meth:`one`'s (this default loops)."""
        return [self.one(item) for item in items]
