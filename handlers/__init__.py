"""Dialogue: routing each turn to commands and steps; every user-facing string is in texts.py."""
