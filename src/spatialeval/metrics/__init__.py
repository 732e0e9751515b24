"""Metric definitions: pure functions on arrays, plus the metric registry."""
