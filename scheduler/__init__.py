"""Scheduled work: reminders, digests and clocks (filled in by the scheduler issue)."""
