"""qihu test suite."""
