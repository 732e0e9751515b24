"""One word per concept: every rename of a module, identifier, result field, setting key or value, old → new.

This is the one place that knows the old names. Readers of result files (resume, merge, ``check``,
``report``: all through :mod:`spatialeval.pipeline.rundir`) pass what they read through
:func:`upgrade_row` / :func:`upgrade_summary`; settings (YAML, ``--set``, flags, Python dicts) pass
through :func:`upgrade_settings`. Each old name met prints one deprecation note
(:class:`RenamedWarning`, a ``FutureWarning`` so the command line shows it) and is read as the new one.
Files are always written with the new names. The words themselves are defined in the glossary of
``docs/extending.md``.

Example:
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     upgrade_row({"id": "a", "infer": "x.wav", "infer_sha256": "00"})
    {'id': 'a', 'gen': 'x.wav', 'gen_sha256': '00'}
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     upgrade_settings({"cer": {"normalizer": "whisper-en"}, "bat": {"mode": "isdrama"}})
    {'cer': {'text_normalization': 'whisper-en'}, 'bat': {'mode': 'first-window'}}
"""

from __future__ import annotations

import warnings
from typing import Any

#: Modules renamed by role (``git mv``); ``spatialeval.tensor`` stays importable as a deprecated alias.
MODULE_RENAMES = {
    "spatialeval.features.interaural": "spatialeval.features.interaural_spectra",
    "spatialeval.features.binaural_cues": "spatialeval.features.frame_cues",
    "spatialeval.metrics.cosine": "spatialeval.metrics.cosine_similarity",
    "spatialeval.metrics.embedding_cosine": "spatialeval.metrics.encoder_windows",
    "spatialeval.metrics.text_protocols": "spatialeval.metrics.text_normalization",
    "spatialeval.tensor": "spatialeval.training",
}

