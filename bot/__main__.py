"""`python -m bot` runs the qihu CLI."""

from bot.cli.parser import main

main()
