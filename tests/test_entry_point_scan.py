"""Registries read the installed packages' entry points once per process (start-up time, issue 20)."""

from __future__ import annotations

from importlib.metadata import entry_points

from spatialeval.models import registry


def test_registries_share_one_reading_of_installed_entry_points(monkeypatch):
    calls = []

    def counting(**selection):
        calls.append(selection)
        return entry_points(**selection)

    monkeypatch.setattr(registry, "entry_points", counting)
    registry.installed_entry_points.cache_clear()
    try:
        first = registry.LazyRegistry("spatialeval.test.first", {"a": "x:A"})
        second = registry.LazyRegistry("spatialeval.test.second", {"b": "x:B"})
        assert first.names() == ["a"] and second.names() == ["b"]
        assert len(calls) == 1  # each registry used to walk every distribution's metadata again
    finally:
        registry.installed_entry_points.cache_clear()


def test_a_group_selected_from_the_shared_reading_is_that_group():
    group = "console_scripts"  # a group the test environment has (pytest's own scripts)
    expected = sorted((point.name, point.value) for point in entry_points(group=group))
    selected = sorted((point.name, point.value) for point in registry.installed_entry_points().select(group=group))
    assert selected == expected and expected
