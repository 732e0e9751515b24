"""Test-only extensions, each one module (registered by the tests that use them).

:func:`registered_stages` registers plugin stages for one test and takes them out again. Removing a stage
is only ever needed to isolate tests (a run reads the registry once), so it lives here rather than in
:mod:`spatialeval.pipeline.registry`, whose private table it edits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def registered_stages(*stages: type) -> Iterator[None]:
    """``stages`` registered (each with the one public call, ``register_stage``) while the block runs."""
    from spatialeval.pipeline import registry

    for stage in stages:
        registry.register_stage(stage)
    try:
        yield
    finally:
        for stage in stages:
            registry._stages.unregister(stage.name)
        registry._generation += 1  # the metric table and derived views rebuild without them