#: Python identifiers (module-qualified where the name is not unique). Keyword arguments listed in
#: KEYWORD_RENAMES are still accepted by the public functions, with a note.
IDENTIFIER_RENAMES = {
    # the generated side is `gen`
    "spatialeval.io.pairing.Pair.infer": "spatialeval.io.pairing.Pair.gen",
    "spatialeval.io.pairing.PairingResult.only_infer": "spatialeval.io.pairing.PairingResult.only_gen",
    "spatialeval.pipeline.stages.base.LoadedPair.infer": "spatialeval.pipeline.stages.base.LoadedPair.gen",
    "spatialeval.pipeline.evaluate.AUDIO_IDENTITY[infer_sha256]": "spatialeval.pipeline.evaluate.AUDIO_IDENTITY[gen_sha256]",
    "spatialeval.report.maps.InterauralMaps.ipd_infer": "spatialeval.report.maps.InterauralMaps.ipd_gen",
    "spatialeval.report.maps.InterauralMaps.ild_infer": "spatialeval.report.maps.InterauralMaps.ild_gen",
    "spatialeval.report.maps.InterauralMaps.seconds_infer": "spatialeval.report.maps.InterauralMaps.seconds_gen",
    "spatialeval.io.pairing.MANIFEST_COLUMNS[infer]": "spatialeval.io.pairing.MANIFEST_COLUMNS[gen]",
    "spatialeval.io.pairing.pair_directories(infer_dir=)": "spatialeval.io.pairing.pair_directories(gen_dir=)",
    "spatialeval.io.pairing.find_pairs(infer=)": "spatialeval.io.pairing.find_pairs(gen=)",
    "spatialeval.pipeline.results.BASE_FIELDS[infer]": "spatialeval.pipeline.results.BASE_FIELDS[gen]",
    "spatialeval.pipeline.evaluate.evaluate(infer=)": "spatialeval.pipeline.evaluate.evaluate(gen=)",
    "spatialeval.pipeline.distributed.evaluate_parallel(infer=)": "spatialeval.pipeline.distributed.evaluate_parallel(gen=)",
    "spatialeval.pipeline.distributed.evaluate_sharded(infer=)": "spatialeval.pipeline.distributed.evaluate_sharded(gen=)",
    "spatialeval.pipeline.validate._Condition.infer": "spatialeval.pipeline.validate._Condition.gen",
    "spatialeval.report.maps.compute_maps(infer_path=)": "spatialeval.report.maps.compute_maps(gen_path=)",
    "spatialeval.metrics.ipd_ild.*(infer=, infer_sample_rate=)": "spatialeval.metrics.ipd_ild.*(gen=, gen_sample_rate=)",
    "spatialeval.metrics.cosine_similarity.*(infer=)": "spatialeval.metrics.cosine_similarity.*(gen=)",
    "spatialeval.example: folder infer/": "spatialeval.example: folder gen/",
    # "protocol" is only the evaluation protocol (isdrama | strict)
    "spatialeval.metrics.cer.*(protocol=)": "spatialeval.metrics.cer.*(text_normalization=)",
    "spatialeval.metrics.cer.text_error_counts()['protocol']": "spatialeval.metrics.cer.text_error_counts()['text_normalization']",
    "spatialeval.pipeline.stages.cer.CERSettings.normalizer": "spatialeval.pipeline.stages.cer.CERSettings.text_normalization",
    "spatialeval.pipeline.stages.cer._text_protocols": "spatialeval.pipeline.stages.cer._text_normalizations",
    "spatialeval.pipeline.stages.cer.CERStage._protocol": "spatialeval.pipeline.stages.cer.CERStage._text_normalization",
    "spatialeval.metrics.encoder_windows.MODES[isdrama]": "spatialeval.metrics.encoder_windows.MODES[first-window]",
    "spatialeval.metrics.text_protocols.PROTOCOLS": "spatialeval.metrics.text_normalization.TEXT_NORMALIZATIONS",
    "spatialeval.metrics.text_protocols.DEFAULT_PROTOCOL": (
        "spatialeval.metrics.text_normalization.DEFAULT_TEXT_NORMALIZATION"
    ),
    "spatialeval.metrics.text_protocols.TextProtocol": "spatialeval.metrics.text_normalization.TextNormalization",
    "spatialeval.metrics.text_protocols.get_protocol": "spatialeval.metrics.text_normalization.get_text_normalization",
    "spatialeval.pipeline.stages.cer.NORMALIZER_BY_PROTOCOL": "spatialeval.pipeline.stages.cer.TEXT_NORMALIZATION_BY_PROTOCOL",
    "spatialeval.pipeline.stages.cer.normalizer_for": "spatialeval.pipeline.stages.cer.text_normalization_for",
    "spatialeval.metrics.ipd_ild.PROTOCOLS": "spatialeval.metrics.registry.PROTOCOLS (the one definition)",
    "spatialeval.pipeline.config.PROTOCOLS": "spatialeval.metrics.registry.PROTOCOLS (the one definition)",
    # behaviour named by role
    "spatialeval.models.asr._WhisperSettings": "spatialeval.models.asr._WhisperWindowedDecoding",
}

#: Keyword arguments of public functions: old keyword → new keyword (accepted with a note).
KEYWORD_RENAMES = {
    "infer": "gen",
    "infer_sample_rate": "gen_sample_rate",
    "infer_path": "gen_path",
}

#: Keyword arguments of cer() / wer(): there "protocol" meant the text normalisation.
TEXT_KEYWORD_RENAMES = {"protocol": "text_normalization"}

#: Per-item result fields (items.jsonl / items.csv columns).
FIELD_RENAMES = {
    "infer": "gen",
    "infer_sha256": "gen_sha256",
    "bewo_infer_itd_ms": "bewo_gen_itd_ms",
}

#: Arrays in ``embeddings/<id>.npz`` (``bat.save_embeddings``): ``<side>_<embedding>``.
EMBEDDING_ARRAY_RENAMES = {"infer_<embedding>": "gen_<embedding>"}

#: Setting keys, ``section.name`` (YAML, ``--set``, Python dicts, and the ``config`` of a summary).
SETTING_RENAMES = {
    "cer.normalizer": "cer.text_normalization",
}

#: Command-line flags (the old flag still works, with a note).
FLAG_RENAMES = {
    "--cer-normalizer": "--text-normalization",
}

#: Setting values: (new key, old value) → new value.
VALUE_RENAMES = {
    ("bat.mode", "isdrama"): "first-window",
    ("bewo.kl_folder", "infer"): "gen",
}

