"""Kept for existing imports: the IPD/ILD maps are computed in :mod:`spatialeval.features.cue_maps`."""

from spatialeval.features.cue_maps import InterauralMaps, MapUnavailable, compute_maps, wrap_phase

__all__ = ["InterauralMaps", "MapUnavailable", "compute_maps", "wrap_phase"]
