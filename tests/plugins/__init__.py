"""Test-only extensions, each one module (registered by the tests that use them)."""
