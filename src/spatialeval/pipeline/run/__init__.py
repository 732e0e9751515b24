"""The parts of :func:`spatialeval.pipeline.evaluate.evaluate`, one job per module.

``plan`` (which pairs: pairing, shard) → ``prepare`` (stages set up, shorthands routed, named
metrics checked) → ``identity`` (the run fingerprint an output directory is bound to) →
``resume`` (stored rows that may be reused) → ``chunks`` (decode and compute chunk by chunk,
rows written as they finish) → ``rows`` (one chunk's rows from the stages' results) →
``summary`` (means, counts, reasons, provenance). No module here knows any stage by name:
what differs between stages is declared on :class:`~spatialeval.pipeline.stages.base.Stage`.
"""
