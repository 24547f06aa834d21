"""Quality evaluations on public data: ``python -m eval`` (what ``make eval`` runs)."""
