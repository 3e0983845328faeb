"""qihu (企呼): the enterprise-appeal closed-loop chat bot."""
