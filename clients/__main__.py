"""``python -m clients``: the client commands of the consulta CLI alone (tokens from --token
or CONSULTA_TOKEN); ``python -m app`` and the installed ``consulta`` have every command."""

from clients.cli import main

main()
