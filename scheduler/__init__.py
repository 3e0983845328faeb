"""Scheduled work: sweeps over stored state that call the same services (see issue 5)."""
