"""Hostile input: property-based fuzzing of every HTTP endpoint and of the dialogue."""
