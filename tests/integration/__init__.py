"""Tests against the real database and the real pipeline."""
