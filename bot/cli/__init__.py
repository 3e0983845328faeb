"""The `qihu` command, one module per group of commands; the entry point is bot.cli.parser.main."""
