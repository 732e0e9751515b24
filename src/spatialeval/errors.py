"""Errors shared by every layer, and the exit code each one gives on the command line.

This module imports nothing from spatialeval, so any layer (io, features, metrics, models,
pipeline, cli) may raise these. The command line maps them to exit codes (the ``EXIT_*``
constants, documented in ``docs/reliability.md``):

====  =====================================================================================
code  meaning
====  =====================================================================================
0     every item evaluated (some metrics may be *unmeasurable*: counted in the summary)
1     ``spatialeval check``: a metric regressed beyond its tolerance, or is missing
2     usage error: bad arguments, configuration, pairing, manifest or checkpoint; nothing ran
3     the run finished, but some items failed (unreadable, wrong channel count, ...)
4     an operating-system error reading inputs or writing outputs (disk full, not a
      directory, permission denied); what was written stays resumable
5     the output directory is in use by another run (lock held)
130   interrupted (Ctrl-C); what was written stays resumable
====  =====================================================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_USAGE = 2
EXIT_ITEMS_FAILED = 3
EXIT_OS_ERROR = 4
EXIT_LOCKED = 5
EXIT_INTERRUPTED = 130


class SpatialEvalError(Exception):
    """Base of the errors spatialeval raises on purpose; ``exit_code`` is what the CLI returns."""

    exit_code = EXIT_USAGE


class UsageError(SpatialEvalError, ValueError):
    """Arguments, configuration or inputs that cannot be used as given (exit code 2)."""


class TooShortError(ValueError):
    """A valid clip too short for a metric's analysis window; pipelines count it as *unmeasurable*."""


class NoSpeech(ValueError):
    """The clip holds no speech to embed (digital silence, or nothing left after voice-activity trimming)."""


class StageUnavailable(RuntimeError):
    """A stage cannot run here (missing optional package or model); the message says why and how to fix it.

    The pipeline reports the stage as *skipped* with this message; it is never fatal.
    """


class CheckpointError(UsageError, RuntimeError):
    """A checkpoint that was configured but is missing, unreadable, unsafe or of the wrong architecture."""


class OutputLockedError(SpatialEvalError):
    """Another run holds the output directory's lock (exit code 5)."""

    exit_code = EXIT_LOCKED


class OutputError(SpatialEvalError, OSError):
    """Results could not be written (exit code 4); files written so far stay resumable."""

    exit_code = EXIT_OS_ERROR
