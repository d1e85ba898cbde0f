"""``python -m server.cli``: the same as the ``switchboard`` console script."""

from server.cli.main import main

main()
