"""torchmetrics metric classes over :mod:`spatialeval.training`, for validation loops (optional extra).

Install with ``pip install 'spatialeval[torchmetrics]'``. The classes are built on first
access, so importing this module never needs torchmetrics; using a class without it raises
an ImportError that names the install command.

* :class:`IPDILDMAE` — mean IPD/ILD MAE over all pairs seen (``isdrama`` or ``strict``);
* :class:`BATCosine` — mean ANG/Dis cosine of BAT embeddings over all pairs seen.

States are per-metric sums and counts registered with ``dist_reduce_fx="sum"``, so
``compute()`` after distributed training returns the mean over every process's pairs, and
the values equal the file-based pipeline's summary means. Pairs a metric cannot measure
(strict protocol: silent ground truth; strict cosine: an all-zero embedding) are left out
of the mean and counted in ``unmeasurable``.

Example:
    >>> import torch
    >>> from spatialeval.torchmetrics_compat import IPDILDMAE
    >>> metric = IPDILDMAE(sample_rate=16000, protocol="strict")
    >>> gt = torch.randn(2, 2, 16000) * 0.1
    >>> metric.update(gt, gt)
    >>> {name: round(float(value), 6) for name, value in metric.compute().items()}
    {'ipd_mae': 0.0, 'ild_mae': 0.0, 'unmeasurable': 0.0}
"""

from __future__ import annotations

from functools import lru_cache

import torch

INSTALL_HINT = "pip install 'spatialeval[torchmetrics]'"
__all__ = ["IPDILDMAE", "BATCosine"]  # noqa: F822  (built on first access by __getattr__)


def _torchmetrics_metric():
    try:
        from torchmetrics import Metric
    except ImportError as exc:
        raise ImportError(f"spatialeval's torchmetrics classes need the torchmetrics package: {INSTALL_HINT}") from exc
    return Metric


def _zero(dtype=torch.float64) -> torch.Tensor:
    return torch.tensor(0, dtype=dtype)


