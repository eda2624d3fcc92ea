"""Test helpers importable by subprocesses (PYTHONPATH=tests)."""
