"""Engines: transcribers (audio -> transcript) and summarizers (transcript -> note)."""