@lru_cache(maxsize=1)
def _classes() -> dict[str, type]:
    Metric = _torchmetrics_metric()
    import spatialeval.training as training
    from spatialeval.names import renamed_value

    class _MeanOfPairs(Metric):
        """Sums of per-pair values and the pair counts, all reduced by summation across processes."""

        is_differentiable = False
        full_state_update = False
        _names: tuple[str, ...] = ()

        def _add_sum_states(self) -> None:
            for name in self._names:
                self.add_state(f"{name}_sum", default=_zero(), dist_reduce_fx="sum")
            self.add_state("measured", default=_zero(torch.int64), dist_reduce_fx="sum")
            self.add_state("unmeasurable", default=_zero(torch.int64), dist_reduce_fx="sum")

        def _accumulate(self, values: dict[str, torch.Tensor]) -> None:
            finite = torch.stack([torch.isfinite(values[name]) for name in self._names]).all(dim=0)
            for name in self._names:
                state = getattr(self, f"{name}_sum")
                total = torch.where(finite, values[name].double(), 0.0).sum()
                setattr(self, f"{name}_sum", state + total.to(state.device))
            measured = int(finite.sum())
            self.measured += measured
            self.unmeasurable += finite.numel() - measured

        def compute(self) -> dict[str, torch.Tensor]:
            count = self.measured.to(torch.float64)
            result = {
                name: getattr(self, f"{name}_sum") / count
                if self.measured > 0
                else torch.tensor(float("nan"), dtype=torch.float64, device=count.device)
                for name in self._names
            }
            result["unmeasurable"] = self.unmeasurable.to(torch.float64)
            return result

    class IPDILDMAE(_MeanOfPairs):
        """Mean IPD and ILD MAE over every (gt, gen) pair passed to :meth:`update`.

        Args:
            sample_rate: rate of the ground-truth batches (and of the generated ones unless
                ``gen_sample_rate`` is given).
            protocol: "isdrama" (the release's definition) or "strict".
            floor_db: the strict protocol's energy mask.
            items_per_pass: as :func:`spatialeval.training.ipd_ild_mae`.
            kwargs: torchmetrics ``Metric`` options (``sync_on_compute``, ``process_group``, …).

        ``compute()`` returns {"ipd_mae", "ild_mae", "unmeasurable"} (0-d float64 tensors).
        """

        higher_is_better = False
        _names = ("ipd_mae", "ild_mae")

        def __init__(
            self,
            sample_rate: int,
            protocol: str = "isdrama",
            gen_sample_rate: int | None = None,
            floor_db: float = 60.0,
            items_per_pass: int | None = None,
            **kwargs,
        ):
            super().__init__(**kwargs)
            if protocol not in training.PROTOCOLS:
                raise ValueError(f"unknown protocol {protocol!r}; choose one of {training.PROTOCOLS}")
            self.sample_rate = training.check_sample_rate(sample_rate)
            self.gen_sample_rate = training.check_sample_rate(gen_sample_rate, "gen_sample_rate", optional=True)
            self.protocol, self.floor_db, self.items_per_pass = protocol, floor_db, items_per_pass
            self._add_sum_states()

        def update(self, gt: torch.Tensor, gen: torch.Tensor, gt_lengths=None, gen_lengths=None) -> None:
            """Add a batch of pairs: (B, 2, T) tensors, optional (B,) true lengths."""
            self._accumulate(
                training.ipd_ild_mae(
                    gt,
                    gen,
                    self.sample_rate,
                    self.protocol,
                    gen_sample_rate=self.gen_sample_rate,
                    gt_lengths=gt_lengths,
                    gen_lengths=gen_lengths,
                    floor_db=self.floor_db,
                    items_per_pass=self.items_per_pass,
                )
            )

    class BATCosine(_MeanOfPairs):
        """Mean ANG and Dis cosine of BAT embeddings over every (gt, gen) pair passed to :meth:`update`.

        Args:
            model: a :class:`~spatialeval.models.bat.SpatialAST` (or ``LoadedBAT``) on the device to
                run on. It is held by reference and is not part of the metric's modules or
                ``state_dict`` (the metric's ``.to()`` does not move it).
            sample_rate, gen_sample_rate: as :class:`IPDILDMAE`.
            protocol: "isdrama" (the release's cosine) or "strict" (plain cosine).
            mode, normalize_dbfs, segment_seconds, window_seconds, batch_size, autocast: as
                :func:`spatialeval.training.bat_cosines`.

        ``compute()`` returns {"ang_cos", "dis_cos", "unmeasurable"} (0-d float64 tensors).
        """

        higher_is_better = True
        _names = ("ang_cos", "dis_cos")

        def __init__(
            self,
            model,
            sample_rate: int,
            protocol: str = "isdrama",
            mode: str = "first-window",
            gen_sample_rate: int | None = None,
            normalize_dbfs: float | None = -14.0,
            segment_seconds: float = 1.0,
            window_seconds: float = 10.0,
            batch_size: int | None = None,
            autocast: str | None = None,
            **kwargs,
        ):
            super().__init__(**kwargs)
            if protocol not in training.PROTOCOLS:
                raise ValueError(f"unknown protocol {protocol!r}; choose one of {training.PROTOCOLS}")
            mode = renamed_value("bat.mode", mode, "BATCosines")
            if mode not in training.BAT_MODES:
                raise ValueError(f"mode must be one of {training.BAT_MODES}, got {mode!r}")
            object.__setattr__(self, "_model", model)  # not a registered submodule: no weights in state_dict
            self.sample_rate = training.check_sample_rate(sample_rate)
            self.gen_sample_rate = training.check_sample_rate(gen_sample_rate, "gen_sample_rate", optional=True)
            self.options = dict(
                protocol=protocol,
                mode=mode,
                normalize_dbfs=normalize_dbfs,
                segment_seconds=segment_seconds,
                window_seconds=window_seconds,
                batch_size=batch_size,
                autocast=autocast,
            )
            self._add_sum_states()

        def update(self, gt: torch.Tensor, gen: torch.Tensor, gt_lengths=None, gen_lengths=None) -> None:
            """Add a batch of pairs: (B, 2, T) tensors, optional (B,) true lengths."""
            self._accumulate(
                training.bat_cosines(
                    self._model,
                    gt,
                    gen,
                    self.sample_rate,
                    gen_sample_rate=self.gen_sample_rate,
                    gt_lengths=gt_lengths,
                    gen_lengths=gen_lengths,
                    **self.options,
                )
            )

    classes = {"IPDILDMAE": IPDILDMAE, "BATCosine": BATCosine}
    for name, cls in classes.items():  # importable (and picklable) as spatialeval.torchmetrics_compat.<name>
        cls.__module__, cls.__qualname__ = __name__, name
    return classes


def __getattr__(name: str):
    if name in __all__:
        return _classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
