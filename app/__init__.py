"""The composition root: the one place that wires settings, the server and the workers into
processes, and owns the operator commands of the ``consulta`` CLI (``serve``, ``worker``,
``db``, ``token``).

Import rules (tests/test_import_rules.py): ``app`` may import every package; ``server`` and
``workers`` never import each other; ``clients`` imports only ``gen`` (and third-party
libraries); ``core`` imports none of them; nothing outside ``tests`` imports ``tests``.
"""
