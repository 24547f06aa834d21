"""``python -m app``: the ``consulta`` CLI, every command."""

from app.cli import main

main()