#: Entries of a summary, by path (``left_out``, the cer stage's provenance under ``stages``).
SUMMARY_RENAMES = {
    "left_out.only_infer": "left_out.only_gen",
    "stages.cer.normalizer": "stages.cer.text_normalization",
    "stages.cer.normalizer_version": "stages.cer.text_normalization_version",
    "stages.cer.normalizer_packages": "stages.cer.text_normalization_packages",
}

#: Manifest columns accepted under another name (ISDrama's released code calls the folder `infer`).
MANIFEST_ALIASES = {"infer": "gen"}


class RenamedWarning(FutureWarning):
    """An old name was read and translated to its new one (shown by default, also on the command line)."""


_noted: set[str] = set()


def note_renamed(old: str, new: str, where: str) -> None:
    """Warn once per process that ``old`` (met in ``where``) is now called ``new``."""
    if old in _noted:
        return
    _noted.add(old)
    warnings.warn(
        f"{where}: {old!r} is renamed {new!r}; read as {new!r} (the old name is deprecated; "
        "see docs/extending.md, Glossary)",
        RenamedWarning,
        stacklevel=3,
    )


def upgrade_row(row: dict[str, Any], where: str = "results") -> dict[str, Any]:
    """A result row with old field names renamed (order kept); a row with new names is returned as is."""
    if not any(key in FIELD_RENAMES for key in row):
        return row
    out = {}
    for key, value in row.items():
        new = FIELD_RENAMES.get(key, key)
        if new != key:
            note_renamed(key, new, where)
            if new in row:
                continue  # both present: the new name wins
        out[new] = value
    if isinstance(out.get("unmeasurable"), dict):
        out["unmeasurable"] = {FIELD_RENAMES.get(k, k): v for k, v in out["unmeasurable"].items()}
    return out


def _rename_key(mapping: dict[str, Any], old: str, new: str, where: str) -> dict[str, Any]:
    if old not in mapping:
        return mapping
    note_renamed(old, new, where)
    return {
        (new if key == old else key): value for key, value in mapping.items() if not (key == old and new in mapping)
    }


def renamed_value(key: str, value: Any, where: str = "settings") -> Any:
    """``value`` of setting ``key`` (new dotted name) under its new name, e.g. bat.mode isdrama → first-window."""
    if isinstance(value, str) and (key, value) in VALUE_RENAMES:
        new = VALUE_RENAMES[(key, value)]
        note_renamed(f"{key}={value}", f"{key}={new}", where)
        return new
    return value


def upgrade_setting_path(path: list[str] | tuple[str, ...], where: str = "settings") -> list[str]:
    """``[section, name]`` under the new names (``--set cer.normalizer=…`` → ``cer.text_normalization``)."""
    dotted = ".".join(path)
    if dotted in SETTING_RENAMES:
        note_renamed(dotted, SETTING_RENAMES[dotted], where)
        return SETTING_RENAMES[dotted].split(".")
    return list(path)


def upgrade_settings(values: dict[str, Any] | None, where: str = "settings") -> dict[str, Any] | None:
    """Nested settings (YAML shape) with old keys and values renamed; other entries untouched."""
    if not isinstance(values, dict):
        return values
    out = dict(values)
    for old, new in SETTING_RENAMES.items():
        section, old_name = old.split(".")
        new_name = new.split(".")[1]
        if isinstance(out.get(section), dict):
            out[section] = _rename_key(out[section], old_name, new_name, where)
    for (key, _old_value), _new_value in VALUE_RENAMES.items():
        section, name = key.split(".")
        if isinstance(out.get(section), dict) and name in out[section]:
            out[section] = {**out[section], name: renamed_value(key, out[section][name], where)}
    return out


