"""Benchmarks: models and classical baselines on one fixed test set -> Markdown, CSV, PNG."""
