"""Alembic migration environment for the qihu schema."""