def upgrade_summary(summary: dict[str, Any], where: str = "summary") -> dict[str, Any]:
    """A summary with old names renamed: left-out lists, stage provenance, settings (``config``, ``identity``)."""
    out = dict(summary)
    for old, new in SUMMARY_RENAMES.items():
        *parents, old_name = old.split(".")
        new_name = new.split(".")[-1]
        node = out
        for index, part in enumerate(parents):
            if not isinstance(node.get(part), dict):
                break
            if index == len(parents) - 1:
                node[part] = _rename_key(node[part], old_name, new_name, where)
            else:
                node[part] = dict(node[part])
                node = node[part]
    if isinstance(out.get("stages"), dict):
        out["stages"] = _upgrade_provenance(out["stages"], where)
    if isinstance(out.get("config"), dict):
        out["config"] = upgrade_settings(out["config"], where)
    identity = out.get("identity")
    if isinstance(identity, dict):
        stages = identity.get("stages")
        if isinstance(stages, dict):
            stages = _upgrade_provenance(stages, where)
            if isinstance(stages.get("cer"), dict):
                cer = stages["cer"]
                for old, new in SUMMARY_RENAMES.items():
                    if old.startswith("stages.cer."):
                        cer = _rename_key(cer, old.split(".")[-1], new.split(".")[-1], where)
                stages = {**stages, "cer": cer}
        out["identity"] = {**identity, "config": upgrade_settings(identity.get("config"), where), "stages": stages}
    return out


def _upgrade_provenance(stages: dict[str, Any], where: str) -> dict[str, Any]:
    """Stage provenance echoes some settings (``bat.mode``, ``bewo.kl_folder``): their old values renamed."""
    out = dict(stages)
    for key in {key for key, _ in VALUE_RENAMES}:
        section, name = key.split(".")
        if isinstance(out.get(section), dict) and name in out[section]:
            out[section] = {**out[section], name: renamed_value(key, out[section][name], where)}
    return out


def legacy_identity(identity: dict[str, Any]) -> dict[str, Any]:
    """A run identity under the old names: what a results directory written before the renames hashed.

    Resume compares fingerprints (hashes) only, so an old directory's ``run.json`` is matched against
    the current identity translated back, new → old, by the same maps.
    """
    config = {
        section: dict(values) if isinstance(values, dict) else values
        for section, values in identity.get("config", {}).items()
    }
    for old, new in SETTING_RENAMES.items():
        section, old_name = old.split(".")
        new_name = new.split(".")[1]
        if isinstance(config.get(section), dict) and new_name in config[section]:
            config[section] = {(old_name if k == new_name else k): v for k, v in config[section].items()}
    for (key, old_value), new_value in VALUE_RENAMES.items():
        section, name = key.split(".")
        if isinstance(config.get(section), dict) and config[section].get(name) == new_value:
            config[section][name] = old_value
    stages = {name: dict(values) for name, values in identity.get("stages", {}).items()}
    for (key, old_value), new_value in VALUE_RENAMES.items():
        section, name = key.split(".")
        if stages.get(section, {}).get(name) == new_value:
            stages[section][name] = old_value
    for old, new in SUMMARY_RENAMES.items():
        if old.startswith("stages.cer.") and "cer" in stages:
            old_name, new_name = old.split(".")[-1], new.split(".")[-1]
            stages["cer"] = {(old_name if k == new_name else k): v for k, v in stages["cer"].items()}
    return {**identity, "config": config, "stages": stages}


def renamed_keywords(options: dict[str, Any], where: str, renames: dict[str, str] | None = None) -> dict[str, Any]:
    """Keyword arguments with old names (``infer=``, ``infer_sample_rate=``) renamed, with a note."""
    renames = KEYWORD_RENAMES if renames is None else renames
    out = {}
    for key, value in options.items():
        new = renames.get(key, key)
        if new != key:
            note_renamed(f"{key}=", f"{new}=", where)
        out[new] = value
    return out


def renamed_keyword(
    options: dict[str, Any], new_name: str, where: str, renames: dict[str, str] | None = None
) -> dict[str, Any]:
    """The keywords a function took in place of ``new_name`` (its old spellings, read with a note), as
    ``{new_name: value}`` or ``{}``; any other keyword is a TypeError, as Python raises for unknown ones.

    >>> renamed_keyword({}, "gen", "f()")
    {}
    >>> renamed_keyword({"colour": 1}, "gen", "f()")
    Traceback (most recent call last):
    TypeError: f() got unexpected keyword argument(s) colour
    """
    options = renamed_keywords(options, where, renames)
    unknown = sorted(set(options) - {new_name})
    if unknown:
        raise TypeError(f"{where} got unexpected keyword argument(s) {', '.join(unknown)}")
    return options
