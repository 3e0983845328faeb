"""Use cases of the appeal loop, written against the ports in ports.py."""
