"""End-to-end tests: real server processes, a real browser."""
