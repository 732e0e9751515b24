"""Embedding models. Heavy backends are imported lazily by the metric stages that use them."""
