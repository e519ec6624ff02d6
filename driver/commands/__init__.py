"""One module per ``kfp-driver`` subcommand; each has ``register(commands)`` adding its parser.

``COMMANDS`` is the order they appear in ``kfp-driver --help``; a new command is a new module here
plus one name in that tuple.
"""

COMMANDS = ("compile", "run", "lint", "explain", "graph", "submit")
