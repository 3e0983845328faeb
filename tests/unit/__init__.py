"""Unit tests: domain, config, text analysis, layering."""
