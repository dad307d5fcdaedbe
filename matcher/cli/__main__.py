"""``python -m matcher.cli``: the same command as the ``jetmatch`` script."""

from matcher.cli import main

main()
