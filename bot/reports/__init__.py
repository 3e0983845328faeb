"""Evaluation reports: GB/T 36733-style indicator reports as Markdown, HTML with charts, and XLSX."""
