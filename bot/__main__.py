"""`python -m bot` runs the qihu CLI."""

from bot.cli import main

main()
