"""``python -m clients``: the consulta CLI."""

from clients.cli import main

main()
