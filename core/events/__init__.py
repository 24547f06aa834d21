"""Event bus port (``base.py``) and adapters: ``memory.py`` (in-process), ``rabbitmq.py``."""
